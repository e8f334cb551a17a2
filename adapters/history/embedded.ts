// The embedded history store: one DuckDB file (the engine the embedded SQL source measured fastest),
// holding every materialized change, and the checkpoints of jobs that write it (backfills), so that
// one file carries both and a resumed backfill finds its progress beside its data.
//
// Storage: a view the store knows the definition of (open's `views`, or the first point-in-time read
// of it) has a typed table of its own (embedded/layout.ts), whose layout is recorded in the file, so a
// later open without the definitions (a backfill, the materializer) keeps writing it. Changes of other
// views go to one generic table with the values as JSON; they move to a typed table on first read.
// Point-in-time reads and training-set exports are SQL over the typed tables (embedded/reads.ts).
import { EmbeddedSql, type EmbeddedRecord, type EmbeddedSqlOptions } from '../sources/embedded/index.js';
import type { CheckpointStore } from '../sources/types.js';
import { ConfigError } from '../../schema/errors.js';
import type { ResolvedView } from '../../schema/registry.js';
import type { FeatureRead } from '../../schema/snapshot.js';
import { changesByKey } from './point-in-time.js';
import { createLayoutTableSql, layoutFor, layoutSelectSql, layoutTable, sameLayout, type ViewLayout } from './embedded/layout.js';
import { readAsOfSql } from './embedded/read-as-of.js';
import { exportTrainingSetSql } from './embedded/export.js';
import type { HistoryRecord, HistoryScan, HistoryStore, PointInTimeQuery, PointInTimeRow, TrainingSetExport } from './types.js';

const pageSize = 5000;

export interface EmbeddedHistoryStoreOptions extends EmbeddedSqlOptions {
  /** Views whose typed tables to create (or rebuild, when the definition changed) at open. */
  views?: Iterable<ResolvedView>;
  /**
   * DuckDB's memory_limit while the store does bulk work (then back to memoryLimit): exporting a
   * training set, building a view's typed table. Default 1GB: 1M rows x 10 features over 10M changes
   * exported in 18.0 s at 128MB and 11.6 s at 1GB, against 6.5 s for the bare ASOF JOIN unbounded; a
   * 10M-change typed table (its id index) could not be built at 128MB at all (out of memory).
   * (bench/training-set/engine-choice.ts, a loaded 2-core machine.)
   */
  bulkMemoryLimit?: string;
}

const memoryLimitPattern = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;

function checkedMemoryLimit(option: string, value: string): string {
  if (!memoryLimitPattern.test(value)) throw new ConfigError(`embedded history store: ${option} must be a size such as 512MB or 2GB, got ${JSON.stringify(value)}`);
  return value;
}

const sqlString = (text: string): string => `'${text.replaceAll("'", "''")}'`;

export class EmbeddedHistoryStore implements HistoryStore, CheckpointStore {
  readonly name = 'embedded';

  private constructor(
    private readonly db: EmbeddedSql,
    private readonly layouts: Map<string, ViewLayout>,
    private readonly memoryLimits: { normal: string; bulk: string },
  ) {}

  static async open(path = ':memory:', options: EmbeddedHistoryStoreOptions = {}): Promise<EmbeddedHistoryStore> {
    const memoryLimits = { normal: checkedMemoryLimit('memoryLimit', options.memoryLimit ?? '128MB'), bulk: checkedMemoryLimit('bulkMemoryLimit', options.bulkMemoryLimit ?? '1GB') };
    const db = await EmbeddedSql.open(path, { ...options, memoryLimit: memoryLimits.normal });
    await db.exec(`
      SET TimeZone = 'UTC';
      CREATE TABLE IF NOT EXISTS history (view VARCHAR NOT NULL, key VARCHAR NOT NULL, id VARCHAR NOT NULL, event_time BIGINT NOT NULL, available_time BIGINT NOT NULL, vals VARCHAR NOT NULL, deleted BOOLEAN NOT NULL, PRIMARY KEY (view, id));
      CREATE TABLE IF NOT EXISTS history_layouts (view VARCHAR PRIMARY KEY, layout VARCHAR NOT NULL);
      CREATE TABLE IF NOT EXISTS checkpoints (name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
      CREATE TEMP TABLE IF NOT EXISTS staging (seq BIGINT, view VARCHAR, key VARCHAR, id VARCHAR, event_time BIGINT, available_time BIGINT, vals VARCHAR, deleted BOOLEAN);
    `);
    const layouts = new Map<string, ViewLayout>();
    for (const row of await db.query('SELECT view, layout FROM history_layouts')) layouts.set(String(row.view), JSON.parse(String(row.layout)) as ViewLayout);
    const store = new EmbeddedHistoryStore(db, layouts, memoryLimits);
    try {
      for (const view of options.views ?? []) await store.layoutOf(view);
    } catch (error) {
      await db.close();
      throw error;
    }
    return store;
  }

