// The embedded history store: one DuckDB file (the engine the embedded SQL source measured fastest),
// holding every materialized change, and the checkpoints of jobs that write it (backfills), so that
// one file carries both and a resumed backfill finds its progress beside its data.
//
// Storage: a view the store knows the definition of (open's `views`, or the first point-in-time read
// of it) has a typed table of its own (embedded/layout.ts), whose layout is recorded in the file, so a
// later open without the definitions (a backfill, the materializer) keeps writing it. Changes of other
// views go to one generic table with the values as JSON; they move to a typed table on first read.
// Point-in-time reads and training-set exports are SQL over the typed tables (embedded/reads.ts).
// Watermark changes have a table of their own, keyed by (view, at). The served log (what gateways
// served, for the monitor) has one too (served-log.ts).
//
// Ties: a column view's EVENT_TIME reads take a plain ASOF JOIN on the event time where the view's
// table holds no two changes of one key at one event time, and a slower tie-breaking join otherwise
// (reads.ts). Per view, `history_ties` says whether the table may hold such a tie, and how many rows
// that covers: when the table holds another count (a writer that does not keep it, a process that
// ended before checking what it appended), or the file has no entry for the view, the view is not
// known and is treated as tied until a full check, which an export runs. Appends to a tie-free view
// note what they staged in a temporary table; a check joins those (key, event time) pairs with the
// table once they reach a tenth of it, and before an export and at close. Reads in between use the
// tie-breaking join. Each check scans the table, so it waits for a tenth: checking after every append
// would slow loading a large history markedly. The notes are not kept in the file: there, deleting
// them after each check makes its commit checkpoint, which slows loading too (bench/README.md, "The
// embedded history store's choices").
import { checkSqlOptions, EmbeddedSql, memoryLimitOption, type EmbeddedRecord, type EmbeddedSqlOptions } from '../../sources/embedded/index.js';
import { OptionCheck, shown } from '../../common/options.js';
import type { CheckpointStore } from '../../sources/types.js';
import { ConfigError } from '../../../schema/errors.js';
import type { ResolvedView } from '../../../schema/registry.js';
import type { FeatureRead } from '../../../schema/snapshot.js';
import { changesByKey } from '../point-in-time.js';
import { createLayoutTableSql, layoutFor, layoutSelectSql, layoutTable, sameLayout, type ViewLayout } from './layout.js';
import { readAsOfSql, watermarksTable } from './read-as-of.js';
import { exportTrainingSetSql } from './export.js';
import { appendServedSql, createServedLogSql, servedPageSql, type ServedCursor, type ServedPage } from './served-log.js';
import type { ServedRecord } from '../../../schema/served-log.js';
import type { ServedLogRange } from '../../served-log/types.js';
import type { HistoryRecord, HistoryScan, HistoryStore, PointInTimeQuery, PointInTimeRow, TrainingSetExport, ViewWatermark } from '../types.js';

const pageSize = 5000;

/** Where a scan page ends: the (eventTime, id) of its last record. */
export interface ScanCursor {
  eventTime: number;
  id: string;
}

/** Noted changes that trigger a tie check at append: at least this many, and a tenth of the table. */
const tieCheckMin = 10_000;
const tieCheckShare = 0.1;

export interface EmbeddedHistoryStoreOptions extends EmbeddedSqlOptions {
  /** Views whose typed tables to create (or rebuild, when the definition changed) at open. */
  views?: Iterable<ResolvedView>;
  /**
   * DuckDB's memory_limit while the store does bulk work (then back to memoryLimit): exporting a
   * training set, building a view's typed table. Default 1GB: at 128MB a large export is much slower,
   * and a typed table of 10M changes (its id index) cannot be built at all: out of memory
   * (bench/README.md, "The embedded history store's choices").
   */
  bulkMemoryLimit?: string;
}

/**
 * Checks the options into `check` (the shared store checks them where they enter too, in a process that
 * may never open the file); returns the memory limits.
 */
