// The SQL of the Snowflake history store, built apart from the driver so that it can be read and tested
// alone. Every value is bound; the only things spliced in are quoted identifiers (validated) and integers
// of the feature definitions (tile sizes, window lengths). Large inputs (records, entity rows) travel as
// one JSON text bound to `?` and are unpacked by FLATTEN: one round trip per batch instead of one bind
// per value, and no stage (PUT) needed.
//
// Written as Snowflake SQL, and run as such by fakesnow (sqlglot to DuckDB) in the tests. Where fakesnow
// would not follow, the SQL was changed to something both accept, never to fakesnow-only syntax:
// - no `ASOF JOIN ... MATCH_CONDITION`: sqlglot passes MATCH_CONDITION through and DuckDB refuses it.
//   It would not do anyway: Snowflake's ASOF JOIN breaks ties (equal event times) arbitrarily and takes
//   one match condition, where SERVED needs two (eventTime <= asOf and availableTime <= asOf). The
//   as-of lookup is a running MAX over rows and changes in one sequence per key instead (asOfSequence):
//   linear in rows + history, where a join of each row with every earlier change grows with history.
// - no TYPEOF / IS_DOUBLE on VARIANT (fakesnow's TYPEOF says JSON for everything): the store writes, next
//   to each record's values, the numbers (NUMS) and the texts (TEXTS, String(value)) the aggregations
//   read, so that the SQL needs no type tests at all.
import { lateIdSuffix } from '../record-ids.js';
import { ConfigError } from '../../../schema/errors.js';
import type { ResolvedFeature } from '../../../schema/registry.js';
import type { SnowflakeStatement } from '../../sources/snowflake/client.js';
import { quoteIdentifier } from '../../sources/snowflake/sql.js';
import type { HistoryScan, TimeMode } from '../types.js';

/** Columns of the history table, in the order of a RecordTuple. */
export const historyColumns = ['VIEW', 'KEY', 'ID', 'EVENT_TIME', 'AVAILABLE_TIME', 'VALS', 'NUMS', 'TEXTS', 'DELETED'] as const;

/**
 * One row per change. Times are epoch milliseconds as integers (exact comparisons, no session time zone
 * involved); VALS is the values' JSON text as written (it comes back byte for byte); NUMS and TEXTS are
 * derived from it for the aggregations. The primary key is informational on Snowflake (not enforced):
 * idempotence comes from the MERGE. No clustering key is set, since automatic clustering costs credits:
 * on a large history, `ALTER TABLE ... CLUSTER BY ("VIEW", "KEY")` keeps a key's changes in few
 * micro-partitions, which is what point-in-time reads scan.
 */
export function createTableStatement(table: string): SnowflakeStatement {
  return {
    sqlText: `CREATE TABLE IF NOT EXISTS ${table} ("VIEW" VARCHAR NOT NULL, "KEY" VARCHAR NOT NULL, "ID" VARCHAR NOT NULL, "EVENT_TIME" NUMBER(19, 0) NOT NULL, "AVAILABLE_TIME" NUMBER(19, 0) NOT NULL, "VALS" VARCHAR NOT NULL, "NUMS" VARIANT, "TEXTS" VARIANT, "DELETED" BOOLEAN NOT NULL, PRIMARY KEY ("VIEW", "ID"))`,
    binds: [],
  };
}

/** A record as one element of the JSON array that stageRecordsStatement unpacks. */
export type RecordTuple = [view: string, key: string, id: string, eventTime: number, availableTime: number, vals: string, nums: Record<string, number>, texts: Record<string, string>, deleted: boolean];

/** Where one append's records wait for the MERGE: a temporary table of the history's columns and their order. */
export function createStagingStatement(stagingTable: string): SnowflakeStatement {
  return {
    sqlText: `CREATE TEMPORARY TABLE ${stagingTable} ("SEQ" NUMBER(19, 0) NOT NULL, "VIEW" VARCHAR, "KEY" VARCHAR, "ID" VARCHAR, "EVENT_TIME" NUMBER(19, 0), "AVAILABLE_TIME" NUMBER(19, 0), "VALS" VARCHAR, "NUMS" VARIANT, "TEXTS" VARIANT, "DELETED" BOOLEAN)`,
    binds: [],
  };
}