  /**
   * The typed layout of a view, creating its table on first use: from the changes already in the
   * generic table, or from the old table when the definition changed (all in SQL, from the JSON
   * values). Null when the view cannot be laid out; it stays in the generic table then. The generic
   * rows of a laid-out view are left where they are, unread: deleting them through the table's
   * (view, id) index took 169 s per million rows, 6x the copy.
   */
  private async layoutOf(view: ResolvedView): Promise<ViewLayout | null> {
    const wanted = layoutFor(view);
    const held = this.layouts.get(view.name);
    if (wanted === null || (held !== undefined && sameLayout(held, wanted))) return wanted === null ? null : (held as ViewLayout);
    const table = layoutTable(view.name);
    const source = held === undefined ? `(SELECT * FROM history WHERE view = ${sqlString(view.name)})` : table;
    const next = layoutTable(`${view.name}__next`);
    await this.bulk(() =>
      this.db.exec(`
      BEGIN TRANSACTION;
      DROP TABLE IF EXISTS ${next};
      ${createLayoutTableSql(wanted, next)};
      INSERT INTO ${next} ${layoutSelectSql(wanted, source)};
      DROP TABLE IF EXISTS ${table};
      ALTER TABLE ${next} RENAME TO ${table};
      INSERT OR REPLACE INTO history_layouts VALUES (${sqlString(view.name)}, ${sqlString(JSON.stringify(wanted))});
      COMMIT;
    `),
    ).catch(async (error: unknown) => {
      await this.db.exec('ROLLBACK').catch(() => undefined);
      throw error;
    });
    this.layouts.set(view.name, wanted);
    return wanted;
  }

  /** Runs bulk work under the bulk memory limit. */
  private async bulk<T>(work: () => Promise<T>): Promise<T> {
    await this.db.exec(`SET memory_limit = '${this.memoryLimits.bulk}'`);
    try {
      return await work();
    } finally {
      await this.db.exec(`SET memory_limit = '${this.memoryLimits.normal}'`);
    }
  }

  /** Where a view's changes are: its typed table, or its rows of the generic one. */
  private relationOf(view: string): { table: string; where: string[]; params: (string | number)[] } {
    return this.layouts.has(view) ? { table: layoutTable(view), where: [], params: [] } : { table: 'history', where: ['view = ?'], params: [view] };
  }

  // Appends share the staging table, so they run one at a time: a second append staging rows while
  // the first clears the table would lose them.
  private appends: Promise<void> = Promise.resolve();

  append(records: readonly HistoryRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const done = this.appends.then(() => this.appendNow(records));
    this.appends = done.catch(() => undefined);
    return done;
  }

  private async appendNow(records: readonly HistoryRecord[]): Promise<void> {
    // Bulk through the appender into a staging table, then one insert per table that skips ids
    // already there (and repeats within the append: the first one wins).
    await this.db.insertRows(
      'staging',
      records.map((r, seq) => ({ seq, view: r.view, key: r.key, id: r.id, event_time: r.eventTime, available_time: r.availableTime, vals: JSON.stringify(r.values), deleted: r.deleted === true })),
    );
    const statements: string[] = [];
    const typed = [...new Set(records.map((r) => r.view))].filter((view) => this.layouts.has(view));
    for (const view of typed) {
      const layout = this.layouts.get(view) as ViewLayout;
      statements.push(`INSERT OR IGNORE INTO ${layoutTable(view)} ${layoutSelectSql(layout, `(SELECT DISTINCT ON (id) * FROM staging WHERE view = ${sqlString(view)} ORDER BY id, seq)`)};`);
    }
    const generic = typed.length === 0 ? '' : ` WHERE view NOT IN (${typed.map(sqlString).join(', ')})`;
    statements.push(`INSERT OR IGNORE INTO history SELECT DISTINCT ON (view, id) view, key, id, event_time, available_time, vals, deleted FROM staging${generic} ORDER BY view, id, seq;`);
    try {
      await this.db.exec(statements.join('\n'));
    } finally {
      await this.db.exec('DELETE FROM staging');
    }
  }