export function checkEmbeddedHistoryOptions(check: OptionCheck, options: EmbeddedHistoryStoreOptions): { normal: string; bulk: string } {
  const where = 'embedded history store';
  const normal = checkSqlOptions(check, where, options);
  if (options.views !== undefined && (typeof options.views !== 'object' || options.views === null || !(Symbol.iterator in options.views))) {
    check.refuse(`${where}: views must be an iterable of resolved views (registry.views.values()), got ${shown(options.views)}`);
  }
  return { normal, bulk: memoryLimitOption(check, `${where}: bulkMemoryLimit`, options.bulkMemoryLimit, '1GB') };
}

const sqlString = (text: string): string => `'${text.replaceAll("'", "''")}'`;

export class EmbeddedHistoryStore implements HistoryStore, CheckpointStore {
  readonly name = 'embedded';

  /** Per laid-out view, whether its table may hold ties (absent: not known); and its noted, unchecked changes. */
  private readonly ties = new Map<string, boolean>();
  private readonly unchecked = new Map<string, number>();

  private constructor(
    private readonly db: EmbeddedSql,
    private readonly layouts: Map<string, ViewLayout>,
    private readonly memoryLimits: { normal: string; bulk: string },
  ) {}

  static async open(path = ':memory:', options: EmbeddedHistoryStoreOptions = {}): Promise<EmbeddedHistoryStore> {
    if (typeof options !== 'object' || options === null) throw new ConfigError(`embedded history store: options must be an object, got ${shown(options)}`);
    const check = new OptionCheck();
    check.nonEmptyString('embedded history store: path', path);
    const memoryLimits = checkEmbeddedHistoryOptions(check, options);
    check.done();
    const db = await EmbeddedSql.open(path, { ...options, memoryLimit: memoryLimits.normal });
    await db.exec(`
      SET TimeZone = 'UTC';
      CREATE TABLE IF NOT EXISTS history (view VARCHAR NOT NULL, key VARCHAR NOT NULL, id VARCHAR NOT NULL, event_time BIGINT NOT NULL, available_time BIGINT NOT NULL, vals VARCHAR NOT NULL, deleted BOOLEAN NOT NULL, PRIMARY KEY (view, id));
      CREATE TABLE IF NOT EXISTS history_layouts (view VARCHAR PRIMARY KEY, layout VARCHAR NOT NULL);
      CREATE TABLE IF NOT EXISTS checkpoints (name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
      CREATE TABLE IF NOT EXISTS history_ties (view VARCHAR PRIMARY KEY, ties BOOLEAN NOT NULL, rows BIGINT NOT NULL);
      CREATE TABLE IF NOT EXISTS ${watermarksTable} (view VARCHAR NOT NULL, changed_at BIGINT NOT NULL, watermark BIGINT NOT NULL, PRIMARY KEY (view, changed_at));
      CREATE TEMP TABLE IF NOT EXISTS history_unchecked (view VARCHAR NOT NULL, key VARCHAR NOT NULL, event_time BIGINT NOT NULL);
      CREATE TEMP TABLE IF NOT EXISTS staging (seq BIGINT, view VARCHAR, key VARCHAR, id VARCHAR, event_time BIGINT, available_time BIGINT, vals VARCHAR, deleted BOOLEAN);
      ${createServedLogSql}
    `);
    const layouts = new Map<string, ViewLayout>();
    for (const row of await db.query('SELECT view, layout FROM history_layouts')) layouts.set(String(row.view), JSON.parse(String(row.layout)) as ViewLayout);
    const store = new EmbeddedHistoryStore(db, layouts, memoryLimits);
    try {
      await store.loadTies();
      await store.prepareViews(options.views ?? []);
    } catch (error) {
      await db.close();
      throw error;
    }
    return store;
  }

  /** Creates (or rebuilds, when the definition changed) the typed tables of views, as open's `views` does. */
  async prepareViews(views: Iterable<ResolvedView>): Promise<void> {
    for (const view of views) await this.layoutOf(view);
  }