/** Stages records `first`.. of an append, given as one JSON array of RecordTuple. */
export function stageRecordsStatement(stagingTable: string, first: number, recordsJson: string): SnowflakeStatement {
  const unpacked = historyColumns.map((column, i) => {
    const cast = column === 'EVENT_TIME' || column === 'AVAILABLE_TIME' ? 'NUMBER(19, 0)' : column === 'DELETED' ? 'BOOLEAN' : column === 'NUMS' || column === 'TEXTS' ? null : 'VARCHAR';
    return cast === null ? `f.value[${i}]` : `CAST(f.value[${i}] AS ${cast})`;
  });
  return {
    sqlText: `INSERT INTO ${stagingTable} ("SEQ", ${historyColumns.map((c) => `"${c}"`).join(', ')}) SELECT f.index + ${integer('first record', first)}, ${unpacked.join(', ')} FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) f`,
    binds: [recordsJson],
  };
}

/**
 * Appends the staged records, skipping (view, id) pairs already stored or repeated in the append (the
 * first one wins, as in the memory store). A MERGE rather than INSERT ... WHERE NOT EXISTS: Snowflake
 * runs MERGEs on one table one after the other (INSERTs it does not), so two writers replaying the same
 * records cannot both insert them. (The MERGE reads a staging table rather than FLATTEN directly:
 * fakesnow rewrites a MERGE into a join that loses a FLATTEN in its source.)
 */
export function mergeStagedStatement(table: string, stagingTable: string): SnowflakeStatement {
  const columns = historyColumns.map((c) => `"${c}"`).join(', ');
  return {
    sqlText:
      `MERGE INTO ${table} t USING (SELECT ${columns} FROM ${stagingTable} QUALIFY ROW_NUMBER() OVER (PARTITION BY "VIEW", "ID" ORDER BY "SEQ") = 1) s ` +
      `ON t."VIEW" = s."VIEW" AND t."ID" = s."ID" WHEN NOT MATCHED THEN INSERT (${columns}) VALUES (${historyColumns.map((c) => `s."${c}"`).join(', ')})`,
    binds: [],
  };
}

/** One keyset page of a scan, in (EVENT_TIME, ID) order, after the last (eventTime, id) seen. */
export function scanStatement(table: string, scan: HistoryScan, after: readonly [number, string] | null, pageSize: number): SnowflakeStatement {
  const where = ['"VIEW" = ?'];
  const binds: (string | number)[] = [scan.view];
  if (scan.eventTimeTo !== undefined) {
    where.push('"EVENT_TIME" <= ?');
    binds.push(scan.eventTimeTo);
  }
  if (scan.availableTimeTo !== undefined) {
    where.push('"AVAILABLE_TIME" <= ?');
    binds.push(scan.availableTimeTo);
  }
  if (scan.keys !== undefined) {
    where.push('"KEY" IN (SELECT CAST(k.value AS VARCHAR) FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) k)');
    binds.push(JSON.stringify(scan.keys));
  }
  if (after !== null) {
    where.push('("EVENT_TIME" > ? OR ("EVENT_TIME" = ? AND "ID" > ?))');
    binds.push(after[0], after[0], after[1]);
  }
  return {
    sqlText: `SELECT "KEY", "ID", "EVENT_TIME", "AVAILABLE_TIME", "VALS", "DELETED" FROM ${table} WHERE ${where.join(' AND ')} ORDER BY "EVENT_TIME", "ID" LIMIT ${pageSize}`,
    binds,
  };
}

export function countStatement(table: string, view: string): SnowflakeStatement {
  return { sqlText: `SELECT COUNT(*) FROM ${table} WHERE "VIEW" = ?`, binds: [view] };
}

