// The point-in-time semantics of DESIGN.md "Time semantics", written as plainly as possible over
// in-memory history records. The memory store answers with it; every other store (DuckDB, Snowflake)
// must give the same reads, which the history-store conformance suite checks against this reference.
import type { ResolvedFeature, ResolvedView } from '../../schema/registry.js';
import { readFeature, type FeatureRead, type ValueSnapshot } from '../../schema/snapshot.js';
import type { FeatureValue } from '../../schema/types.js';
import { cellForEvent, cellOpFor, eventInWindow, mergeCells, tileIndex, type Cell } from '../../schema/windows.js';
import type { HistoryRecord, PointInTimeQuery, PointInTimeRow, TimeMode, ViewWatermark } from './types.js';
import { isLateRecord } from './record-ids.js';

/** Whether a change counts at asOf: never one that happened after asOf; in SERVED, only one readable by then. */
export function visibleAt(record: HistoryRecord, asOf: number, mode: TimeMode): boolean {
  return record.eventTime <= asOf && (mode === 'EVENT_TIME' || record.availableTime <= asOf);
}

const compareIds = (a: HistoryRecord, b: HistoryRecord): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * A column view's changes as facts (EVENT_TIME), later wins: by eventTime, then availableTime (a
 * correction at one event time replaces the value when it is applied), then id.
 */
function compareChanges(a: HistoryRecord, b: HistoryRecord): number {
  return a.eventTime - b.eventTime || a.availableTime - b.availableTime || compareIds(a, b);
}

/**
 * A column view's changes as the online store made them (SERVED), later wins: by availableTime, then id
 * (the versions the store gave, in its order). The store takes a write only when it is not older than
 * what it holds, so this is the newest fact, except after a key expired: the store then takes any
 * write, an older one included, and so does this order.
 */
function compareApplied(a: HistoryRecord, b: HistoryRecord): number {
  return a.availableTime - b.availableTime || compareIds(a, b);
}

/** A windowed view's events, later wins: by eventTime, then id (partition, then offset), whenever they were applied. */
function compareEvents(a: HistoryRecord, b: HistoryRecord): number {
  return a.eventTime - b.eventTime || compareIds(a, b);
}

/**
 * A column view's value at asOf, a delete leaving nothing. EVENT_TIME: the latest visible fact of the
 * key. SERVED: the last change the online store made by asOf (late changes, which it never served, do
 * not count).
 */
export function columnSnapshotAt(changes: readonly HistoryRecord[], asOf: number, mode: TimeMode): ValueSnapshot | null {
  const later = mode === 'SERVED' ? compareApplied : compareChanges;
  let latest: HistoryRecord | null = null;
  for (const change of changes) {
    if (mode === 'SERVED' && isLateRecord(change.id)) continue;
    if (visibleAt(change, asOf, mode) && (latest === null || later(change, latest) > 0)) latest = change;
  }
  if (latest === null || latest.deleted === true) return null;
  return { eventTime: latest.eventTime, availableTime: latest.availableTime, values: latest.values as Record<string, FeatureValue> };
}

/**
 * A windowed view's tiles at asOf, rebuilt from the visible events of the key: only events inside each
 * feature's window at asOf (so the last tile holds nothing after asOf). eventTime is the newest visible
 * event, which is what ttl is measured from, as online.
 */
export function windowSnapshotAt(view: ResolvedView, events: readonly HistoryRecord[], asOf: number, mode: TimeMode): ValueSnapshot | null {
  const visible = events.filter((event) => visibleAt(event, asOf, mode)).sort(compareEvents);
  if (visible.length === 0) return null;
  const tiles: Record<string, Record<string, Cell>> = {};
  for (const feature of view.features) {
    const spec = feature.window;
    if (spec === null) continue;
    const op = cellOpFor(spec.fn);
    const featureTiles: Record<string, Cell> = {};
    for (const event of visible) {
      if (!eventInWindow(spec, event.eventTime, asOf)) continue;
      const field = feature.def.kind === 'windowed' ? feature.def.field : undefined;
      const cell = cellForEvent(spec.fn, field === undefined ? undefined : event.values[field], event.eventTime, event.id);
      if (cell === null) continue;
      const index = String(tileIndex(event.eventTime, spec.tileMs));
      const held = featureTiles[index];
      featureTiles[index] = held === undefined ? cell : mergeCells(op, held, cell);
    }
    tiles[feature.name] = featureTiles;
  }
  const last = visible[visible.length - 1] as HistoryRecord;
  let availableTime = -Infinity;
  for (const event of visible) if (event.availableTime > availableTime) availableTime = event.availableTime;
  return { eventTime: last.eventTime, availableTime, tiles };
}

/** The changes of one view, by entity key. */
export type ChangesByKey = ReadonlyMap<string, readonly HistoryRecord[]>;

/** Groups changes of one view by entity key. */
export function changesByKey(changes: Iterable<HistoryRecord>): Map<string, HistoryRecord[]> {
  const byKey = new Map<string, HistoryRecord[]>();
  for (const change of changes) {
    const list = byKey.get(change.key);
    if (list) list.push(change);
    else byKey.set(change.key, [change]);
  }
  return byKey;
}

/**
 * The watermark a SERVED read at asOf judges a view by: of its changes (sorted by `at`), the one with
 * the greatest at <= asOf, as the online store held it then; null before the first.
 */
export function watermarkAt(changes: readonly ViewWatermark[], asOf: number): number | null {
  let low = 0;
  let high = changes.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((changes[mid] as ViewWatermark).at <= asOf) low = mid + 1;
    else high = mid;
  }
  return low === 0 ? null : (changes[low - 1] as ViewWatermark).watermark;
}

/** A view's watermark changes sorted by `at`, the first of each `at` kept (appends ignore the others). */
export function watermarkChanges(changes: Iterable<ViewWatermark>): ViewWatermark[] {
  const byAt = new Map<number, ViewWatermark>();
  for (const change of changes) if (!byAt.has(change.at)) byAt.set(change.at, change);
  return [...byAt.values()].sort((a, b) => a.at - b.at);
}

/**
 * The reference answer to HistoryStore.readAsOf, given each queried view's changes by key and its
 * watermark changes (sorted by `at`: watermarkChanges; none when not given), which only SERVED reads use.
 */
export function pointInTimeReads(
  query: PointInTimeQuery,
  rows: readonly PointInTimeRow[],
  changesOf: (view: ResolvedView) => ChangesByKey,
  watermarksOf: (view: ResolvedView) => readonly ViewWatermark[] = () => [],
): FeatureRead[][] {
  const views = [...new Set(query.features.map((feature) => feature.view))];
  const changes = new Map(views.map((view) => [view, changesOf(view)] as const));
  const watermarks = new Map(views.map((view) => [view, query.mode === 'SERVED' ? watermarksOf(view) : []] as const));
  return rows.map((row) => {
    const snapshots = new Map<ResolvedView, ValueSnapshot | null>();
    const marks = new Map<ResolvedView, number | null>();
    for (const view of views) {
      const ofKey = changes.get(view)?.get(row.key) ?? [];
      snapshots.set(view, view.windowed ? windowSnapshotAt(view, ofKey, row.asOf, query.mode) : columnSnapshotAt(ofKey, row.asOf, query.mode));
      marks.set(view, watermarkAt(watermarks.get(view) ?? [], row.asOf));
    }
    return query.features.map((feature: ResolvedFeature) => readFeature(feature, snapshots.get(feature.view) ?? null, row.asOf, marks.get(feature.view) ?? null));
  });
}
