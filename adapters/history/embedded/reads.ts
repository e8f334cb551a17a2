// The SQL of point-in-time reads over a view's typed table (layout.ts), for a table of entity rows
// (row_no, key, as_of in epoch ms). Two shapes of one query: `parts` gives what a ValueSnapshot is made
// of (readAsOf finishes each row with readFeature, so status, ttl and freshness have one definition),
// `values` gives each feature's final value, null where the read is MISSING or EXPIRED (the export).
//
// Column views in EVENT_TIME are an ASOF JOIN: the latest change at or before asOf. Where two changes
// of a key share an event time (a tie), it is on the struct (eventTime, availableTime, id), ties broken
// as the reference breaks them (later availableTime, then greater id), which a plain ASOF JOIN on the
// event time leaves to chance; a view the store knows to be tie-free (index.ts keeps that per view)
// gets the plain one, which gives the same answers faster. The struct is the cheapest tie-breaking key
// (a HUGEINT of (eventTime, availableTime) is slower). Either way the view's table is first cut down
// to the keys of the rows (a semi join): the ASOF JOIN sorts all it is given, and a view's history
// often holds many keys no row asks for. The columns go through the ASOF JOIN with the changes, which
// is faster than carrying only rowids and joining the columns back after (bench/README.md, "The
// embedded history store's choices").
// SERVED has two bounds (eventTime and availableTime <= asOf), which no ASOF JOIN takes: a range join
// keeps the last change the online store made per row (QUALIFY ROW_NUMBER over availableTime, id; late
// changes left out). Windowed views are a range join and one FILTERed aggregate per feature, by the
// tile math of schema/windows.ts.
import type { ResolvedFeature, ResolvedView } from '../../../schema/registry.js';
import type { TimeMode } from '../types.js';
import { columnOf, layoutTable, type ViewLayout } from './layout.js';
import { lateIdSuffix } from '../record-ids.js';

const sqlText = (text: string): string => `'${text.replaceAll("'", "''")}'`;

const minBigint = 'CAST(-9223372036854775808 AS BIGINT)';

/** Which column of a `parts` result holds feature i of the read (and avg's count). */
export const partColumn = (i: number): string => `p${i}`;
export const avgCountColumn = (i: number): string => `p${i}_n`;