/** The entity rows of one point-in-time read: a temporary table, gone with the session at the latest. */
export function createRowsStatement(rowsTable: string): SnowflakeStatement {
  return { sqlText: `CREATE TEMPORARY TABLE ${rowsTable} ("ROW_NO" NUMBER(10, 0) NOT NULL, "KEY" VARCHAR NOT NULL, "AS_OF" NUMBER(19, 0) NOT NULL)`, binds: [] };
}

/** Rows `first`.. of the read, as a JSON array of [key, asOf]. */
export function insertRowsStatement(rowsTable: string, first: number, rowsJson: string): SnowflakeStatement {
  return {
    sqlText: `INSERT INTO ${rowsTable} ("ROW_NO", "KEY", "AS_OF") SELECT f.index + ${integer('first row', first)}, CAST(f.value[0] AS VARCHAR), CAST(f.value[1] AS NUMBER(19, 0)) FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) f`,
    binds: [rowsJson],
  };
}

/** Drops a temporary table (rows of a read, records of an append). */
export function dropTemporaryStatement(name: string): SnowflakeStatement {
  return { sqlText: `DROP TABLE IF EXISTS ${name}`, binds: [] };
}

function integer(what: string, value: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer, got ${value}`);
  return String(value);
}

/**
 * Where a change sits in the order in which changes become visible as asOf grows: it is visible at asOf
 * exactly when this is <= asOf. EVENT_TIME: its eventTime; SERVED: the later of eventTime and
 * availableTime (visible when both are <= asOf).
 */
function visibleFrom(mode: TimeMode): string {
  return mode === 'SERVED' ? 'GREATEST("EVENT_TIME", "AVAILABLE_TIME")' : '"EVENT_TIME"';
}

/** The reference's order of a column view's changes of a key (eventTime, availableTime, id) as one number. */
const seqColumn = 'ROW_NUMBER() OVER (PARTITION BY "KEY" ORDER BY "EVENT_TIME", "AVAILABLE_TIME", "ID") AS "SEQ"';
/** The reference's order of a windowed view's events of a key (eventTime, id: partition then offset) as one number. */
const eventSeqColumn = 'ROW_NUMBER() OVER (PARTITION BY "KEY" ORDER BY "EVENT_TIME", "ID") AS "SEQ"';

/**
 * The as-of lookup without a join of every row with every earlier change (which grows with history):
 * rows and changes in one sequence per key, ordered by where each becomes visible (changes before rows
 * at the same instant), and running maxima over it: at a row, they cover exactly the changes visible at
 * its asOf. `running` maps an alias to the carried column whose running MAX it is. An ASOF JOIN would
 * find one latest change, but breaks ties arbitrarily and takes a single match condition (SERVED needs
 * two); fakesnow cannot run it anyway (sqlglot passes MATCH_CONDITION to DuckDB, which refuses it).
 */
function asOfSequence(rowsTable: string, mode: TimeMode, carried: readonly string[], running: Readonly<Record<string, string>>): string {
  const nulls = carried.map(() => 'NULL').join(', ');
  const frame = 'OVER (PARTITION BY "KEY" ORDER BY "POS", "KIND" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)';
  return (
    `u AS (SELECT "KEY", ${visibleFrom(mode)} AS "POS", 0 AS "KIND", ${carried.map((c) => `"${c}"`).join(', ')}, NULL AS "ROW_NO" FROM h ` +
    `UNION ALL SELECT "KEY", "AS_OF", 1, ${nulls}, "ROW_NO" FROM ${rowsTable}), ` +
    `s AS (SELECT "KEY", "KIND", "ROW_NO", ${Object.entries(running)
      .map(([alias, column]) => `MAX("${column}") ${frame} AS "${alias}"`)
      .join(', ')} FROM u)`
  );
}

/** SERVED's order of a column view's changes of a key (availableTime, id: the order the online store made them) as one number. */
const appliedSeqColumn = 'ROW_NUMBER() OVER (PARTITION BY "KEY" ORDER BY "AVAILABLE_TIME", "ID") AS "SEQ"';

/**
 * A column view at each row's asOf (point-in-time.ts columnSnapshotAt), unless it is a delete: EVENT_TIME,
 * the latest visible fact (later eventTime, then later availableTime, then greater id); SERVED, the last
 * change the online store made (later availableTime, then greater id; late changes left out). Either way
 * the greatest SEQ among the visible changes. Rows without one are not returned. Columns: ROW_NO,
 * EVENT_TIME, AVAILABLE_TIME, VALS.
 */
export function columnReadStatement(table: string, rowsTable: string, view: string, mode: TimeMode): SnowflakeStatement {
  const served = mode === 'SERVED';
  return {
    sqlText:
      `WITH h AS (SELECT "KEY", "EVENT_TIME", "AVAILABLE_TIME", "VALS", "DELETED", ${served ? appliedSeqColumn : seqColumn} FROM ${table} WHERE "VIEW" = ? AND "KEY" IN (SELECT "KEY" FROM ${rowsTable})${served ? ` AND NOT ENDSWITH("ID", '${lateIdSuffix}')` : ''}), ` +
      `${asOfSequence(rowsTable, mode, ['SEQ'], { LATEST: 'SEQ' })} ` +
      `SELECT s."ROW_NO", h."EVENT_TIME", h."AVAILABLE_TIME", h."VALS" FROM s JOIN h ON h."KEY" = s."KEY" AND h."SEQ" = s."LATEST" WHERE s."KIND" = 1 AND NOT h."DELETED"`,
    binds: [view],
  };
}

/** What each windowed feature's aggregate columns are, in select order after the three leading ones. */
export type WindowColumns = { feature: ResolvedFeature; kind: 'count' | 'sum' | 'avg' | 'min' | 'max' | 'last' | 'distinctCount' };

/**
 * When a window's SUM is exact whatever the order of addition: every partial sum is a double exactly.
 * Multiples of 2^-20 (quarters, halves, integers) whose absolute values add up to at most 2^32 need at
 * most 52 significant bits; so do integers adding up to at most 2^52.
 */
function exactSum(inWindow: string, number: string): string {
  const all = (condition: string) => `COUNT(CASE WHEN ${inWindow} AND NOT (${condition}) THEN 1 END) = 0`;
  const magnitude = `COALESCE(SUM(CASE WHEN ${inWindow} THEN ABS(${number}) END), 0)`;
  return `(${all(`${number} = FLOOR(${number})`)} AND ${magnitude} <= 4503599627370496 OR ${all(`${number} * 1048576 = FLOOR(${number} * 1048576)`)} AND ${magnitude} <= 4294967296)`;
}

/**
 * NULL when the window's SUM is exact (exactSum); otherwise the addends in the reference's order (the
 * key's change order), each with its tile: [tile, value] pairs, so that the caller adds them tile by
 * tile exactly as schema/windows.ts does. A float sum depends on the order of addition, which SQL does
 * not promise; this keeps sums and averages bit-for-bit equal to the reference, at the price of
 * shipping a window's addends when they are fractions like 0.1. (Snowflake's ARRAY_AGG skips NULLs;
 * fakesnow's keeps them, and the caller skips them.)
 */
function addendsUnlessExact(inWindow: string, number: string, tileMs: number): string {
  const addends = `ARRAY_AGG(CASE WHEN ${inWindow} AND ${number} IS NOT NULL THEN ARRAY_CONSTRUCT(FLOOR(h."EVENT_TIME" / ${tileMs}), ${number}) END) WITHIN GROUP (ORDER BY h."SEQ")`;
  return `CASE WHEN ${exactSum(inWindow, number)} THEN NULL ELSE ${addends} END`;
}

/** `h."NUM_0"`: the column of the changes subquery that holds one event field; its select goes into `into` on first use. */
function extracted(into: Map<string, { alias: string; select: string }>, prefix: string, variant: string, type: string, field: string): string {
  let column = into.get(field);
  if (column === undefined) {
    const alias = `"${prefix}_${into.size}"`;
    column = { alias, select: `CAST("${variant}"['${field}'] AS ${type}) AS ${alias}` };
    into.set(field, column);
  }
  return `h.${column.alias}`;
}

const eventFieldPattern = /^[A-Za-z_][A-Za-z0-9_$]*$/;

function eventField(feature: ResolvedFeature): string {
  const field = feature.def.kind === 'windowed' ? feature.def.field : undefined;
  if (field === undefined || !eventFieldPattern.test(field)) {
    throw new ConfigError(`snowflake history store: windowed feature "${feature.name}" must read an event field matching ${eventFieldPattern}, got ${JSON.stringify(field)}`);
  }
  return field;
}

/**
 * A windowed view at each row's asOf, by the tile math of schema/windows.ts: an event counts for a
 * feature when it is visible and its tile is one of the window's n tiles ending with asOf's, i.e.
 * eventTime >= (floor(asOf / tile) - n + 1) * tile. One aggregate per feature over a range join bounded
 * by the widest window; the newest visible event and the latest availableTime from the as-of sequence
 * (which an empty window does not empty). One result row per entity row that has any visible event.
 * Columns: ROW_NO, EVENT_TIME (the newest visible event: what ttl is measured from), AVAILABLE_TIME
 * (the latest of the visible events), then per feature (NULL where the window holds no event): count ->
 * COUNT; min, max -> the aggregate (NULL: no number); sum -> SUM and its addends unless exact (see
 * addendsUnlessExact); avg -> SUM, COUNT, addends unless exact; last -> VALS of the latest event in the
 * window with a value; distinctCount -> COUNT(DISTINCT text).
 */
export function windowReadStatement(
  table: string,
  rowsTable: string,
  view: string,
  mode: TimeMode,
  features: readonly ResolvedFeature[],
  options: { exactSums: boolean } = { exactSums: true },
): { statement: SnowflakeStatement; columns: WindowColumns[] } {
  // Without exact sums the addends column is a NULL: the reader takes the warehouse's SUM.
  const addends = (inWindow: string, number: string, tileMs: number) => (options.exactSums ? addendsUnlessExact(inWindow, number, tileMs) : 'NULL');
  const columns: WindowColumns[] = [];
  const selects: string[] = [];
  let needsSeq = false;
  let needsVals = false;
  const windowStarts: string[] = [];
  // Each event field is read out of its VARIANT once, in the changes subquery, however many aggregates use it.
  const numbers = new Map<string, { alias: string; select: string }>();
  const texts = new Map<string, { alias: string; select: string }>();
  for (const feature of features) {
    const spec = feature.window;
    if (spec === null) throw new ConfigError(`snowflake history store: feature "${feature.name}" of windowed view "${view}" has no window`);
    const tiles = spec.windowMs / spec.tileMs;
    const start = `(FLOOR(r."AS_OF" / ${integer('tile size', spec.tileMs)}) - ${integer('tiles per window', tiles)} + 1) * ${spec.tileMs}`;
    windowStarts.push(start);
    const inWindow = `h."EVENT_TIME" >= ${start}`;
    const number = () => extracted(numbers, 'NUM', 'NUMS', 'DOUBLE', eventField(feature));
    const text = () => extracted(texts, 'TEXT', 'TEXTS', 'VARCHAR', eventField(feature));
    switch (spec.fn) {
      case 'count':
        selects.push(`COUNT(CASE WHEN ${inWindow} THEN 1 END)`);
        break;
      case 'sum':
        needsSeq ||= options.exactSums;
        selects.push(`SUM(CASE WHEN ${inWindow} THEN ${number()} END)`, addends(inWindow, number(), spec.tileMs));
        break;
      case 'avg':
        needsSeq ||= options.exactSums;
        selects.push(`SUM(CASE WHEN ${inWindow} THEN ${number()} END)`, `COUNT(CASE WHEN ${inWindow} THEN ${number()} END)`, addends(inWindow, number(), spec.tileMs));
        break;
      case 'min':
        selects.push(`MIN(CASE WHEN ${inWindow} THEN ${number()} END)`);
        break;
      case 'max':
        selects.push(`MAX(CASE WHEN ${inWindow} THEN ${number()} END)`);
        break;
      case 'last':
        needsSeq = true;
        needsVals = true;
        // MAX_BY skips rows whose ordering value is NULL: events out of the window or without a value.
        selects.push(`MAX_BY(h."VALS", CASE WHEN ${inWindow} AND ${text()} IS NOT NULL THEN h."SEQ" END)`);
        break;
      case 'distinctCount':
        selects.push(`COUNT(DISTINCT CASE WHEN ${inWindow} THEN ${text()} END)`);
        break;
      default: {
        const unreachable: never = spec.fn;
        throw new Error(`unknown aggregation ${String(unreachable)}`);
      }
    }
    columns.push({ feature, kind: spec.fn });
  }
  // SEQ orders `last` (a MAX_BY) and the addends; only the changes of keys that are asked for are numbered.
  const fields = [...numbers.values(), ...texts.values()].map((column) => `, ${column.select}`).join('');
  const changes = `h AS (SELECT "KEY", "EVENT_TIME", "AVAILABLE_TIME"${needsVals ? ', "VALS"' : ''}${fields}${needsSeq ? `, ${eventSeqColumn}` : ''} FROM ${table} WHERE "VIEW" = ? AND "KEY" IN (SELECT "KEY" FROM ${rowsTable}))`;
  // The newest visible event and the latest availableTime come from the as-of sequence; the aggregates
  // from a range join bounded by the widest window (events before it count for no feature).
  const snapshot = asOfSequence(rowsTable, mode, ['EVENT_TIME', 'AVAILABLE_TIME'], { LAST_EVENT: 'EVENT_TIME', LAST_AVAILABLE: 'AVAILABLE_TIME' });
  const starts = [...new Set(windowStarts)];
  const widest = starts.length === 1 ? (starts[0] as string) : `LEAST(${starts.join(', ')})`;
  const served = mode === 'SERVED' ? ' AND h."AVAILABLE_TIME" <= r."AS_OF"' : '';
  const aliases = selects.map((_, i) => `"AGG_${i}"`);
  const aggregates =
    selects.length === 0
      ? ''
      : `, a AS (SELECT r."ROW_NO", ${selects.map((select, i) => `${select} AS ${aliases[i]}`).join(', ')} FROM ${rowsTable} r JOIN h ON h."KEY" = r."KEY" AND h."EVENT_TIME" <= r."AS_OF"${served} AND h."EVENT_TIME" >= ${widest} GROUP BY r."ROW_NO")`;
  const joined = selects.length === 0 ? '' : ' LEFT JOIN a ON a."ROW_NO" = s."ROW_NO"';
  return {
    statement: {
      sqlText:
        `WITH ${changes}, ${snapshot}${aggregates} ` +
        `SELECT s."ROW_NO", s."LAST_EVENT", s."LAST_AVAILABLE"${aliases.map((alias) => `, a.${alias}`).join('')} FROM s${joined} WHERE s."KIND" = 1 AND s."LAST_EVENT" IS NOT NULL`,
      binds: [view],
    },
    columns,
  };
}

/**
 * The table of watermark changes beside a history table (quoted, as quoteTableName gives it): its name
 * with `_WATERMARKS` appended, in the same schema.
 */
export function watermarksTableOf(table: string): string {
  return `${table.slice(0, -1)}_WATERMARKS"`;
}

