// readAsOf of the embedded store: the rows go into a temporary table (appender), one query per view
// (reads.ts) gives each row's snapshot parts, SERVED reads take each view's watermark at every row's
// asOf (one ASOF JOIN per view), and readFeature turns snapshots into reads, so status, ttl and
// freshness are those of the online path. A windowed snapshot is rebuilt as one tile (the
// asOf's) holding each feature's combined cell: windowValue then finalizes it as it would the tiles.
import type { EmbeddedRecord, EmbeddedSql } from '../../sources/embedded/index.js';
import type { ResolvedFeature, ResolvedView } from '../../../schema/registry.js';
import { readFeature, type FeatureRead, type ValueSnapshot } from '../../../schema/snapshot.js';
import type { FeatureValue } from '../../../schema/types.js';
import { tileIndex, type Cell } from '../../../schema/windows.js';
import { columnSnapshotAt, windowSnapshotAt, type ChangesByKey } from '../point-in-time.js';
import type { PointInTimeQuery, PointInTimeRow } from '../types.js';
import type { ViewLayout } from './layout.js';
import { avgCountColumn, partColumn, viewPartsSql } from './reads.js';

/** Changes of a view for some keys, read from the JSON values (for the reference). */
export type FallbackChanges = (view: ResolvedView, keys: readonly string[]) => Promise<ChangesByKey>;

let tables = 0;

/** readAsOf over the views' typed tables (`layouts`; null: none, read from the JSON); `tieFree` as exportTrainingSetSql's. */
export async function readAsOfSql(db: EmbeddedSql, query: PointInTimeQuery, rows: readonly PointInTimeRow[], layouts: ReadonlyMap<ResolvedView, ViewLayout | null>, tieFree: ReadonlySet<ResolvedView>, fallback: FallbackChanges): Promise<FeatureRead[][]> {
  if (rows.length === 0) return [];
  // A table per call: reads may overlap on the one connection's queue.
  const table = `fg_read_rows_${++tables}`;
  await db.exec(`CREATE TEMP TABLE ${table} (row_no INTEGER NOT NULL, key VARCHAR NOT NULL, as_of BIGINT NOT NULL)`);
  try {
    await db.insertRows(table, rows.map((row, i) => ({ row_no: i, key: row.key, as_of: row.asOf })));
    const snapshots = new Map<ResolvedView, (ValueSnapshot | null)[]>();
    for (const [view, layout] of layouts) {
      const features = query.features.filter((feature) => feature.view === view);
      snapshots.set(view, layout === null ? await referenceSnapshots(view, rows, rows.map((_, i) => i), query, fallback, new Array(rows.length).fill(null)) : await viewSnapshots(db, view, layout, features, query, rows, table, tieFree.has(view), fallback));
    }
    const watermarks = new Map<ResolvedView, (number | null)[]>();
    if (query.mode === 'SERVED') for (const view of layouts.keys()) watermarks.set(view, await servedWatermarks(db, view.name, table, rows.length));
    return rows.map((row, i) => query.features.map((feature) => readFeature(feature, snapshots.get(feature.view)?.[i] ?? null, row.asOf, watermarks.get(feature.view)?.[i] ?? null)));
  } finally {
    await db.exec(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** Where the store keeps watermark changes: one row per (view, at), as the online store made them. */
export const watermarksTable = 'history_watermarks';

/** A view's watermark at each row's asOf: its change with the greatest at <= asOf (point-in-time.ts watermarkAt); null before the first. */
async function servedWatermarks(db: EmbeddedSql, view: string, table: string, count: number): Promise<(number | null)[]> {
  const out = new Array<number | null>(count).fill(null);
  const found = await db.query(`SELECT r.row_no, w.watermark FROM ${table} r ASOF JOIN (SELECT changed_at, watermark FROM ${watermarksTable} WHERE view = ?) w ON r.as_of >= w.changed_at`, [view]);
  for (const row of found) out[Number(row.row_no)] = Number(row.watermark);
  return out;
}

async function viewSnapshots(db: EmbeddedSql, view: ResolvedView, layout: ViewLayout, features: readonly ResolvedFeature[], query: PointInTimeQuery, rows: readonly PointInTimeRow[], table: string, tieFree: boolean, fallback: FallbackChanges): Promise<(ValueSnapshot | null)[]> {
  const out: (ValueSnapshot | null)[] = new Array(rows.length).fill(null);
  const inexact: number[] = [];
  for (const part of await db.query(viewPartsSql(layout, features, query.mode, table, tieFree))) {
    const i = Number(part.row_no);
    if (part.event_time === null) continue;
    if (view.windowed) {
      if (part.exact !== true) inexact.push(i);
      else out[i] = windowSnapshot(part, features, (rows[i] as PointInTimeRow).asOf);
    } else if (part.deleted !== true) {
      const values = part.exact === true ? Object.fromEntries(features.map((feature, f) => [feature.name, part[partColumn(f)] as FeatureValue])) : (JSON.parse(String(part.vals)) as Record<string, FeatureValue>);
      out[i] = { eventTime: Number(part.event_time), availableTime: Number(part.available_time), values };
    }
  }
  return inexact.length === 0 ? out : referenceSnapshots(view, rows, inexact, query, fallback, out);
}

/** Snapshots of rows `indices` by the reference, over the JSON values of their keys' changes. */
async function referenceSnapshots(view: ResolvedView, rows: readonly PointInTimeRow[], indices: readonly number[], query: PointInTimeQuery, fallback: FallbackChanges, out: (ValueSnapshot | null)[]): Promise<(ValueSnapshot | null)[]> {
  const changes = await fallback(view, [...new Set(indices.map((i) => (rows[i] as PointInTimeRow).key))]);
  for (const i of indices) {
    const row = rows[i] as PointInTimeRow;
    const ofKey = changes.get(row.key) ?? [];
    out[i] = view.windowed ? windowSnapshotAt(view, ofKey, row.asOf, query.mode) : columnSnapshotAt(ofKey, row.asOf, query.mode);
  }
  return out;
}

function windowSnapshot(part: EmbeddedRecord, features: readonly ResolvedFeature[], asOf: number): ValueSnapshot {
  const tiles: Record<string, Record<string, Cell>> = {};
  features.forEach((feature, f) => {
    const spec = feature.window;
    if (spec === null) return;
    const value = part[partColumn(f)] ?? null;
    let cell: Cell | null;
    switch (spec.fn) {
      case 'avg':
        cell = value === null ? null : [value as number, Number(part[avgCountColumn(f)])];
        break;
      case 'last':
        // The event time in a combined cell only orders merges; there are none left.
        cell = value === null ? null : [asOf, value as FeatureValue];
        break;
      case 'distinctCount':
        cell = value === null || (value as string[]).length === 0 ? null : (value as string[]);
        break;
      default:
        cell = value === null ? null : Number(value);
    }
    tiles[feature.name] = cell === null ? {} : { [String(tileIndex(asOf, spec.tileMs))]: cell };
  });
  return { eventTime: Number(part.event_time), availableTime: Number(part.available_time), tiles };
}
