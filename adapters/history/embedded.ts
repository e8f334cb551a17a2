// The embedded history store: one DuckDB file (the engine the embedded SQL source measured fastest),
// holding every materialized change, and the checkpoints of jobs that write it (backfills), so that
// one file carries both and a resumed backfill finds its progress beside its data.
import { EmbeddedSql } from '../sources/embedded/index.js';
import type { CheckpointStore } from '../sources/types.js';
import type { FeatureRead } from '../../schema/snapshot.js';
import { changesByKey, pointInTimeReads } from './point-in-time.js';
import type { HistoryRecord, HistoryScan, HistoryStore, PointInTimeQuery, PointInTimeRow } from './types.js';

const pageSize = 5000;

export class EmbeddedHistoryStore implements HistoryStore, CheckpointStore {
  readonly name = 'embedded';

  private constructor(private readonly db: EmbeddedSql) {}

  static async open(path = ':memory:'): Promise<EmbeddedHistoryStore> {
    const db = await EmbeddedSql.open(path);
    await db.exec(`
      CREATE TABLE IF NOT EXISTS history (view VARCHAR NOT NULL, key VARCHAR NOT NULL, id VARCHAR NOT NULL, event_time BIGINT NOT NULL, available_time BIGINT NOT NULL, vals VARCHAR NOT NULL, deleted BOOLEAN NOT NULL, PRIMARY KEY (view, id));
      CREATE TABLE IF NOT EXISTS checkpoints (name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
      CREATE TEMP TABLE IF NOT EXISTS staging (view VARCHAR, key VARCHAR, id VARCHAR, event_time BIGINT, available_time BIGINT, vals VARCHAR, deleted BOOLEAN);
    `);
    return new EmbeddedHistoryStore(db);
  }

  async append(records: readonly HistoryRecord[]): Promise<void> {
    if (records.length === 0) return;
    // Bulk through the appender into a staging table, then one insert that skips ids already there.
    await this.db.insertRows(
      'staging',
      records.map((r) => ({ view: r.view, key: r.key, id: r.id, event_time: r.eventTime, available_time: r.availableTime, vals: JSON.stringify(r.values), deleted: r.deleted === true })),
    );
    await this.db.exec('INSERT OR IGNORE INTO history SELECT DISTINCT ON (view, id) * FROM staging; DELETE FROM staging;');
  }

  async *scan(scan: HistoryScan): AsyncIterable<HistoryRecord[]> {
    const where = ['view = ?'];
    const params: (string | number)[] = [scan.view];
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
      const page = after === null ? '' : ' AND (event_time > ? OR (event_time = ? AND id > ?))';
      const pageParams = after === null ? [] : [after[0], after[0], after[1]];
      const rows = await this.db.query(`SELECT key, id, event_time, available_time, vals, deleted FROM history WHERE ${where.join(' AND ')}${page} ORDER BY event_time, id LIMIT ${pageSize}`, [...params, ...pageParams]);
      if (rows.length === 0) return;
      yield rows.map((row) => ({
        view: scan.view,
        key: String(row.key),
        id: String(row.id),
        eventTime: Number(row.event_time),
        availableTime: Number(row.available_time),
        values: JSON.parse(String(row.vals)) as Record<string, unknown>,
        ...(row.deleted === true ? { deleted: true } : {}),
      }));
      const last = rows[rows.length - 1] as Record<string, unknown>;
      after = [Number(last.event_time), String(last.id)];
      if (rows.length < pageSize) return;
    }
  }

  // Correct but row-at-a-time: reads every change of the asked keys. Replaced by SQL (ASOF JOIN).
  async readAsOf(query: PointInTimeQuery, rows: readonly PointInTimeRow[]): Promise<FeatureRead[][]> {
    const keys = [...new Set(rows.map((row) => row.key))];
    const byView = new Map<string, Map<string, HistoryRecord[]>>();
    for (const view of new Set(query.features.map((feature) => feature.view))) {
      const changes: HistoryRecord[] = [];
      for await (const batch of this.scan({ view: view.name, keys })) changes.push(...batch);
      byView.set(view.name, changesByKey(changes));
    }
    return pointInTimeReads(query, rows, (view) => byView.get(view.name) ?? new Map());
  }

  async count(view: string): Promise<number> {
    const [row] = await this.db.query('SELECT count(*) AS n FROM history WHERE view = ?', [view]);
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
