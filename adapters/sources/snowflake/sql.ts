// The SQL the Snowflake row source sends, built apart from the driver so that it can be tested alone.
// Identifiers (table, columns) come from feature definitions, not from users, but they still go through
// a strict pattern and are quoted; every value (watermarks) is a bound parameter, never spliced in.
import { readInstantText } from '../../../schema/instant.js';
import { ConfigError } from '../../../schema/errors.js';

/** One unquoted-style Snowflake identifier: letters, digits, `_` and `$`, not starting with a digit or `$`. */
export const identifierPattern = /^[A-Za-z_][A-Za-z0-9_$]{0,254}$/;

export function validateIdentifier(where: string, value: unknown): string {
  if (typeof value !== 'string' || !identifierPattern.test(value)) {
    throw new ConfigError(`${where} must be an identifier matching ${identifierPattern} (letters, digits, _ and $, quoted as written, so case-sensitive), got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Quotes a validated identifier. Quoted identifiers are case-sensitive: `orders` is not `ORDERS`. */
export function quoteIdentifier(name: string): string {
  // The pattern excludes `"`, so no escaping is needed; the check stays in case a caller skips validation.
  if (!identifierPattern.test(name)) throw new ConfigError(`not a valid identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** `TABLE`, `SCHEMA.TABLE` or `DATABASE.SCHEMA.TABLE`, each part validated and quoted. */
export function quoteTableName(where: string, table: unknown): string {
  if (typeof table !== 'string') throw new ConfigError(`${where} must be a table name like ORDERS or DB.SCHEMA.ORDERS, got ${JSON.stringify(table)}`);
  const parts = table.split('.');
  if (parts.length > 3) throw new ConfigError(`${where} has at most three parts (database.schema.table), got ${JSON.stringify(table)}`);
  return parts.map((part) => quoteIdentifier(validateIdentifier(where, part))).join('.');
}

/** A definition's query, as a subquery. It is trusted code from the feature repo; only its shape is checked. */
export function subquery(where: string, query: unknown): string {
  if (typeof query !== 'string') throw new ConfigError(`${where} must be a SELECT statement, got ${JSON.stringify(query)}`);
  // A trailing `;` would end the subquery early. A second statement needs no check here: Snowflake runs
  // one statement per call unless MULTI_STATEMENT_COUNT says otherwise.
  const text = query.trim().replace(/;\s*$/, '').trim();
  if (!/^(select|with)\b/i.test(text)) throw new ConfigError(`${where} must start with SELECT or WITH, got ${JSON.stringify(query.slice(0, 80))}`);
  return `(${text}) AS "FG_SOURCE"`;
}

/**
 * How the event-time column is compared with a watermark. Found once per source from the column's type:
 * timestamps compare with timestamps, numbers (epoch) with numbers. A text column has no reliable order.
 */
export type EventTimeKind = 'timestamp_ntz' | 'timestamp_tz' | 'epoch_ms' | 'epoch_s';

/** Maps the driver's column type to how the watermark is bound; null: a type we cannot compare. */
export function eventTimeKindOf(columnType: string, epochUnit: 'milliseconds' | 'seconds'): EventTimeKind | null {
  switch (columnType.toLowerCase()) {
    case 'timestamp_ntz':
    case 'date':
      // DATE compares with a TIMESTAMP_NTZ bound (midnight UTC); NTZ values are read as UTC by the driver.
      return 'timestamp_ntz';
    case 'timestamp_tz':
    case 'timestamp_ltz':
      return 'timestamp_tz';
    case 'fixed':
    case 'real':
      return epochUnit === 'seconds' ? 'epoch_s' : 'epoch_ms';
    default:
      return null;
  }
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** `YYYY-MM-DD HH:MM:SS.fff` in UTC: the form both Snowflake and fakesnow cast to a timestamp. */
export function utcTimestampText(epochMs: number): string {
  const d = new Date(epochMs);
  if (Number.isNaN(d.getTime())) throw new RangeError(`not a representable instant: ${epochMs}`);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/** A bound watermark: the placeholder expression and its value. */
export function boundInstant(kind: EventTimeKind, epochMs: number): { sql: string; value: string | number } {
  switch (kind) {
    case 'timestamp_ntz':
      return { sql: 'CAST(? AS TIMESTAMP_NTZ)', value: utcTimestampText(epochMs) };
    case 'timestamp_tz':
      // No space before the offset: fakesnow (DuckDB) reads "... +00:00" as an unknown time zone.
      return { sql: 'CAST(? AS TIMESTAMP_TZ)', value: `${utcTimestampText(epochMs)}+00:00` };
    case 'epoch_ms':
      // CAST(? AS ...), not ?::..., which fakesnow does not parse. DOUBLE keeps fractional seconds below.
      return { sql: 'CAST(? AS DOUBLE)', value: epochMs };
    case 'epoch_s':
      return { sql: 'CAST(? AS DOUBLE)', value: epochMs / 1000 };
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown event-time kind ${String(unreachable)}`);
    }
  }
}

