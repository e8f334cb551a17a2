// exportTrainingSet of the embedded store: the rows file is read by DuckDB (read_csv / read_parquet),
// every view's features are joined on by the SQL of reads.ts in their final form (null where MISSING
// or EXPIRED, or where the value does not fit the feature's type: schema/value-rules.ts), and the
// result is COPied to Parquet in the rows' order. Nothing passes through JavaScript but the
// statements, unless a view holds changes its typed columns do not render (values of another type
// than their feature's or field's): then the result waits in a table, the rows that read such
// changes are read again by readAsOf (exact) and patched, and the table is COPied.
import { quoteIdentifier, type EmbeddedSql } from '../../sources/embedded/index.js';
import { instantColumnTypes, instantMsSql, instantRawSql, instantSqlReason, rowsFormatOf, rowsReaderSql, type RowsFormat } from '../../sources/embedded/instant-sql.js';
import { futureRefusal, instantRefusal } from '../../../schema/instant.js';
import { FeaturegraphError } from '../../../schema/errors.js';
import type { ResolvedFeature, ResolvedView } from '../../../schema/registry.js';
import type { FeatureRead } from '../../../schema/snapshot.js';
import type { FeatureType, FeatureValue } from '../../../schema/types.js';
import { exportedValue, intRange } from '../../../schema/value-rules.js';
import type { PointInTimeRow, TrainingSetExport } from '../types.js';
import { columnOf, layoutTable, type ViewLayout } from './layout.js';
import { asOfProbe, columnAsOfJoin, columnValueSql, liveSql, viewValuesSql } from './reads.js';

const sqlString = (text: string): string => `'${text.replaceAll("'", "''")}'`;

function badInput(message: string): FeaturegraphError {
  return new FeaturegraphError('BAD_USER_INPUT', `embedded history store: exportTrainingSet: ${message}`);
}

function formatOf(path: string): RowsFormat {
  const format = rowsFormatOf(path);
  if (format !== 'csv' && format !== 'parquet') throw badInput(`rows.path must be a .csv or .parquet file, got ${JSON.stringify(path)}`);
  return format;
}

/**
 * The row to refuse, once a scan found some asOf the rule refuses or one after `now`: named, with
 * its value. (Done here, before any join reads the rows: DuckDB would otherwise surface its own cast
 * error, or read the future.)
 */
async function instantRefusalOf(db: EmbeddedSql, reader: string, asOf: string, type: string, ms: string, now: number): Promise<FeaturegraphError> {
  const rows = `SELECT row_number() OVER () AS fg_row_no, ${ms} AS fg_ms, ${instantRawSql(asOf, type)} AS fg_raw FROM ${reader}`;
  const [bad] = await db.query(`SELECT fg_row_no, fg_raw, fg_ms FROM (${rows}) WHERE fg_ms IS NULL OR fg_ms > ? ORDER BY fg_row_no LIMIT 1`, [now]);
  const where = `row ${String(bad?.fg_row_no)}: asOf`;
  const error = bad?.fg_ms === null ? instantRefusal(where, bad.fg_raw, instantSqlReason(bad.fg_raw, type)) : futureRefusal(Number(bad?.fg_ms), now, where);
  return badInput(error.message);
}

let exports = 0;

/**
 * schema/value-rules.ts's rule in SQL, over a feature's value as the joins compute it: null where it
 * does not fit the feature's type, in the column type of its type (the generic export's too). Values
 * read from the typed columns have their type already (layout.ts; the others are inexact, and patched
 * below by exportedValue), and JSON holds no NaN, ±Infinity nor -0; what is left to check is an Int's
 * range and wholeness (a change past 2^31, a sum or min or max declared Int) and a Float aggregate
 * that overflowed.
 */
function typedValueSql(type: FeatureType, value: string): string {
  switch (type) {
    case 'Int':
      return `CASE WHEN ${value} BETWEEN ${intRange.min} AND ${intRange.max} AND ${value} = trunc(${value}) THEN CAST(${value} AS BIGINT) END`;
    case 'Float':
      return `CASE WHEN isfinite(${value}) THEN CAST(${value} AS DOUBLE) END`;
    default:
      return value;
  }
}

const patchBatch = 10_000;

/** Reads rows the exact way (readAsOf), for the rows whose changes the typed columns do not render. */
export type ExactReads = (rows: readonly PointInTimeRow[]) => Promise<FeatureRead[][]>;