  /**
   * The typed layout of a view, creating its table on first use: from the changes already in the
   * generic table, or from the old table when the definition changed (all in SQL, from the JSON
   * values). Null when the view cannot be laid out; it stays in the generic table then. The generic
   * rows of a laid-out view are left where they are, unread: deleting them through the table's
   * (view, id) index costs several times the copy (bench/README.md).
   */
  private async layoutOf(view: ResolvedView): Promise<ViewLayout | null> {
    const wanted = layoutFor(view);
    const held = this.layouts.get(view.name);
    if (wanted === null || (held !== undefined && sameLayout(held, wanted))) return wanted === null ? null : (held as ViewLayout);
    const table = layoutTable(view.name);
    const source = held === undefined ? `(SELECT * FROM history WHERE view = ${sqlString(view.name)})` : table;
    const next = layoutTable(`${view.name}__next`);
    // After the appends queued before it, and before those queued after (which write the new table).
    await this.serial(async () => {
      const now = this.layouts.get(view.name);
      if (now !== undefined && sameLayout(now, wanted)) return; // built by a read queued before this one
      await this.bulk(() =>
        this.transaction(`
        DROP TABLE IF EXISTS ${next};
        ${createLayoutTableSql(wanted, next)};
        INSERT INTO ${next} ${layoutSelectSql(wanted, source)};
        DROP TABLE IF EXISTS ${table};
        ALTER TABLE ${next} RENAME TO ${table};
        INSERT OR REPLACE INTO history_layouts VALUES (${sqlString(view.name)}, ${sqlString(JSON.stringify(wanted))});
        ${EmbeddedHistoryStore.fullTieCheckSql(view.name)}
      `),
      );
      this.layouts.set(view.name, wanted);
      await this.tiesRecorded(view.name);
    });
    return wanted;
  }

  /** The tie state of the laid-out views, kept where it still covers the whole table. */
  private async loadTies(): Promise<void> {
    for (const row of await this.db.query('SELECT view, ties, rows FROM history_ties')) {
      const view = String(row.view);
      const [held] = this.layouts.has(view) ? await this.db.query(`SELECT count(*) AS n FROM ${layoutTable(view)}`) : [];
      if (held !== undefined && Number(held.n) === Number(row.rows)) this.ties.set(view, row.ties === true);
      else await this.db.exec('DELETE FROM history_ties WHERE view = ?', [view]);
    }
  }

  /** SQL that records whether the view's whole table may hold ties (a full check). */
  private static fullTieCheckSql(view: string, table = layoutTable(view)): string {
    return `DELETE FROM history_unchecked WHERE view = ${sqlString(view)};
      INSERT OR REPLACE INTO history_ties SELECT ${sqlString(view)}, EXISTS (SELECT 1 FROM ${table} GROUP BY key, event_time HAVING count(*) > 1), (SELECT count(*) FROM ${table});`;
  }

  /** Reads back what a check recorded. */
  private async tiesRecorded(view: string): Promise<void> {
    const [row] = await this.db.query('SELECT ties FROM history_ties WHERE view = ?', [view]);
    if (row === undefined) this.ties.delete(view);
    else this.ties.set(view, row.ties === true);
    this.unchecked.delete(view);
  }

  /** Checks the noted changes of a tie-free view against its table: a tie among them makes it tied. Serialized. */
  private async checkTies(view: string): Promise<void> {
    const v = sqlString(view);
    const table = layoutTable(view);
    await this.transaction(`
      UPDATE history_ties SET rows = (SELECT count(*) FROM ${table}), ties = EXISTS (
        SELECT 1 FROM (SELECT DISTINCT key, event_time FROM history_unchecked WHERE view = ${v}) s JOIN ${table} t ON t.key = s.key AND t.event_time = s.event_time
        GROUP BY s.key, s.event_time HAVING count(*) > 1) WHERE view = ${v};
      DELETE FROM history_unchecked WHERE view = ${v};
    `);
    await this.tiesRecorded(view);
  }

  /** Makes the tie state of views known and checked (a full check where it is not known). Serialized. */
  private async settleTies(views: Iterable<string>): Promise<void> {
    for (const view of views) {
      if (!this.layouts.has(view)) continue;
      if (!this.ties.has(view)) {
        await this.bulk(() => this.transaction(EmbeddedHistoryStore.fullTieCheckSql(view)));
        await this.tiesRecorded(view);
      } else if (this.ties.get(view) === false && (this.unchecked.get(view) ?? 0) > 0) {
        await this.checkTies(view);
      }
    }
  }

