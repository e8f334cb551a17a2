// The Snowflake history store: every materialized change in one warehouse table, and point-in-time reads
// computed by the warehouse. readAsOf uploads the entity rows to a temporary table and runs one SQL
// statement per feature view (sql.ts): a range join of the rows with the changes visible at each row's
// asOf, ranked (column views) or aggregated by the tile math (windowed views), so that a training set of
// millions of rows never travels as history. SERVED reads also take every view's watermark at each row's
// asOf from a table of watermark changes beside it, in one more statement. What a read means (status, ttl, a window's final value)
// is then readFeature's, as for every store. Credentials come from config or the environment (the row
// source's FEATUREGRAPH_SNOWFLAKE_* variables) and never reach a message.
import { randomUUID } from 'node:crypto';
import { BadInputError, ConfigError } from '../../../schema/errors.js';
import type { ResolvedFeature, ResolvedView } from '../../../schema/registry.js';
import { readFeature, type FeatureRead, type ValueSnapshot } from '../../../schema/snapshot.js';
import type { FeatureValue } from '../../../schema/types.js';
import { mergeCells, tileIndex, type Cell, type CellOp } from '../../../schema/windows.js';
import { OptionCheck } from '../../common/options.js';
import {
  SnowflakeSession,
  snowflakeConnectionFromConfig,
  validateConnection,
  type SnowflakeConnectionSettings,
  type SnowflakeFileSettings,
  type SnowflakeStatement,
} from '../../sources/snowflake/client.js';
import type { HistoryRecord, HistoryScan, HistoryStore, PointInTimeQuery, PointInTimeRow, ViewWatermark } from '../types.js';
import {
  columnReadStatement,
  countStatement,
  createRowsStatement,
  createTableStatement,
  createWatermarkStagingStatement,
  createWatermarksTableStatement,
  mergeStagedWatermarksStatement,
  stageWatermarksStatement,
  watermarksReadStatement,
  watermarksTableOf,
  createStagingStatement,
  dropTemporaryStatement,
  insertRowsStatement,
  mergeStagedStatement,
  stageRecordsStatement,
  quoteTableName,
  scanStatement,
  windowReadStatement,
  type RecordTuple,
  type WindowColumns,
} from './sql.js';

export interface SnowflakeHistoryStoreOptions {
  connection: SnowflakeConnectionSettings;
  /** `TABLE`, `SCHEMA.TABLE` or `DATABASE.SCHEMA.TABLE`, created if missing (default FEATUREGRAPH_HISTORY). Quoted: case-sensitive. */
  table?: string;
  /** Records per append statement (default 10,000, at most 100,000); also bounded by payloadBytes. */
  appendBatch?: number;
  /** Bound on one statement's JSON payload in UTF-8 bytes, appends and uploads alike (default 4 MB; Snowflake takes up to 16 MB in a bound text). */
  payloadBytes?: number;
  /** Entity rows per upload statement of readAsOf (default 50,000). */
  uploadBatch?: number;
  /**
   * Windowed sums and averages equal to the reference to the last bit (default true). A float sum depends
   * on the order of addition: when a window's values are fractions like 0.1 the read ships the window's
   * addends and adds them in the reference's order. False: the warehouse's SUM, possibly a few ulps off.
   */
  exactSums?: boolean;
  /** Bound on reaching the server: the TCP check before each statement and each login (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Login attempts after the first one fails (default 1). */
  loginRetries?: number;
  /** The driver's per-request timeout (default: the driver's own, 90 s). */
  requestTimeoutMs?: number;
}

/** The `history` entry of the gateway config for this store; secrets only ever come from the environment. */
export interface SnowflakeHistoryConfig extends SnowflakeFileSettings {
  type: 'snowflake';
  table?: string;
}

/** What the store sent, by purpose: tests and telemetry read it (e.g. one point-in-time query per view). */
export interface SnowflakeHistoryStats {
  logins: number;
  /** Every statement sent on the store's session. */
  statements: number;
  appends: number;
  scans: number;
  /** Statements that compute a point-in-time read: one per view per readAsOf. */
  pointInTimeQueries: number;
  /** Statements that read the views' watermarks: one per SERVED readAsOf. */
  watermarkQueries: number;
  /** Statements that upload entity rows (and create and drop their temporary table). */
  rowUploads: number;
}