/**
 * Exports `spec`: `layouts` are the typed layouts of its views, `tieFree` the views whose tables hold no
 * two changes of one key at one event time (their EVENT_TIME join needs no tie-breaking).
 */
export async function exportTrainingSetSql(db: EmbeddedSql, spec: TrainingSetExport, layouts: ReadonlyMap<ResolvedView, ViewLayout>, tieFree: ReadonlySet<ResolvedView>, exactReads: ExactReads): Promise<{ rows: number }> {
  const input = `fg_export_${++exports}`;
  const format = formatOf(spec.rows.path);
  const describe = async (from: string) => new Map((await db.query(`DESCRIBE SELECT * FROM ${from}`)).map((row) => [String(row.column_name), String(row.column_type)]));
  const columns = await describe(rowsReaderSql(spec.rows.path, format));
  const keyType = columns.get(spec.rows.keyColumn);
  if (keyType === undefined) throw badInput(`the rows file has no key column ${JSON.stringify(spec.rows.keyColumn)}; it has ${[...columns.keys()].join(', ')}`);
  if (!columns.has(spec.rows.asOfColumn)) throw badInput(`the rows file has no asOf column ${JSON.stringify(spec.rows.asOfColumn)}; it has ${[...columns.keys()].join(', ')}`);
  // The asOf column as the file holds it (CSV text stays text), read by the one rule.
  const read = rowsReaderSql(spec.rows.path, format, { column: spec.rows.asOfColumn, sniffed: columns });
  const asOfType = (await describe(read)).get(spec.rows.asOfColumn) as string;
  for (const feature of spec.query.features) {
    if (columns.has(feature.name)) throw badInput(`the rows file has a column named like the feature ${feature.name}`);
  }
  const key = quoteIdentifier(spec.rows.keyColumn, 'key column');
  const asOf = quoteIdentifier(spec.rows.asOfColumn, 'asOf column');
  const ms = instantMsSql(asOf, asOfType);
  if (ms === null) throw badInput(`the asOf column is ${asOfType}; it must hold ${instantColumnTypes}`);
  const now = spec.now ?? Date.now();
  const [counts] = await db.query(`SELECT count(*) AS n, count(*) FILTER (WHERE ${key} IS NULL) AS unusable, count(*) FILTER (WHERE fg_ms IS NULL OR fg_ms > ?) AS refused FROM (SELECT ${key}, ${ms} AS fg_ms FROM ${read})`, [now]);
  if (Number(counts?.refused ?? 0) > 0) throw await instantRefusalOf(db, read, asOf, asOfType, ms, now);
  const total = Number(counts?.n ?? 0);
  if (Number(counts?.unusable ?? 0) > 0) throw badInput(`${String(counts?.unusable)} of ${total} rows have no key`);
  spec.onProgress?.(0, total);
  // Column views in EVENT_TIME join straight onto the rows as they are read (what the bare ASOF JOIN
  // does); other views are range joins over the rows, which are then kept in a temporary table.
  const direct = (layout: ViewLayout) => !layout.windowed && spec.query.mode === 'EVENT_TIME';
  // The probe of the tie-breaking join, only where a view needs it.
  const probe = [...layouts].some(([view, layout]) => direct(layout) && !tieFree.has(view)) ? `, ${asOfProbe(ms)} AS fg_probe` : '';
  const rowsSql = `SELECT row_number() OVER () AS fg_row_no, CAST(${key} AS VARCHAR) AS fg_key, ${ms} AS fg_as_of${probe}, * FROM ${read}`;
  const kept = ![...layouts.values()].every(direct);
  const on = { key: 'i.fg_key', asOf: 'i.fg_as_of', probe: 'i.fg_probe', keys: kept ? `SELECT fg_key FROM ${input}` : `SELECT CAST(${key} AS VARCHAR) FROM ${read}` };
  if (kept) await db.exec(`CREATE TEMP TABLE ${input} AS ${rowsSql}`);
  try {
    const rows = `(SELECT fg_row_no AS row_no, fg_key AS key, fg_as_of AS as_of FROM ${input})`;
    const joins: string[] = [];
    const selected = new Map<ResolvedFeature, string>();
    let v = 0;
    for (const [view, layout] of layouts) {
      const features = spec.query.features.filter((feature) => feature.view === view);
      const alias = `v${v++}`;
      const names = features.map((feature) => quoteIdentifier(feature.name, 'feature'));
      if (direct(layout)) {
        joins.push(columnAsOfJoin(layout, alias, on, tieFree.has(view)));
        const live = liveSql(view, 'i.fg_as_of', `${alias}.event_time`);
        features.forEach((feature) => selected.set(feature, columnValueSql(alias, live, columnOf(layout, feature) as string)));
      } else {
        joins.push(`LEFT JOIN (${viewValuesSql(view, layout, features, spec.query.mode, rows, names, tieFree.has(view))}) ${alias} ON ${alias}.row_no = i.fg_row_no`);
        features.forEach((feature, f) => selected.set(feature, `${alias}.${names[f] as string}`));
      }
    }
    // Features in the query's order, whichever view holds them.
    const ordered = spec.query.features.map((feature) => `${typedValueSql(feature.type, selected.get(feature) as string)} AS ${quoteIdentifier(feature.name, 'feature')}`);
    // Request-time inputs ride along under their own names, whatever they are.
    const others = [...columns.keys()].filter((name) => name !== spec.rows.keyColumn && name !== spec.rows.asOfColumn).map((name) => `i."${name.replaceAll('"', '""')}"`);
    const head = [`i.${key}`, `epoch_ms(i.fg_as_of) AS ${asOf}`, ...others, ...ordered];
    const body = `SELECT ${head.join(', ')} FROM ${kept ? input : `(${rowsSql})`} i ${joins.join(' ')}`;
    if (!(await anyInexact(db, layouts))) {
      await db.exec(`COPY (${body} ORDER BY i.fg_row_no) TO ${sqlString(spec.out)} (FORMAT parquet)`);
    } else {
      const exact = [...layouts.keys()].map((_, v) => `coalesce(v${v}.exact, true)`).join(' AND ');
      await db.exec(`CREATE TEMP TABLE ${input}_out AS ${body.replace('SELECT ', `SELECT i.fg_row_no, i.fg_key, i.fg_as_of, ${exact} AS fg_exact, `)}`);
      try {
        await patchInexact(db, `${input}_out`, spec, exactReads);
        await db.exec(`COPY (SELECT * EXCLUDE (fg_row_no, fg_key, fg_as_of, fg_exact) FROM ${input}_out ORDER BY fg_row_no) TO ${sqlString(spec.out)} (FORMAT parquet)`);
      } finally {
        await db.exec(`DROP TABLE IF EXISTS ${input}_out`);
      }
    }
    spec.onProgress?.(total, total);
    return { rows: total };
  } finally {
    await db.exec(`DROP TABLE IF EXISTS ${input}`);
  }
}

