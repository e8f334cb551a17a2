// Conversions between DuckDB values and the plain values rows carry (numbers, strings, booleans,
// arrays, null). Converters are chosen once per result column from its type, so the per-value work in
// the read loop is a direct call (identity for DOUBLE, VARCHAR, BOOLEAN: the common feature types).
import { readInstantText } from '../../../schema/instant.js';
import {
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBArrayValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  listValue,
  BIGINT,
  DATE,
  DOUBLE,
  TIMESTAMP,
  TIMESTAMPTZ,
  TIMESTAMP_MS,
  TIMESTAMP_NS,
  TIMESTAMP_S,
  type DuckDBAppender,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { EmbeddedSqlError } from './sql.js';

/** A value a row carries out of the embedded source. */
export type PlainValue = number | string | boolean | null | PlainValue[];

/** A value that can be bound as a parameter or inserted with insertRows. Dates become timestamps. */
export type SqlValue = number | string | boolean | bigint | Date | null | undefined | readonly SqlValue[];

const DAY_MS = 86_400_000;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

function bigToNumber(value: bigint): number | string {
  // Out of the double-exact range the digits matter more than the type: keep them as a string.
  return value > MAX_SAFE || value < MIN_SAFE ? value.toString() : Number(value);
}

function isoOfMs(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

export type ValueConverter = (value: DuckDBValue) => PlainValue;

const identity: ValueConverter = (value) => value as PlainValue;

/** The column types whose values @duckdb/node-api hands over as JS numbers. */
const numberTypes: ReadonlySet<DuckDBTypeId> = new Set([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
]);

/** How one result column's values become plain values. */
export function converterFor(type: DuckDBType): ValueConverter {
  if (numberTypes.has(type.typeId)) return identity;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.VARCHAR:
      return identity;
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return (value) => (typeof value === 'bigint' ? bigToNumber(value) : (value as PlainValue));
    case DuckDBTypeId.DECIMAL:
      return (value) => (value instanceof DuckDBDecimalValue ? value.toDouble() : (value as PlainValue));
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const item = converterFor(type.valueType);
      return (value) => (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue ? value.items.map(item) : value === null ? null : String(value));
    }
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.DATE: {
      // Timestamps as feature values: ISO-8601 strings (a String feature), never an engine object.
      const ms = eventTimeReader(type);
      return (value) => (value === null ? null : isoOfMs(ms(value)));
    }
    default:
      return (value) => (value === null ? null : String(value));
  }
}

/** Epoch ms of an event-time value, for every column type an event time may have. */
export function eventTimeReader(type: DuckDBType): (value: DuckDBValue) => number {
  if (numberTypes.has(type.typeId)) return (value) => value as number;
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
      return (value) => Number(value as bigint);
    case DuckDBTypeId.DECIMAL:
      return (value) => (value as DuckDBDecimalValue).toDouble();
    case DuckDBTypeId.TIMESTAMP:
      return (value) => Number((value as DuckDBTimestampValue).micros / 1000n);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return (value) => Number((value as DuckDBTimestampTZValue).micros / 1000n);
    case DuckDBTypeId.TIMESTAMP_MS:
      return (value) => Number((value as DuckDBTimestampMillisecondsValue).millis);
    case DuckDBTypeId.TIMESTAMP_S:
      return (value) => Number((value as DuckDBTimestampSecondsValue).seconds) * 1000;
    case DuckDBTypeId.TIMESTAMP_NS:
      return (value) => Number((value as DuckDBTimestampNanosecondsValue).nanos / 1_000_000n);
    case DuckDBTypeId.DATE:
      return (value) => (value as DuckDBDateValue).days * DAY_MS;
    default:
      throw new EmbeddedSqlError(`an event-time column must be a timestamp, a date or epoch milliseconds (a number); it is ${type.toString()}`);
  }
}

function clampBig(value: bigint): bigint {
  const max = 9_223_372_036_854_775_806n;
  return value > max ? max : value < -max ? -max : value;
}

/**
 * An epoch-ms bound as a parameter of the event-time column's own type, so that the comparison runs
 * on the stored values (no cast of the column, which would defeat DuckDB's min/max pruning). Coarser
 * types round down: `col > floor(since)` and `col <= floor(until)` select exactly the rows whose
 * event time in ms is > since and <= until.
 */