  /** The views (of `views`) known to hold no ties, with nothing unchecked. */
  private tieFree(views: Iterable<ResolvedView>): Set<ResolvedView> {
    return new Set([...views].filter((view) => this.ties.get(view.name) === false && (this.unchecked.get(view.name) ?? 0) === 0));
  }

  /** Runs statements in one transaction, rolled back when one fails. */
  private async transaction(sql: string): Promise<void> {
    try {
      await this.db.exec(`BEGIN TRANSACTION; ${sql} COMMIT;`);
    } catch (error) {
      await this.db.exec('ROLLBACK').catch(() => undefined);
      throw error;
    }
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
  // the first clears the table would lose them. Tie checks and typed-table builds queue with them.
  private queue: Promise<void> = Promise.resolve();

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const done = this.queue.then(work);
    this.queue = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  append(records: readonly HistoryRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.serial(() => this.appendNow(records));
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
    const noted = new Map<string, number>();
    for (const view of typed) {
      const layout = this.layouts.get(view) as ViewLayout;
      const table = layoutTable(view);
      statements.push(`INSERT OR IGNORE INTO ${table} ${layoutSelectSql(layout, `(SELECT DISTINCT ON (id) * FROM staging WHERE view = ${sqlString(view)} ORDER BY id, seq)`)};`);
      if (this.ties.get(view) === false) {
        // A tie-free view notes the (key, event time) of every staged change (replays too: a check
        // counts the table's changes at each pair, so a replay finds only itself). Its row count in
        // history_ties stays that of the last check until the next.
        statements.push(`INSERT INTO history_unchecked SELECT view, key, event_time FROM staging WHERE view = ${sqlString(view)};`);
        noted.set(view, records.filter((r) => r.view === view).length);
      } else if (this.ties.get(view) === true) {
        // Tied stays tied, whatever is appended: the count keeps the state valid for the next open.
        statements.push(`UPDATE history_ties SET rows = (SELECT count(*) FROM ${table}) WHERE view = ${sqlString(view)};`);
      }
    }
    const generic = typed.length === 0 ? '' : ` WHERE view NOT IN (${typed.map(sqlString).join(', ')})`;
    statements.push(`INSERT OR IGNORE INTO history SELECT DISTINCT ON (view, id) view, key, id, event_time, available_time, vals, deleted FROM staging${generic} ORDER BY view, id, seq;`);
    try {
      // One transaction: the changes and their notes (or count) are written together or not at all.
      await this.transaction(statements.join('\n'));
    } finally {
      await this.db.exec('DELETE FROM staging');
    }
    for (const [view, n] of noted) {
      const unchecked = (this.unchecked.get(view) ?? 0) + n;
      this.unchecked.set(view, unchecked);
      if (unchecked < tieCheckMin) continue;
      const [held] = await this.db.query(`SELECT count(*) AS n FROM ${layoutTable(view)}`);
      if (unchecked >= tieCheckShare * Number(held?.n ?? 0)) await this.checkTies(view);
    }
  }

  appendWatermarks(changes: readonly ViewWatermark[]): Promise<void> {
    if (changes.length === 0) return Promise.resolve();
    // The first of a (view, at) wins, in the append as in the table.
    const unique = new Map<string, ViewWatermark>();
    for (const change of changes) {
      const id = `${change.view}\u0000${change.at}`;
      if (!unique.has(id)) unique.set(id, change);
    }
    const values = [...unique.values()];
    return this.serial(async () => {
      for (let i = 0; i < values.length; i += 1000) {
        const chunk = values.slice(i, i + 1000);
        await this.db.exec(`INSERT OR IGNORE INTO ${watermarksTable} VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`, chunk.flatMap((c) => [c.view, c.at, c.watermark]));
      }
    });
  }

  /** Appends to the served log (a record whose id is there already changes nothing); queued with the other appends. */
  appendServed(records: readonly ServedRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.serial(() => appendServedSql(this.db, records));
  }

  /** One page of the served log's records in a range, in (at, id) order after `after`. */
  servedPage(range: ServedLogRange, after: ServedCursor | null): Promise<ServedPage> {
    return servedPageSql(this.db, range, after);
  }

  async *scan(scan: HistoryScan): AsyncIterable<HistoryRecord[]> {
    let after: ScanCursor | null = null;
    for (;;) {
      const page = await this.scanPage(scan, after);
      if (page.records.length > 0) yield page.records;
      if (page.next === null) return;
      after = page.next;
    }
  }

  /**
   * One page of a scan: the records after `after` in (event_time, id) order (keyset paging: bounded
   * memory whatever the size of the history), and where the next page starts (null after the last).
   * A client of a shared file pages through this, so a scan resumes where it was when the owner changes.
   */
  async scanPage(scan: HistoryScan, after: ScanCursor | null, limit = pageSize): Promise<{ records: HistoryRecord[]; next: ScanCursor | null }> {
    if (scan.keys?.length === 0) return { records: [], next: null };
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
      where.push(`key IN (${scan.keys.map(() => '?').join(', ')})`);
      params.push(...scan.keys);
    }
    if (after !== null) {
      where.push('(event_time > ? OR (event_time = ? AND id > ?))');
      params.push(after.eventTime, after.eventTime, after.id);
    }
    const filter = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
    const rows = await this.db.query(`SELECT key, id, event_time, available_time, vals, deleted FROM ${table}${filter} ORDER BY event_time, id LIMIT ${limit}`, params);
    const records = rows.map((row) => recordOf(scan.view, row));
    const last = records[records.length - 1];
    return { records, next: last === undefined || records.length < limit ? null : { eventTime: last.eventTime, id: last.id } };
  }