async function anyInexact(db: EmbeddedSql, layouts: ReadonlyMap<ResolvedView, ViewLayout>): Promise<boolean> {
  const tables = [...layouts.values()].map((layout) => `SELECT exact FROM ${layoutTable(layout.view)}`);
  const [row] = await db.query(`SELECT coalesce(bool_or(NOT exact), false) AS any FROM (${tables.join(' UNION ALL ')})`);
  return row?.any === true;
}

/** Rereads the rows of `table` that read changes the typed columns do not render, and writes their values. */
async function patchInexact(db: EmbeddedSql, table: string, spec: TrainingSetExport, exactReads: ExactReads): Promise<void> {
  const features = spec.query.features;
  const names = features.map((feature) => quoteIdentifier(feature.name, 'feature'));
  const patch = `${table}_patch`;
  await db.exec(`CREATE TEMP TABLE ${patch} AS SELECT fg_row_no, ${names.join(', ')} FROM ${table} LIMIT 0`);
  try {
    const inexact = await db.query(`SELECT fg_row_no, fg_key, fg_as_of FROM ${table} WHERE NOT fg_exact ORDER BY fg_row_no`);
    for (let start = 0; start < inexact.length; start += patchBatch) {
      const batch = inexact.slice(start, start + patchBatch);
      const reads = await exactReads(batch.map((row) => ({ key: String(row.fg_key), asOf: Number(row.fg_as_of) })));
      await db.insertRows(
        patch,
        batch.map((row, r) => {
          const values: Record<string, FeatureValue | number> = { fg_row_no: Number(row.fg_row_no) };
          features.forEach((feature, f) => {
            const read = reads[r]?.[f] as FeatureRead;
            values[feature.name] = exportedValue(feature.type, read.value);
          });
          return values;
        }),
      );
    }
    await db.exec(`UPDATE ${table} t SET ${names.map((name) => `${name} = p.${name}`).join(', ')} FROM ${patch} p WHERE t.fg_row_no = p.fg_row_no`);
  } finally {
    await db.exec(`DROP TABLE IF EXISTS ${patch}`);
  }
}
