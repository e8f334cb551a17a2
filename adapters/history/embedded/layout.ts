// Typed storage of one view's history in the embedded store: a table per view with one column per
// feature (column views) or per event field an aggregation reads (windowed views), derived in SQL from
// the change's JSON values, which are kept too (scans return them as written).
//
// Why typed columns: an ASOF JOIN over typed DOUBLE/BIGINT columns is much faster than the same join
// extracting the values from the JSON text at read time (bench/README.md, "The embedded history
// store's choices"), so the conversion is paid once: at append, or when a view's changes move from
// the generic table.
//
// The conversion follows the reference (point-in-time.ts, schema/windows.ts) exactly where it can and
// says where it cannot: `exact` is false for a change whose values the typed columns do not render as
// the reference would read them (a missing feature, a value of another type, an array where a text is
// counted). Reads answer those changes from the JSON through the reference, so typed storage never
// changes an answer; a training-set export writes null there (its columns are typed).
import type { ResolvedView } from '../../../schema/registry.js';

/** How a column is derived from one JSON field of a change. */
export type Conversion = 'Int' | 'Float' | 'String' | 'Boolean' | '[Float]' | '[String]' | 'number' | 'text';

export interface LayoutColumn {
  /** Column of the view's table (c0, c1, ...: fields may be any JSON key). */
  name: string;
  field: string;
  conversion: Conversion;
}

export interface ViewLayout {
  view: string;
  windowed: boolean;
  columns: LayoutColumn[];
}

/** Fields go into JSON paths as `$."field"`: anything that needs escaping there is not laid out. */
const layableField = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export const layoutTable = (view: string): string => `"history_view_${view.replaceAll('"', '""')}"`;

/** The layout of a view, or null when one of its fields cannot be laid out (reads use the JSON then). */
export function layoutFor(view: ResolvedView): ViewLayout | null {
  const columns: LayoutColumn[] = [];
  const add = (field: string, conversion: Conversion): string | null => {
    if (!layableField.test(field)) return null;
    const found = columns.find((c) => c.field === field && c.conversion === conversion);
    if (found) return found.name;
    const name = `c${columns.length}`;
    columns.push({ name, field, conversion });
    return name;
  };
  for (const feature of view.features) {
    const def = feature.def;
    let ok: string | null;
    if (def.kind === 'column') ok = add(feature.name, feature.type);
    else if (def.fn === 'count') ok = '';
    else if (def.field === undefined) ok = null;
    else if (def.fn === 'distinctCount') ok = add(def.field, 'text');
    else if (def.fn === 'last') ok = add(def.field, feature.type);
    else ok = add(def.field, 'number');
    if (ok === null) return null;
  }
  return { view: view.name, windowed: view.windowed, columns };
}

/** The column that holds what `feature` reads (null for count, which reads no field). */
export function columnOf(layout: ViewLayout, feature: ResolvedView['features'][number]): string | null {
  const def = feature.def;
  if (def.kind === 'column') return find(layout, feature.name, feature.type);
  if (def.fn === 'count') return null;
  const conversion: Conversion = def.fn === 'distinctCount' ? 'text' : def.fn === 'last' ? feature.type : 'number';
  return find(layout, def.field as string, conversion);
}

function find(layout: ViewLayout, field: string, conversion: Conversion): string {
  const column = layout.columns.find((c) => c.field === field && c.conversion === conversion);
  if (!column) throw new Error(`history layout of ${layout.view} has no ${conversion} column for ${field}`);
  return column.name;
}

export const sqlTypeOf = (conversion: Conversion): string =>
  ({ Int: 'BIGINT', Float: 'DOUBLE', String: 'VARCHAR', Boolean: 'BOOLEAN', '[Float]': 'DOUBLE[]', '[String]': 'VARCHAR[]', number: 'DOUBLE', text: 'VARCHAR' })[conversion];

const numeric = `('UBIGINT', 'BIGINT', 'DOUBLE')`;
const integral = `('UBIGINT', 'BIGINT')`;

/**
 * The SQL of one column from its field's JSON (`fg_j."field"`, null when null or absent) and whether it
 * renders the field as the reference reads it: `ok` is true for null and absent fields too, except for
 * column features, where an absent field (not in `fg_k`, the keys) reads MISSING, not null.
 */