  async *scan(scan: HistoryScan): AsyncIterable<HistoryRecord[]> {
    const { table, where, params } = this.relationOf(scan.view);
    if (scan.eventTimeTo !== undefined) {
      where.push('event_time <= ?');
      params.push(scan.eventTimeTo);
    }
    if (scan.availableTimeTo !== undefined) {
      where.push('available_time <= ?');
      params.push(scan.availableTimeTo);
    }
    if (scan.keys) {
      if (scan.keys.length === 0) return;
      where.push(`key IN (${scan.keys.map(() => '?').join(', ')})`);
      params.push(...scan.keys);
    }
    // Keyset pages in (event_time, id) order: bounded memory whatever the size of the history.
    let after: [number, string] | null = null;
    for (;;) {
      const conditions = after === null ? where : [...where, '(event_time > ? OR (event_time = ? AND id > ?))'];
      const pageParams = after === null ? [] : [after[0], after[0], after[1]];
      const filter = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
      const rows = await this.db.query(`SELECT key, id, event_time, available_time, vals, deleted FROM ${table}${filter} ORDER BY event_time, id LIMIT ${pageSize}`, [...params, ...pageParams]);
      if (rows.length === 0) return;
      yield rows.map((row) => recordOf(scan.view, row));
      const last = rows[rows.length - 1] as EmbeddedRecord;
      after = [Number(last.event_time), String(last.id)];
      if (rows.length < pageSize) return;
    }
  }

  async readAsOf(query: PointInTimeQuery, rows: readonly PointInTimeRow[]): Promise<FeatureRead[][]> {
    const views = [...new Set(query.features.map((feature) => feature.view))];
    const layouts = new Map<ResolvedView, ViewLayout | null>();
    for (const view of views) layouts.set(view, await this.layoutOf(view));
    // Views that cannot be laid out, and rows whose changes the typed columns do not render, are
    // answered from the JSON values by the reference.
    const fallback = async (view: ResolvedView, keys: readonly string[]) => {
      const changes: HistoryRecord[] = [];
      for await (const batch of this.scan({ view: view.name, keys })) changes.push(...batch);
      return changesByKey(changes);
    };
    return readAsOfSql(this.db, query, rows, layouts, fallback);
  }

  async exportTrainingSet(spec: TrainingSetExport): Promise<{ rows: number }> {
    const views = [...new Set(spec.query.features.map((feature) => feature.view))];
    const layouts = new Map<ResolvedView, ViewLayout>();
    for (const view of views) {
      const layout = await this.layoutOf(view);
      if (layout === null) throw new Error(`embedded history store: view ${view.name} has event fields that are not plain names; it cannot be exported`);
      layouts.set(view, layout);
    }
    return this.bulk(() => exportTrainingSetSql(this.db, spec, layouts, (rows) => this.readAsOf(spec.query, rows)));
  }

  async count(view: string): Promise<number> {
    const { table, where, params } = this.relationOf(view);
    const [row] = await this.db.query(`SELECT count(*) AS n FROM ${table}${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`}`, params);
    return Number(row?.n ?? 0);
  }

  async get(name: string): Promise<string | null> {
    const [row] = await this.db.query('SELECT value FROM checkpoints WHERE name = ?', [name]);
    return row ? String(row.value) : null;
  }

  async set(name: string, value: string): Promise<void> {
    await this.db.exec('INSERT OR REPLACE INTO checkpoints VALUES (?, ?)', [name, value]);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function recordOf(view: string, row: EmbeddedRecord): HistoryRecord {
  return {
    view,
    key: String(row.key),
    id: String(row.id),
    eventTime: Number(row.event_time),
    availableTime: Number(row.available_time),
    values: JSON.parse(String(row.vals)) as Record<string, unknown>,
    ...(row.deleted === true ? { deleted: true } : {}),
  };
}