export function eventTimeBound(type: DuckDBType, ms: number): { value: DuckDBValue; type: DuckDBType } {
  const whole = BigInt(Math.floor(ms));
  switch (type.typeId) {
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.DECIMAL:
      return { value: ms, type: DOUBLE };
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
      return { value: whole, type: BIGINT };
    case DuckDBTypeId.TIMESTAMP:
      return { value: new DuckDBTimestampValue(clampBig(whole * 1000n)), type: TIMESTAMP };
    case DuckDBTypeId.TIMESTAMP_TZ:
      return { value: new DuckDBTimestampTZValue(clampBig(whole * 1000n)), type: TIMESTAMPTZ };
    case DuckDBTypeId.TIMESTAMP_MS:
      return { value: new DuckDBTimestampMillisecondsValue(whole), type: TIMESTAMP_MS };
    case DuckDBTypeId.TIMESTAMP_S:
      return { value: new DuckDBTimestampSecondsValue(BigInt(Math.floor(ms / 1000))), type: TIMESTAMP_S };
    case DuckDBTypeId.TIMESTAMP_NS:
      return { value: new DuckDBTimestampNanosecondsValue(clampBig(whole * 1_000_000n)), type: TIMESTAMP_NS };
    case DuckDBTypeId.DATE:
      return { value: new DuckDBDateValue(Math.max(-2_000_000_000, Math.min(2_000_000_000, Math.floor(ms / DAY_MS)))), type: DATE };
    default:
      // eventTimeReader has already refused every other type.
      throw new EmbeddedSqlError(`cannot compare event times of type ${type.toString()}`);
  }
}

function msOf(value: SqlValue): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') {
    const reading = readInstantText(value);
    if (reading.ok) return reading.ms;
  }
  throw new EmbeddedSqlError(`${JSON.stringify(String(value))} is not a time (a Date, epoch milliseconds or an ISO-8601 string)`);
}

/** A parameter value for DuckDB: Dates become TIMESTAMP, arrays LIST. */
export function toParameter(value: SqlValue): DuckDBValue {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return new DuckDBTimestampValue(BigInt(value.getTime()) * 1000n);
  if (Array.isArray(value)) return listValue((value as readonly SqlValue[]).map(toParameter));
  return value as DuckDBValue;
}

/** Appends one value to the appender's current row, converted to the column's type. */
export type ColumnAppender = (appender: DuckDBAppender, value: SqlValue) => void;

function integral(value: SqlValue): bigint {
  if (typeof value === 'bigint') return value;
  if (value instanceof Date) return BigInt(value.getTime());
  const n = Number(value);
  if (!Number.isInteger(n)) throw new EmbeddedSqlError(`${JSON.stringify(String(value))} is not an integer`);
  return BigInt(n);
}

/** The appender call for a column of `type`; the fast calls for the common types, appendValue otherwise. */
export function appenderFor(type: DuckDBType): ColumnAppender {
  const orNull = (append: ColumnAppender): ColumnAppender => (appender, value) => {
    if (value === null || value === undefined) appender.appendNull();
    else append(appender, value);
  };
  switch (type.typeId) {
    case DuckDBTypeId.DOUBLE:
      return orNull((a, v) => a.appendDouble(Number(v)));
    case DuckDBTypeId.FLOAT:
      return orNull((a, v) => a.appendFloat(Number(v)));
    case DuckDBTypeId.VARCHAR:
      return orNull((a, v) => a.appendVarchar(v instanceof Date ? v.toISOString() : String(v)));
    case DuckDBTypeId.BOOLEAN:
      return orNull((a, v) => a.appendBoolean(typeof v === 'string' ? v === 'true' : Boolean(v)));
    case DuckDBTypeId.INTEGER:
      return orNull((a, v) => a.appendInteger(Number(integral(v))));
    case DuckDBTypeId.BIGINT:
      return orNull((a, v) => a.appendBigInt(integral(v)));
    case DuckDBTypeId.TIMESTAMP:
      return orNull((a, v) => a.appendTimestamp(new DuckDBTimestampValue(BigInt(Math.round(msOf(v))) * 1000n)));
    case DuckDBTypeId.TIMESTAMP_TZ:
      return orNull((a, v) => a.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt(Math.round(msOf(v))) * 1000n)));
    case DuckDBTypeId.TIMESTAMP_MS:
      return orNull((a, v) => a.appendTimestampMilliseconds(new DuckDBTimestampMillisecondsValue(BigInt(Math.round(msOf(v))))));
    case DuckDBTypeId.DATE:
      return orNull((a, v) => a.appendDate(new DuckDBDateValue(Math.floor(msOf(v) / DAY_MS))));
    case DuckDBTypeId.LIST: {
      const listType = type;
      return orNull((a, v) => {
        if (!Array.isArray(v)) throw new EmbeddedSqlError(`${JSON.stringify(String(v))} is not a list`);
        a.appendList((v as readonly SqlValue[]).map(toParameter), listType);
      });
    }
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
      // DuckDB's appender casts to the column's type (and refuses out-of-range values).
      return orNull((a, v) => a.appendBigInt(integral(v)));
    case DuckDBTypeId.DECIMAL:
      return orNull((a, v) => (typeof v === 'string' ? a.appendVarchar(v) : a.appendDouble(Number(v))));
    default:
      // Anything else: scalars go in as text, which the appender casts to the column's type.
      return orNull((a, v) => {
        if (Array.isArray(v)) a.appendValue(toParameter(v), type);
        else a.appendVarchar(v instanceof Date ? v.toISOString() : String(v));
      });
  }
}