const where = 'snowflake history store';
const pageSize = 5000;

/** The store's options from its config entry: the FEATUREGRAPH_SNOWFLAKE_* environment fills in the settings the file does not give, secrets included. */
export function snowflakeHistoryOptions(config: SnowflakeHistoryConfig, env: NodeJS.ProcessEnv = process.env): SnowflakeHistoryStoreOptions {
  return { connection: snowflakeConnectionFromConfig(config, env), ...(config.table === undefined ? {} : { table: config.table }) };
}

/** The inputs of the aggregations, derived once at append: finite numbers, and String(value) of every non-null value. */
function aggregationInputs(values: Record<string, unknown>): { nums: Record<string, number>; texts: Record<string, string> } {
  const nums: Record<string, number> = {};
  const texts: Record<string, string> = {};
  for (const [field, value] of Object.entries(values)) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'number' && Number.isFinite(value)) nums[field] = value;
    texts[field] = String(value);
  }
  return { nums, texts };
}

function epochMs(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new BadInputError(`${where}: ${what} must be an integer epoch ms, got ${JSON.stringify(value)}`);
  return value;
}

/** A session-unique name for a temporary table: concurrent calls on one session each get their own. */
function temporaryName(prefix: string): string {
  return `"${prefix}_${randomUUID().replaceAll('-', '').toUpperCase()}"`;
}

/** The driver gives NUMBER(19, 0) as a number, aggregates as numbers; a text is tolerated. */
function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

export class SnowflakeHistoryStore implements HistoryStore {
  readonly name = 'snowflake';
  private readonly session: SnowflakeSession;
  private readonly table: string;
  private readonly watermarksTable: string;
  private readonly appendBatch: number;
  private readonly payloadBytes: number;
  private readonly uploadBatch: number;
  private readonly exactSums: boolean;
  private readonly counts = { appends: 0, scans: 0, pointInTimeQueries: 0, watermarkQueries: 0, rowUploads: 0 };

  private constructor(options: SnowflakeHistoryStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError(`${where}: options must be an object with connection and optionally table`);
    const check = new OptionCheck();
    const settings = validateConnection(check, `${where}: connection`, options.connection);
    this.table = check.take(() => quoteTableName(`${where}: table`, options.table ?? 'FEATUREGRAPH_HISTORY'), '');
    this.watermarksTable = watermarksTableOf(this.table);
    this.appendBatch = check.integerIn(`${where}: appendBatch`, options.appendBatch, 1, 100_000, 10_000);
    this.payloadBytes = check.integerIn(`${where}: payloadBytes`, options.payloadBytes, 1024, 16 * 1024 * 1024, 4 * 1024 * 1024);
    this.uploadBatch = check.integerIn(`${where}: uploadBatch`, options.uploadBatch, 1, 1_000_000, 50_000);
    this.exactSums = check.boolean(`${where}: exactSums`, options.exactSums, true);
    const requestTimeoutMs = options.requestTimeoutMs === undefined ? undefined : check.integerIn(`${where}: requestTimeoutMs`, options.requestTimeoutMs, 1, 3_600_000);
    const connectTimeoutMs = check.integerIn(`${where}: connectTimeoutMs`, options.connectTimeoutMs, 1, 600_000, 5000);
    const loginRetries = check.integerIn(`${where}: loginRetries`, options.loginRetries, 0, 20, 1);
    check.done();
    this.session = new SnowflakeSession({
      settings,
      subject: `${where} ${this.table}`,
      unavailableCode: 'HISTORY_STORE_UNAVAILABLE',
      connectTimeoutMs,
      loginRetries,
      ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
    });
  }