export interface ReadStatement {
  sqlText: string;
  binds: (string | number)[];
}

/**
 * The incremental read. Rows are reported with their event time truncated to whole milliseconds, so the
 * window (since, until] over reported times is, exactly, since + 1 ms <= t < until + 1 ms over stored
 * times: a row stored at 10.5 ms is reported as 10 and read by (9, 10], never by (10, 11], whatever the
 * column's precision. For millisecond data this is the same as t > since AND t <= until.
 *
 * Late rows are the caller's business: the materializer passes since = watermark - overlap, so rows that
 * landed in the warehouse after their event time had already been passed are read on a later run.
 * Rows with equal event times are ordered by key so that the order (and batch boundaries) are stable.
 */
export function readStatement(relation: string, keyColumn: string, eventTimeColumn: string, columns: readonly string[], kind: EventTimeKind, since: number | null, until: number): ReadStatement {
  const key = quoteIdentifier(keyColumn);
  const time = quoteIdentifier(eventTimeColumn);
  const selected = [key, time, ...columns.map(quoteIdentifier)].join(', ');
  const conditions: string[] = [];
  const binds: (string | number)[] = [];
  if (since !== null) {
    const lower = boundInstant(kind, since + 1);
    conditions.push(`${time} >= ${lower.sql}`);
    binds.push(lower.value);
  }
  const upper = boundInstant(kind, until + 1);
  conditions.push(`${time} < ${upper.sql}`);
  binds.push(upper.value);
  return { sqlText: `SELECT ${selected} FROM ${relation} WHERE ${conditions.join(' AND ')} ORDER BY ${time}, ${key}`, binds };
}

/** Every distinct non-null key. */
export function keysStatement(relation: string, keyColumn: string): ReadStatement {
  const key = quoteIdentifier(keyColumn);
  return { sqlText: `SELECT DISTINCT ${key} FROM ${relation} WHERE ${key} IS NOT NULL`, binds: [] };
}

/** No rows, only the event-time column's type. */
export function probeStatement(relation: string, eventTimeColumn: string): ReadStatement {
  return { sqlText: `SELECT ${quoteIdentifier(eventTimeColumn)} FROM ${relation} LIMIT 0`, binds: [] };
}

/**
 * An event-time value as the driver returns it (Date for TIMESTAMP and DATE, number for NUMBER and FLOAT,
 * string when a query casts to text) in epoch ms, truncated to whole milliseconds; null if it is none.
 */
export function toEpochMs(value: unknown, epochUnit: 'milliseconds' | 'seconds'): number | null {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = epochUnit === 'seconds' ? value * 1000 : value;
  else if (typeof value === 'bigint') ms = Number(value) * (epochUnit === 'seconds' ? 1000 : 1);
  else if (typeof value === 'string') {
    const text = value.trim();
    if (/^-?\d+(\.\d+)?$/.test(text)) ms = Number(text) * (epochUnit === 'seconds' ? 1000 : 1);
    else {
      // The one rule for instants (schema/instant.ts): a timestamp without a zone is UTC, as Snowflake's
      // NTZ values are read elsewhere in this source; an impossible day is no time at all.
      const reading = readInstantText(text);
      ms = reading.ok ? reading.ms : Number.NaN;
    }
  } else return null;
  return Number.isFinite(ms) ? Math.floor(ms) : null;
}

/**
 * A column value as a feature value: JSON-safe. Dates (TIMESTAMP, DATE columns) become ISO strings, binary
 * becomes base64, bigints become numbers when exact (else strings); VARIANT/ARRAY values stay parsed JSON.
 */
export function normalizeValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(normalizeValue);
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeValue(v)]));
  return value;
}