function int(value: number, what: string): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer, got ${value}`);
  return String(value);
}

/** Whether an event of h is in the feature's window at r.as_of (windows.ts eventInWindow; eventTime <= asOf is the join's). */
function inWindow(feature: ResolvedFeature): string {
  const spec = feature.window;
  if (spec === null) throw new Error(`feature ${feature.name} has no window`);
  const tile = int(spec.tileMs, 'tile size');
  return `h.event_time >= (CAST(floor(r.as_of / ${tile}) AS BIGINT) - ${int(spec.windowMs / spec.tileMs, 'tiles per window')} + 1) * ${tile}`;
}

const visible = (mode: TimeMode): string => `h.key = r.key AND h.event_time <= r.as_of${mode === 'SERVED' ? ' AND h.available_time <= r.as_of' : ''}`;

/** What a row's ASOF JOIN compares with a change's (eventTime, availableTime, id): only changes at or before asOf are less. */
export const asOfProbe = (asOf: string): string => `{e: ${asOf} + 1, a: ${minBigint}, i: ''}`;

/** What a column view's ASOF JOIN joins on: the rows' key, asOf (epoch ms) and probe (asOfProbe of it) expressions, and the SQL of a query of the rows' keys. */
export interface AsOfJoinOn {
  key: string;
  asOf: string;
  probe: string;
  keys: string;
}

/**
 * The ASOF LEFT JOIN of a column view in EVENT_TIME onto the rows (`on`). `tieFree`: the view's table
 * holds no two changes of one key with one event time, so the plain join on the event time is exact.
 */
export function columnAsOfJoin(layout: ViewLayout, alias: string, on: AsOfJoinOn, tieFree: boolean): string {
  const changes = `FROM ${layoutTable(layout.view)} WHERE key IN (${on.keys})`;
  if (tieFree) return `ASOF LEFT JOIN (SELECT * ${changes}) ${alias} ON ${on.key} = ${alias}.key AND ${on.asOf} >= ${alias}.event_time`;
  return `ASOF LEFT JOIN (SELECT *, {e: event_time, a: available_time, i: id} AS ord ${changes}) ${alias} ON ${on.key} = ${alias}.key AND ${on.probe} > ${alias}.ord`;
}

/**
 * A column view at each row: row_no, as_of, event_time, available_time, deleted, exact, vals (only
 * when not exact) and p<i> per feature. EVENT_TIME returns every row (null change when there is none);
 * SERVED only rows with a visible change.
 */
function columnViewSql(layout: ViewLayout, features: readonly ResolvedFeature[], mode: TimeMode, rows: string, tieFree: boolean): string {
  const typed = features.map((feature, i) => `h.${columnOf(layout, feature) as string} AS ${partColumn(i)}`);
  const select = ['r.row_no', 'r.as_of', 'h.event_time', 'h.available_time', 'h.deleted', 'h.exact', 'CASE WHEN NOT h.exact THEN h.vals END AS vals', ...typed].join(', ');
  const table = layoutTable(layout.view);
  if (mode === 'EVENT_TIME') {
    const on = { key: 'r.key', asOf: 'r.as_of', probe: 'r.probe', keys: `SELECT key FROM ${rows}` };
    return `SELECT ${select} FROM (SELECT row_no, key, as_of${tieFree ? '' : `, ${asOfProbe('as_of')} AS probe`} FROM ${rows}) r ${columnAsOfJoin(layout, 'h', on, tieFree)}`;
  }
  // SERVED: the last change the online store made by asOf (point-in-time.ts columnSnapshotAt).
  return `SELECT ${select} FROM ${rows} r JOIN ${table} h ON ${visible(mode)} AND NOT ends_with(h.id, ${sqlText(lateIdSuffix)}) QUALIFY row_number() OVER (PARTITION BY r.row_no ORDER BY h.available_time DESC, h.id DESC) = 1`;
}

/**
 * A windowed view at each row with a visible event: row_no, as_of, event_time (newest visible event),
 * available_time (latest of them), exact (all visible events typed as the reference reads them), then
 * per feature its aggregate over the events in its window: count, sum, min, max as numbers; avg as a
 * sum (p<i>) and a count (p<i>_n); last as the value of the latest event with one; distinctCount as the
 * list (parts) or number (values) of distinct texts.
 */
function windowViewSql(layout: ViewLayout, features: readonly ResolvedFeature[], mode: TimeMode, rows: string, shape: 'parts' | 'values'): string {
  const aggregates: string[] = [];
  features.forEach((feature, i) => {
    const spec = feature.window;
    if (spec === null) throw new Error(`feature ${feature.name} of windowed view ${layout.view} has no window`);
    const win = inWindow(feature);
    const column = columnOf(layout, feature);
    const col = `h.${column ?? ''}`;
    const p = partColumn(i);
    switch (spec.fn) {
      case 'count':
        aggregates.push(`count(*) FILTER (WHERE ${win}) AS ${p}`);
        break;
      case 'sum':
      case 'min':
      case 'max':
        aggregates.push(`${spec.fn}(${col}) FILTER (WHERE ${win}) AS ${p}`);
        break;
      case 'avg':
        aggregates.push(`sum(${col}) FILTER (WHERE ${win}) AS ${p}`, `count(${col}) FILTER (WHERE ${win}) AS ${avgCountColumn(i)}`);
        break;
      case 'last':
        // Of events at one event time the greater id wins (schema/windows.ts Cell), as online: the winner
        // is the greatest (eventTime, id) with a value.
        aggregates.push(`arg_max(${col}, {e: h.event_time, i: h.id}) FILTER (WHERE ${win} AND ${col} IS NOT NULL) AS ${p}`);
        break;
      case 'distinctCount':
        aggregates.push(shape === 'parts' ? `list(DISTINCT ${col}) FILTER (WHERE ${win} AND ${col} IS NOT NULL) AS ${p}` : `count(DISTINCT ${col}) FILTER (WHERE ${win}) AS ${p}`);
        break;
      default: {
        const unreachable: never = spec.fn;
        throw new Error(`unknown aggregation ${String(unreachable)}`);
      }
    }
  });
  const head = ['r.row_no', 'r.as_of', 'max(h.event_time) AS event_time', 'max(h.available_time) AS available_time', 'bool_and(h.exact) AS exact', ...aggregates].join(', ');
  return `SELECT ${head} FROM ${rows} r JOIN ${layoutTable(layout.view)} h ON ${visible(mode)} GROUP BY r.row_no, r.as_of`;
}

/** The parts of each row's snapshot of one view, for readAsOf (`tieFree` as columnAsOfJoin's). */
export function viewPartsSql(layout: ViewLayout, features: readonly ResolvedFeature[], mode: TimeMode, rows: string, tieFree: boolean): string {
  return layout.windowed ? windowViewSql(layout, features, mode, rows, 'parts') : columnViewSql(layout, features, mode, rows, tieFree);
}

/** Whether a change of `view` at `eventTime` is served at `asOf` (ttl; readFeature's EXPIRED otherwise). */
export const liveSql = (view: ResolvedView, asOf: string, eventTime: string): string => `greatest(0, ${asOf} - ${eventTime}) <= ${int(view.ttlMs, 'ttl')}`;

/** A column feature's final value from the change `alias` (a row of the view table, or of a parts query). */
export const columnValueSql = (alias: string, live: string, column: string): string => `CASE WHEN NOT ${alias}.deleted AND ${live} THEN ${alias}.${column} END`;

/** A feature's final value from a window's aggregate columns (v.p<i>), as windows.ts finalizeCell. */
function finalWindowValue(feature: ResolvedFeature, i: number): string {
  const p = `v.${partColumn(i)}`;
  switch (feature.window?.fn) {
    case 'sum':
      return `coalesce(${p}, 0)`;
    case 'avg':
      return `${p} / v.${avgCountColumn(i)}`;
    default:
      return p;
  }
}

/**
 * One view's features at each row with their final values, null where MISSING or EXPIRED: a relation
 * of row_no, exact (false where the typed columns do not render what the row reads) and one column per
 * feature named by `names[i]` (already quoted). Rows with nothing visible may be absent (LEFT JOIN it).
 */
export function viewValuesSql(view: ResolvedView, layout: ViewLayout, features: readonly ResolvedFeature[], mode: TimeMode, rows: string, names: readonly string[], tieFree: boolean): string {
  const live = liveSql(view, 'v.as_of', 'v.event_time');
  if (layout.windowed) {
    const values = features.map((feature, i) => `CASE WHEN ${live} THEN ${finalWindowValue(feature, i)} END AS ${names[i] as string}`);
    return `SELECT v.row_no, v.exact, ${values.join(', ')} FROM (${windowViewSql(layout, features, mode, rows, 'values')}) v`;
  }
  const values = features.map((_, i) => `${columnValueSql('v', live, partColumn(i))} AS ${names[i] as string}`);
  return `SELECT v.row_no, v.exact, ${values.join(', ')} FROM (${columnViewSql(layout, features, mode, rows, tieFree)}) v`;
}