  /** Checks the options, logs in and creates the tables if they are missing. */
  static async open(options: SnowflakeHistoryStoreOptions): Promise<SnowflakeHistoryStore> {
    const store = new SnowflakeHistoryStore(options);
    try {
      await store.run('open', createTableStatement(store.table));
      await store.run('open (watermarks table)', createWatermarksTableStatement(store.watermarksTable));
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  get stats(): SnowflakeHistoryStats {
    return { ...this.session.stats, ...this.counts };
  }

  /**
   * Stages the records in a temporary table (one statement per batch: one JSON text unpacked by
   * FLATTEN), then one MERGE appends them all: an append lands whole or not at all.
   */
  async append(records: readonly HistoryRecord[]): Promise<void> {
    if (records.length === 0) return;
    const tuples = records.map((record, i) => {
      const { nums, texts } = aggregationInputs(record.values);
      const tuple: RecordTuple = [
        record.view,
        record.key,
        record.id,
        epochMs(`records[${i}].eventTime`, record.eventTime),
        epochMs(`records[${i}].availableTime`, record.availableTime),
        JSON.stringify(record.values),
        nums,
        texts,
        record.deleted === true,
      ];
      return JSON.stringify(tuple);
    });
    this.counts.appends++;
    await this.mergeStaged('append', 'records', tuples, { create: createStagingStatement, stage: stageRecordsStatement, merge: (staging) => mergeStagedStatement(this.table, staging) });
  }

  /** Stages JSON tuples in a temporary table (one statement per batch), then merges them in one statement, and drops the table. */
  private async mergeStaged(
    action: string,
    what: string,
    tuples: readonly string[],
    statements: { create(staging: string): SnowflakeStatement; stage(staging: string, first: number, payload: string): SnowflakeStatement; merge(staging: string): SnowflakeStatement },
  ): Promise<void> {
    const staging = temporaryName('FG_STAGE');
    await this.run(`${action} (staging table)`, statements.create(staging));
    try {
      await this.sendInBatches(tuples, this.appendBatch, (first, payload) => this.run(`${action} (stage ${what})`, statements.stage(staging, first, payload)));
      await this.run(action, statements.merge(staging));
    } finally {
      await this.run(`${action} (drop staging table)`, dropTemporaryStatement(staging)).catch(() => undefined);
    }
  }

  /** Staged, then one MERGE, as append does: an append lands whole or not at all. */
  async appendWatermarks(changes: readonly ViewWatermark[]): Promise<void> {
    if (changes.length === 0) return;
    const tuples = changes.map((change, i) => {
      if (typeof change.view !== 'string' || change.view === '') throw new BadInputError(`${where}: changes[${i}].view must be a non-empty string, got ${JSON.stringify(change.view)}`);
      return JSON.stringify([change.view, epochMs(`changes[${i}].at`, change.at), epochMs(`changes[${i}].watermark`, change.watermark)]);
    });
    await this.mergeStaged('append watermarks', 'changes', tuples, {
      create: createWatermarkStagingStatement,
      stage: stageWatermarksStatement,
      merge: (staging) => mergeStagedWatermarksStatement(this.watermarksTable, staging),
    });
  }

  async *scan(scan: HistoryScan): AsyncIterable<HistoryRecord[]> {
    if (scan.keys !== undefined && scan.keys.length === 0) return;
    // Keyset pages in (event_time, id) order: bounded memory whatever the size of the history.
    let after: [number, string] | null = null;
    for (;;) {
      this.counts.scans++;
      const rows = await this.run('scan', scanStatement(this.table, scan, after, pageSize));
      if (rows.length === 0) return;
      yield rows.map((row) => ({
        view: scan.view,
        key: String(row[0]),
        id: String(row[1]),
        eventTime: num(row[2]),
        availableTime: num(row[3]),
        values: JSON.parse(String(row[4])) as Record<string, unknown>,
        ...(row[5] === true ? { deleted: true } : {}),
      }));
      const last = rows[rows.length - 1] as unknown[];
      after = [num(last[2]), String(last[1])];
      if (rows.length < pageSize) return;
    }
  }

  async readAsOf(query: PointInTimeQuery, rows: readonly PointInTimeRow[]): Promise<FeatureRead[][]> {
    if (query.mode !== 'EVENT_TIME' && query.mode !== 'SERVED') throw new BadInputError(`${where}: mode must be EVENT_TIME or SERVED, got ${JSON.stringify(query.mode)}`);
    rows.forEach((row, i) => {
      if (typeof row.key !== 'string') throw new BadInputError(`${where}: rows[${i}].key must be a string, got ${JSON.stringify(row.key)}`);
      epochMs(`rows[${i}].asOf`, row.asOf);
    });
    const byView = new Map<ResolvedView, ResolvedFeature[]>();
    for (const feature of query.features) {
      const list = byView.get(feature.view);
      if (list) list.push(feature);
      else byView.set(feature.view, [feature]);
    }
    // snapshots.get(view)[i]: the view at rows[i].asOf; undefined: nothing visible (MISSING).
    const snapshots = new Map<ResolvedView, (ValueSnapshot | undefined)[]>();
    // watermarks.get(view name)[i]: the view's watermark at rows[i].asOf (SERVED only); undefined: none.
    let watermarks = new Map<string, (number | undefined)[]>();
    if (rows.length > 0 && byView.size > 0) {
      const rowsTable = temporaryName('FG_ASOF');
      this.counts.rowUploads++;
      await this.run('readAsOf (rows table)', createRowsStatement(rowsTable));
      try {
        const uploads = rows.map((row) => JSON.stringify([row.key, row.asOf]));
        await this.sendInBatches(uploads, this.uploadBatch, (first, payload) => {
          this.counts.rowUploads++;
          return this.run('readAsOf (upload rows)', insertRowsStatement(rowsTable, first, payload));
        });
        for (const [view, features] of byView) snapshots.set(view, await this.readView(rowsTable, view, features, query, rows));
        if (query.mode === 'SERVED') watermarks = await this.readWatermarks(rowsTable, [...byView.keys()]);
      } finally {
        // A temporary table would go with the session anyway; dropping it keeps a long session small.
        this.counts.rowUploads++;
        await this.run('readAsOf (drop rows table)', dropTemporaryStatement(rowsTable)).catch(() => undefined);
      }
    }
    return rows.map((row, i) => query.features.map((feature) => readFeature(feature, snapshots.get(feature.view)?.[i] ?? null, row.asOf, watermarks.get(feature.view.name)?.[i] ?? null)));
  }

  /** One statement: every view's watermark at every row's asOf. */
  private async readWatermarks(rowsTable: string, views: readonly ResolvedView[]): Promise<Map<string, (number | undefined)[]>> {
    const out = new Map<string, (number | undefined)[]>();
    this.counts.watermarkQueries++;
    for (const row of await this.run('readAsOf (watermarks)', watermarksReadStatement(this.watermarksTable, rowsTable, JSON.stringify(views.map((view) => view.name))))) {
      const view = String(row[0]);
      let list = out.get(view);
      if (!list) out.set(view, (list = []));
      list[num(row[1])] = num(row[2]);
    }
    return out;
  }

  async count(view: string): Promise<number> {
    const [row] = await this.run('count', countStatement(this.table, view));
    return num(row?.[0] ?? 0);
  }

  /** Whether the warehouse accepts connections (no statement: see SnowflakeSession.checkReachable). */
  async ping(): Promise<void> {
    await this.session.checkReachable('ping');
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  private run(action: string, statement: SnowflakeStatement): Promise<unknown[][]> {
    return this.session.execute(action, statement);
  }

  /** Sends JSON texts as JSON arrays of at most `count` items and about payloadBytes each; `send` gets the first item's index. */
  private async sendInBatches(items: readonly string[], count: number, send: (first: number, payload: string) => Promise<unknown>): Promise<void> {
    let first = 0;
    while (first < items.length) {
      let end = first;
      let bytes = 2;
      // One item alone may exceed the bound: it still goes, alone, and the warehouse says whether it fits.
      while (end < items.length && end - first < count) {
        const size = Buffer.byteLength(items[end] as string) + 1;
        if (end > first && bytes + size > this.payloadBytes) break;
        bytes += size;
        end++;
      }
      await send(first, `[${items.slice(first, end).join(',')}]`);
      first = end;
    }
  }

  /** One statement: the view at every row's asOf, as the snapshot readFeature reads. */
  private async readView(rowsTable: string, view: ResolvedView, features: readonly ResolvedFeature[], query: PointInTimeQuery, rows: readonly PointInTimeRow[]): Promise<(ValueSnapshot | undefined)[]> {
    const out = new Array<ValueSnapshot | undefined>(rows.length);
    this.counts.pointInTimeQueries++;
    if (!view.windowed) {
      for (const row of await this.run(`readAsOf (view ${view.name})`, columnReadStatement(this.table, rowsTable, view.name, query.mode))) {
        out[num(row[0])] = { eventTime: num(row[1]), availableTime: num(row[2]), values: JSON.parse(String(row[3])) as Record<string, FeatureValue> };
      }
      return out;
    }
    const { statement, columns } = windowReadStatement(this.table, rowsTable, view.name, query.mode, features, { exactSums: this.exactSums });
    for (const row of await this.run(`readAsOf (view ${view.name})`, statement)) {
      const index = num(row[0]);
      const asOf = (rows[index] as PointInTimeRow).asOf;
      out[index] = { eventTime: num(row[1]), availableTime: num(row[2]), tiles: windowTiles(columns, row.slice(3), asOf) };
    }
    return out;
  }
}

/**
 * Tiles rebuilt from a window's addends ([tile, value] pairs in the reference's order), merged exactly as
 * windowSnapshotAt merges events, so that readFeature adds them up in the same order.
 */
function tilesOfAddends(addends: unknown, cellOf: (value: number) => Cell, op: CellOp): Record<string, Cell> {
  const pairs = (typeof addends === 'string' ? JSON.parse(addends) : addends) as ([number, number] | null)[];
  const tiles: Record<string, Cell> = {};
  for (const pair of pairs) {
    if (pair === null) continue;
    const index = String(num(pair[0]));
    const cell = cellOf(num(pair[1]));
    const held = tiles[index];
    tiles[index] = held === undefined ? cell : mergeCells(op, held, cell);
  }
  return tiles;
}

/**
 * The aggregates of one row as tiles readFeature can read: each feature's whole window as one cell in
 * asOf's own tile (always inside the window), or no cell when the window held nothing for it.
 */
function windowTiles(columns: readonly WindowColumns[], values: readonly unknown[], asOf: number): Record<string, Record<string, Cell>> {
  const tiles: Record<string, Record<string, Cell>> = {};
  let at = 0;
  for (const { feature, kind } of columns) {
    const spec = feature.window;
    const tile = spec === null ? '0' : String(tileIndex(asOf, spec.tileMs));
    let cell: Cell | undefined;
    switch (kind) {
      case 'count':
      case 'distinctCount': {
        const n = num(values[at++]);
        // distinctCount's cell is the set of texts; only its size is ever read.
        if (n > 0) cell = kind === 'count' ? n : Array.from({ length: n }, (_, i) => String(i));
        break;
      }
      case 'min':
      case 'max': {
        const value = values[at++];
        if (value !== null && value !== undefined) cell = num(value);
        break;
      }
      case 'sum': {
        const value = values[at++];
        const addends = values[at++];
        if (addends !== null && addends !== undefined) {
          tiles[feature.name] = tilesOfAddends(addends, (x) => x, 'add');
          continue;
        }
        if (value !== null && value !== undefined) cell = num(value);
        break;
      }
      case 'avg': {
        const sum = values[at++];
        const n = num(values[at++]);
        const addends = values[at++];
        if (addends !== null && addends !== undefined) {
          tiles[feature.name] = tilesOfAddends(addends, (x) => [x, 1], 'avg');
          continue;
        }
        if (n > 0) cell = [num(sum), n];
        break;
      }
      case 'last': {
        const vals = values[at++];
        const field = feature.def.kind === 'windowed' ? feature.def.field : undefined;
        if (typeof vals === 'string' && field !== undefined) cell = [asOf, (JSON.parse(vals) as Record<string, FeatureValue>)[field] as FeatureValue];
        break;
      }
      default: {
        const unreachable: never = kind;
        throw new Error(`unknown aggregation ${String(unreachable)}`);
      }
    }
    tiles[feature.name] = cell === undefined ? {} : { [tile]: cell };
  }
  return tiles;
}