/** One row per watermark change of a view, as the online store made it; (VIEW, AT) is unique by the MERGE, as in the history table. */
export function createWatermarksTableStatement(table: string): SnowflakeStatement {
  return { sqlText: `CREATE TABLE IF NOT EXISTS ${table} ("VIEW" VARCHAR NOT NULL, "AT" NUMBER(19, 0) NOT NULL, "WATERMARK" NUMBER(19, 0) NOT NULL, PRIMARY KEY ("VIEW", "AT"))`, binds: [] };
}

/** Where one watermark append waits for its MERGE (as createStagingStatement's, for the reason mergeStagedStatement gives). */
export function createWatermarkStagingStatement(stagingTable: string): SnowflakeStatement {
  return { sqlText: `CREATE TEMPORARY TABLE ${stagingTable} ("SEQ" NUMBER(19, 0) NOT NULL, "VIEW" VARCHAR, "AT" NUMBER(19, 0), "WATERMARK" NUMBER(19, 0))`, binds: [] };
}

/** Stages changes `first`.. of a watermark append, given as one JSON array of [view, at, watermark]. */
export function stageWatermarksStatement(stagingTable: string, first: number, changesJson: string): SnowflakeStatement {
  return {
    sqlText: `INSERT INTO ${stagingTable} ("SEQ", "VIEW", "AT", "WATERMARK") SELECT f.index + ${integer('first change', first)}, CAST(f.value[0] AS VARCHAR), CAST(f.value[1] AS NUMBER(19, 0)), CAST(f.value[2] AS NUMBER(19, 0)) FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) f`,
    binds: [changesJson],
  };
}