export function conversionSql(column: LayoutColumn, windowed: boolean): { value: string; ok: string } {
  const j = `fg_j."${column.field}"`;
  const t = `json_type(${j})`;
  const text = `(${j} ->> '$')`;
  const nullOr = (test: string) => (windowed ? `(${t} IS NULL OR ${test})` : `(list_contains(fg_k, '${column.field}') AND (${t} IS NULL OR ${test}))`);
  const elements = (types: string) => `len(list_filter(json_type(${j}, '$[*]'), x -> x NOT IN ${types})) = 0`;
  switch (column.conversion) {
    case 'Int': {
      // Integers beyond 2^53 come back from DuckDB as text, and are rare enough to go through JSON.
      const value = `CASE WHEN ${t} IN ${integral} THEN TRY_CAST(${text} AS BIGINT) END`;
      return { value, ok: nullOr(`abs(${value}) <= 9007199254740991`) };
    }
    case 'Float':
    case 'number':
      return { value: `CASE WHEN ${t} IN ${numeric} THEN TRY_CAST(${text} AS DOUBLE) END`, ok: column.conversion === 'number' ? 'true' : nullOr(`${t} IN ${numeric}`) };
    case 'String':
      return { value: `CASE WHEN ${t} = 'VARCHAR' THEN ${text} END`, ok: nullOr(`${t} = 'VARCHAR'`) };
    case 'Boolean':
      return { value: `CASE WHEN ${t} = 'BOOLEAN' THEN TRY_CAST(${text} AS BOOLEAN) END`, ok: nullOr(`${t} = 'BOOLEAN'`) };
    case '[Float]': {
      const test = `${t} = 'ARRAY' AND ${elements(numeric)}`;
      return { value: `CASE WHEN ${test} THEN TRY_CAST(${j} AS DOUBLE[]) END`, ok: nullOr(test) };
    }
    case '[String]': {
      const test = `${t} = 'ARRAY' AND ${elements(`('VARCHAR')`)}`;
      return { value: `CASE WHEN ${test} THEN TRY_CAST(${j} AS VARCHAR[]) END`, ok: nullOr(test) };
    }
    case 'text': {
      // String(value), as distinctCount counts: DuckDB prints texts, booleans, integers and doubles in
      // [1e-6, 1e21) as JavaScript does (checked on 200,000 random doubles), not the others (1e+21
      // becomes 1e21), nor arrays; those go through JSON.
      const double = `TRY_CAST(${text} AS DOUBLE)`;
      const same = `(${t} IN ('VARCHAR', 'BOOLEAN', 'UBIGINT', 'BIGINT') OR (${t} = 'DOUBLE' AND (${double} = 0 OR abs(${double}) BETWEEN 1e-6 AND 1e21 AND abs(${double}) <> 1e21)))`;
      return { value: `CASE WHEN ${same} THEN ${text} END`, ok: nullOr(same) };
    }
    default: {
      const unreachable: never = column.conversion;
      throw new Error(`unknown conversion ${String(unreachable)}`);
    }
  }
}

/** The view table's DDL. */
export function createLayoutTableSql(layout: ViewLayout, name = layoutTable(layout.view)): string {
  const typed = layout.columns.map((c) => `, ${c.name} ${sqlTypeOf(c.conversion)}`).join('');
  return `CREATE TABLE ${name} (key VARCHAR NOT NULL, id VARCHAR NOT NULL PRIMARY KEY, event_time BIGINT NOT NULL, available_time BIGINT NOT NULL, vals VARCHAR NOT NULL, deleted BOOLEAN NOT NULL, exact BOOLEAN NOT NULL${typed})`;
}

/**
 * The view table's rows from a relation of (key, id, event_time, available_time, vals, deleted). The
 * JSON is parsed once per change (json_transform to one JSON value per field): a function call per
 * field on the whole text (json_type(vals, path)) would parse it once per call.
 */
export function layoutSelectSql(layout: ViewLayout, source: string): string {
  const fields = [...new Set(layout.columns.map((c) => c.field))];
  const keys = layout.windowed ? '' : ', json_keys(vals) AS fg_k';
  const parsed = fields.length === 0 ? source : `(SELECT *, json_transform(vals, '{${fields.map((f) => `"${f}":"JSON"`).join(',')}}') AS fg_j${keys} FROM ${source})`;
  return `SELECT ${layoutColumnsSql(layout)} FROM ${parsed}`;
}

function layoutColumnsSql(layout: ViewLayout): string {
  const converted = layout.columns.map((c) => ({ c, sql: conversionSql(c, layout.windowed) }));
  const ok = converted.map(({ sql }) => sql.ok).filter((test) => test !== 'true');
  // A delete of a column view reads nothing, so its (empty) values need no rendering; windows count
  // deleted events like any other (as the reference does).
  const all = ok.map((test) => `(${test})`).join(' AND ');
  const exact = ok.length === 0 ? 'true' : `coalesce(${layout.windowed ? all : `deleted OR (${all})`}, false)`;
  return ['key', 'id', 'event_time', 'available_time', 'vals', 'deleted', `${exact} AS exact`, ...converted.map(({ c, sql }) => `${sql.value} AS ${c.name}`)].join(', ');
}

export const sameLayout = (a: ViewLayout, b: ViewLayout): boolean => JSON.stringify(a) === JSON.stringify(b);
