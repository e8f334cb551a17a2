// The served log's table in the embedded history file: the gateway's sample of what it served, kept
// beside the history it is checked against (adapters/served-log/embedded.ts is the ServedLogStore
// over it); a record's `at` is its served_at column (AT is a keyword of DuckDB's). Segments, features and inputs are JSON text: they are read back whole, never queried
// apart, and JSON keeps every value a served answer can hold (value-rules: finite numbers only).
import type { EmbeddedSql } from '../../sources/embedded/index.js';
import type { ServedRecord } from '../../../schema/served-log.js';
import type { ServedLogRange } from '../../served-log/types.js';
import { servedBatchSize } from '../../served-log/range.js';

export const servedLogTable = 'served_log';
const staging = 'served_log_staging';

/** Where a page of a served-log read ends: the (at, id) of its last record. */
export interface ServedCursor {
  at: number;
  id: string;
}

export interface ServedPage {
  records: ServedRecord[];
  /** Where the next page starts; null after the last. */
  next: ServedCursor | null;
}

export const createServedLogSql = `
  CREATE TABLE IF NOT EXISTS ${servedLogTable} (id VARCHAR PRIMARY KEY, served_at BIGINT NOT NULL, entity VARCHAR NOT NULL, key VARCHAR NOT NULL, segments VARCHAR NOT NULL, features VARCHAR NOT NULL, inputs VARCHAR NOT NULL);
  CREATE TEMP TABLE IF NOT EXISTS ${staging} (seq BIGINT, id VARCHAR, served_at BIGINT, entity VARCHAR, key VARCHAR, segments VARCHAR, features VARCHAR, inputs VARCHAR);
`;

/**
 * Appends records through the appender into the staging table, then one insert that skips ids already
 * in the table (and repeats within the append: the first one wins). The caller runs it alone on the
 * connection's queue of appends: two appends would share the staging table.
 */
export async function appendServedSql(db: EmbeddedSql, records: readonly ServedRecord[]): Promise<void> {
  await db.insertRows(
    staging,
    records.map((r, seq) => ({ seq, id: r.id, served_at: r.at, entity: r.entity, key: r.key, segments: JSON.stringify(r.segments), features: JSON.stringify(r.features), inputs: JSON.stringify(r.inputs) })),
  );
  try {
    await db.exec(`INSERT OR IGNORE INTO ${servedLogTable} SELECT DISTINCT ON (id) id, served_at, entity, key, segments, features, inputs FROM ${staging} ORDER BY id, seq`);
  } finally {
    await db.exec(`DELETE FROM ${staging}`);
  }
}

/** One page of a range, in (at, id) order after `after` (keyset paging: bounded memory whatever the range holds). */
export async function servedPageSql(db: EmbeddedSql, range: ServedLogRange, after: ServedCursor | null, limit = servedBatchSize): Promise<ServedPage> {
  const where = ['served_at >= ?', 'served_at < ?'];
  const params: (string | number)[] = [range.from, range.to];
  if (range.entity !== undefined) {
    where.push('entity = ?');
    params.push(range.entity);
  }
  if (after !== null) {
    where.push('(served_at > ? OR (served_at = ? AND id > ?))');
    params.push(after.at, after.at, after.id);
  }
  const rows = await db.query(`SELECT id, served_at, entity, key, segments, features, inputs FROM ${servedLogTable} WHERE ${where.join(' AND ')} ORDER BY served_at, id LIMIT ${limit}`, params);
  const records = rows.map(
    (row): ServedRecord => ({
      id: String(row.id),
      at: Number(row.served_at),
      entity: String(row.entity),
      key: String(row.key),
      segments: JSON.parse(String(row.segments)) as ServedRecord['segments'],
      features: JSON.parse(String(row.features)) as ServedRecord['features'],
      inputs: JSON.parse(String(row.inputs)) as ServedRecord['inputs'],
    }),
  );
  const last = records[records.length - 1];
  return { records, next: last === undefined || records.length < limit ? null : { at: last.at, id: last.id } };
}