/** Appends the staged watermark changes, skipping (view, at) pairs already stored or repeated (the first one wins). */
export function mergeStagedWatermarksStatement(table: string, stagingTable: string): SnowflakeStatement {
  return {
    sqlText:
      `MERGE INTO ${table} t USING (SELECT "VIEW", "AT", "WATERMARK" FROM ${stagingTable} QUALIFY ROW_NUMBER() OVER (PARTITION BY "VIEW", "AT" ORDER BY "SEQ") = 1) s ` +
      `ON t."VIEW" = s."VIEW" AND t."AT" = s."AT" WHEN NOT MATCHED THEN INSERT ("VIEW", "AT", "WATERMARK") VALUES (s."VIEW", s."AT", s."WATERMARK")`,
    binds: [],
  };
}

/**
 * The watermark of each view (a JSON array of names) at each row's asOf, for SERVED reads: its change
 * with the greatest AT <= asOf (point-in-time.ts watermarkAt), by the running maximum of asOfSequence
 * (AT grows with every change of a view). Rows before a view's first change are not returned.
 * Columns: VIEW, ROW_NO, WATERMARK.
 */
export function watermarksReadStatement(table: string, rowsTable: string, viewsJson: string): SnowflakeStatement {
  const frame = 'OVER (PARTITION BY "VIEW" ORDER BY "POS", "KIND" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)';
  return {
    sqlText:
      `WITH v AS (SELECT CAST(f.value AS VARCHAR) AS "VIEW" FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) f), ` +
      `w AS (SELECT "VIEW", "AT", "WATERMARK" FROM ${table} WHERE "VIEW" IN (SELECT "VIEW" FROM v) AND "AT" <= (SELECT MAX("AS_OF") FROM ${rowsTable})), ` +
      `u AS (SELECT "VIEW", "AT" AS "POS", 0 AS "KIND", "AT", NULL AS "ROW_NO" FROM w UNION ALL SELECT v."VIEW", r."AS_OF", 1, NULL, r."ROW_NO" FROM ${rowsTable} r CROSS JOIN v), ` +
      `s AS (SELECT "VIEW", "KIND", "ROW_NO", MAX("AT") ${frame} AS "LATEST" FROM u) ` +
      `SELECT s."VIEW", s."ROW_NO", w."WATERMARK" FROM s JOIN w ON w."VIEW" = s."VIEW" AND w."AT" = s."LATEST" WHERE s."KIND" = 1`,
    binds: [viewsJson],
  };
}

/** A table name for config (`TABLE`, `SCHEMA.TABLE` or `DATABASE.SCHEMA.TABLE`), quoted. */
export { quoteTableName } from '../../sources/snowflake/sql.js';
export { quoteIdentifier };