  // Reads and exports queue with appends, so that what they know of ties holds for the table they read.
  async readAsOf(query: PointInTimeQuery, rows: readonly PointInTimeRow[]): Promise<FeatureRead[][]> {
    const layouts = new Map<ResolvedView, ViewLayout | null>();
    for (const view of new Set(query.features.map((feature) => feature.view))) layouts.set(view, await this.layoutOf(view));
    return this.serial(() => this.readNow(query, rows, layouts));
  }

  /** readAsOf once the layouts are known, in the queue. */
  private readNow(query: PointInTimeQuery, rows: readonly PointInTimeRow[], layouts: ReadonlyMap<ResolvedView, ViewLayout | null>): Promise<FeatureRead[][]> {
    // Views that cannot be laid out, and rows whose changes the typed columns do not render, are
    // answered from the JSON values by the reference.
    const fallback = async (view: ResolvedView, keys: readonly string[]) => {
      const changes: HistoryRecord[] = [];
      for await (const batch of this.scan({ view: view.name, keys })) changes.push(...batch);
      return changesByKey(changes);
    };
    return readAsOfSql(this.db, query, rows, layouts, this.tieFree(layouts.keys()), fallback);
  }

  async exportTrainingSet(spec: TrainingSetExport): Promise<{ rows: number }> {
    const views = [...new Set(spec.query.features.map((feature) => feature.view))];
    const layouts = new Map<ResolvedView, ViewLayout>();
    for (const view of views) {
      const layout = await this.layoutOf(view);
      if (layout === null) throw new Error(`embedded history store: view ${view.name} has event fields that are not plain names; it cannot be exported`);
      layouts.set(view, layout);
    }
    return this.serial(async () => {
      await this.settleTies(views.map((view) => view.name));
      return this.bulk(() => exportTrainingSetSql(this.db, spec, layouts, this.tieFree(views), (rows) => this.readNow(spec.query, rows, layouts)));
    });
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

  /** Closes the file, after checking what appends noted for tie checks (else the next open does not know the view's ties). */
  async close(): Promise<void> {
    if (this.db.path !== ':memory:') await this.serial(() => this.settleTies([...this.unchecked.keys()])).catch(() => undefined);
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
