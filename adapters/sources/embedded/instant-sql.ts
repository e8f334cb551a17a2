// schema/instant.ts's rule for instants, in DuckDB SQL: where a file of rows is parsed inside DuckDB
// (training sets from CSV, Parquet or NDJSON rows; the embedded history store's own export), the asOf
// column goes through these expressions, never through a bare DuckDB cast (which reads offset-less
// text in the session's time zone, takes other forms, reads 24:00 as the next day, and truncates
// sub-millisecond instants toward zero, i.e. up before 1970). Text must match the very patterns of
// schema/instant.ts before anything reads it; test/unit/adapters/sources/embedded/instant-sql.test.ts holds these expressions and
// readInstant to identical answers on the same inputs (calendar, hours, minutes, seconds, offsets,
// fractions, signs, ranges). Each expression gives epoch ms as BIGINT, or NULL where the rule refuses
// the value (and for NULL).
import { epochTextPattern, isoTextPattern, maxInstantMs, readInstant } from '../../../schema/instant.js';

const sqlString = (text: string): string => `'${text.replaceAll("'", "''")}'`;

const max = String(maxInstantMs);

/** `value` (an integer expression) when within the Date range, else NULL. */
function ranged(value: string): string {
  return `CASE WHEN ${value} BETWEEN -${max} AND ${max} THEN CAST(${value} AS BIGINT) END`;
}

/** floor(a / b) for integers: DuckDB's // and epoch_ms truncate toward zero, i.e. up before 1970. */
function floorDiv(a: string, b: number): string {
  return `((${a}) - (((${a}) % ${b}) + ${b}) % ${b}) // ${b}`;
}

/** Decimal epoch-ms text (shape checked): exact on the digits, a nonzero fraction of a negative number taking one off. */
function epochText(t: string): string {
  return ranged(`(TRY_CAST(split_part(${t}, '.', 1) AS HUGEINT) - CASE WHEN starts_with(${t}, '-') AND ltrim(split_part(${t}, '.', 2), '0') <> '' THEN 1 ELSE 0 END)`);
}

/**
 * ISO-8601 text, its shape checked by the pattern and its hour by the caller. Positions are fixed up
 * to the minutes (YYYY-MM-DD[T ]HH:MM), then come :SS, .f{1,9} and the offset. DuckDB's TIMESTAMP
 * cast reads the local part (calendar, minutes and seconds checked; an offset after the seconds
 * ignored; fraction digits past microseconds dropped, which floors), then the offset is applied here.
 * Shapes are tested with LIKE and ends_with, which allocate nothing, unlike substr and right.
 */
function isoText(t: string): string {
  // The cast reads no offset right after HH:MM: cut it there.
  const local = `TRY_CAST(CASE WHEN length(${t}) > 16 AND ${t} NOT LIKE '________________:%' THEN left(${t}, 16) ELSE ${t} END AS TIMESTAMP)`;
  // An offset is the text's last 6 (±HH:MM) or 5 (±HHMM) characters: past the minutes no other sign
  // can come (the date's dashes are within the first 10).
  const minutes = (at: number) =>
    `CASE WHEN substr(${t}, ${at + 1}, 2) <= '23' AND right(${t}, 2) <= '59' THEN CASE WHEN substr(${t}, ${at}, 1) = '-' THEN -1 ELSE 1 END * (CAST(substr(${t}, ${at + 1}, 2) AS BIGINT) * 60 + CAST(right(${t}, 2) AS BIGINT)) END`;
  const offset = `CASE WHEN ends_with(${t}, 'Z') OR length(${t}) <= 16 THEN 0 WHEN ${t} LIKE '%+__:__' OR ${t} LIKE '%-__:__' THEN ${minutes(-6)} WHEN ${t} LIKE '%+____' OR ${t} LIKE '%-____' THEN ${minutes(-5)} ELSE 0 END`;
  return `${floorDiv(`epoch_us(${local})`, 1000)} - (${offset}) * 60000`;
}

/** Text (ISO-8601 or decimal epoch ms), as readInstantText reads it. */
export function instantTextSql(text: string): string {
  const t = `CAST(${text} AS VARCHAR)`;
  // The cast reads hour 24 as the next day's midnight (and refuses 25-99): the rule has no 24:00.
  return `CASE WHEN regexp_full_match(${t}, ${sqlString(isoTextPattern.source)}) AND ${t} NOT LIKE '___________24%' THEN ${isoText(t)} WHEN regexp_full_match(${t}, ${sqlString(epochTextPattern.source)}) THEN ${epochText(t)} END`;
}

/** A number column: integers as they are, others floored, within the Date range (NaN and infinities: NULL). */
function numberSql(value: string, type: string): string {
  if (/^(DOUBLE|FLOAT|REAL)$/.test(type)) return `CASE WHEN isfinite(CAST(${value} AS DOUBLE)) THEN ${ranged(`floor(CAST(${value} AS DOUBLE))`)} END`;
  if (type.startsWith('DECIMAL')) return ranged(`floor(${value})`);
  return ranged(`CAST(${value} AS HUGEINT)`);
}

const integerTypes = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;

/**
 * The SQL turning `column` (an expression of DuckDB type `type`) into epoch ms by the rule, or null
 * when no value of that type is an instant. Text is parsed by the rule; TIMESTAMP (no zone) is UTC,
 * TIMESTAMPTZ its instant, DATE midnight UTC, finer timestamps floored to ms; integers are epoch ms,
 * floating and decimal numbers floored; JSON by what each value holds.
 */
export function instantMsSql(column: string, type: string): string | null {
  if (type === 'VARCHAR') return instantTextSql(column);
  if (integerTypes.test(type) || /^(DOUBLE|FLOAT|REAL)$/.test(type) || type.startsWith('DECIMAL')) return numberSql(column, type);
  if (type === 'DATE') return `CASE WHEN isfinite(${column}) THEN ${ranged(`CAST(${column} - DATE '1970-01-01' AS HUGEINT) * 86400000`)} END`;
  if (type === 'TIMESTAMP_NS') return `CASE WHEN isfinite(${column}) THEN ${ranged(floorDiv(`epoch_ns(${column})`, 1_000_000))} END`;
  if (type === 'TIMESTAMP WITH TIME ZONE' || type === 'TIMESTAMPTZ') return `CASE WHEN isfinite(${column}) THEN ${ranged(floorDiv(`epoch_us(${column})`, 1000))} END`;
  if (type === 'TIMESTAMP' || type === 'TIMESTAMP_MS' || type === 'TIMESTAMP_S') return `CASE WHEN isfinite(${column}) THEN ${ranged(floorDiv(`epoch_us(CAST(${column} AS TIMESTAMP))`, 1000))} END`;
  if (type === 'JSON') {
    return `CASE json_type(${column}) WHEN 'VARCHAR' THEN ${instantTextSql(`${column} ->> '$'`)} WHEN 'BIGINT' THEN ${numberSql(`CAST(${column} AS HUGEINT)`, 'HUGEINT')} WHEN 'UBIGINT' THEN ${numberSql(`CAST(${column} AS HUGEINT)`, 'HUGEINT')} WHEN 'DOUBLE' THEN ${numberSql(`CAST(${column} AS DOUBLE)`, 'DOUBLE')} END`;
  }
  return null;
}

/** Why a value that instantMsSql turned into NULL is not an instant, in the words of schema/instant.ts. */
export function instantSqlReason(raw: unknown, type: string): string {
  if (raw === null || raw === undefined) return 'it is empty';
  if (type === 'VARCHAR' || type === 'JSON') {
    const reading = readInstant(typeof raw === 'string' && type === 'JSON' ? jsonText(raw) : raw);
    if (!reading.ok) return reading.reason;
  }
  return `a ${type} value that is not finite or is outside the range of dates (±${maxInstantMs} ms)`;
}

/** A JSON value's own text (a string unquoted) or number, as the JSON case of instantMsSql reads it. */
function jsonText(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}

/** The accepted column types, for messages. */
export const instantColumnTypes = 'text (VARCHAR), TIMESTAMP, TIMESTAMPTZ, DATE, or integer/floating/decimal epoch milliseconds';

export type RowsFormat = 'csv' | 'parquet' | 'ndjson';

export function rowsFormatOf(path: string): RowsFormat | null {
  const extension = /\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase();
  return extension === 'csv' ? 'csv' : extension === 'parquet' ? 'parquet' : extension === 'ndjson' || extension === 'jsonl' ? 'ndjson' : null;
}

const temporal = /^(DATE|TIME|TIMESTAMP)/;

/**
 * The table function reading a file of rows. With `asOf` (its column and the types the plain reader
 * found), text of that column stays text for instantMsSql to read: DuckDB's CSV and JSON readers
 * would otherwise sniff it into timestamps by their own rules (24:00 is the next day, dates such as
 * 01/02/2026 guessed). Parquet columns are typed by the file.
 */
export function rowsReaderSql(path: string, format: RowsFormat, asOf?: { column: string; sniffed: ReadonlyMap<string, string> }): string {
  const file = sqlString(path);
  switch (format) {
    case 'parquet':
      return `read_parquet(${file})`;
    case 'csv':
      return asOf && asOf.sniffed.has(asOf.column) ? `read_csv(${file}, header = true, types = {${sqlString(asOf.column)}: 'VARCHAR'})` : `read_csv(${file}, header = true)`;
    case 'ndjson': {
      if (!asOf || !temporal.test(asOf.sniffed.get(asOf.column) ?? '')) return `read_json(${file}, format = 'newline_delimited')`;
      const columns = [...asOf.sniffed].map(([name, type]) => `${sqlString(name)}: ${sqlString(name === asOf.column ? 'VARCHAR' : type)}`);
      return `read_json(${file}, format = 'newline_delimited', columns = {${columns.join(', ')}})`;
    }
    default: {
      const unreachable: never = format;
      throw new Error(`unknown rows format ${String(unreachable)}`);
    }
  }
}

/** The asOf column's text as a refusal shows it: a JSON string without its quotes. */
export function instantRawSql(column: string, type: string): string {
  return type === 'JSON' ? `${column} ->> '$'` : `CAST(${column} AS VARCHAR)`;
}
