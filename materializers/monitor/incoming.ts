// The monitor's incoming data: what the materializers wrote in a range, as feature values. A history
// record is a change (a row's values, or one event of a windowed view), not a value: each (key, event
// time) changed in [from, to) is read back asOf that instant (EVENT_TIME, the facts as applied), so
// a window counts the events in it then, a delete reads MISSING, and the entity's segment features
// come from the same read. Reads go in batches of readRows.
import type { HistoryRecord, HistoryStore, PointInTimeRow } from '../../adapters/history/types.js';
import type { ResolvedFeature, ResolvedView } from '../../schema/registry.js';
import { segmentLabels, type MonitoredFeature, type Observation } from './features.js';

export interface IncomingOptions {
  /** Rows per readAsOf (default 1000). */
  readRows?: number;
}

/** Stored features by view, in their order. */
function byView(features: readonly MonitoredFeature[]): Map<ResolvedView, MonitoredFeature[]> {
  const out = new Map<ResolvedView, MonitoredFeature[]>();
  for (const feature of features) {
    if (feature.view === null) continue;
    const list = out.get(feature.view);
    if (list) list.push(feature);
    else out.set(feature.view, [feature]);
  }
  return out;
}

/** The (key, eventTime) pairs changed in [from, to), once each, in the scan's order (eventTime, then id). */
async function* changedRows(history: HistoryStore, view: string, range: { from: number; to: number }): AsyncIterable<PointInTimeRow[]> {
  // Pairs repeat only at one event time, so the pairs of the current event time are all to remember.
  let instant = Number.NEGATIVE_INFINITY;
  let seen = new Set<string>();
  for await (const batch of history.scan({ view, eventTimeTo: range.to - 1 })) {
    const rows: PointInTimeRow[] = [];
    for (const record of batch as readonly HistoryRecord[]) {
      if (record.eventTime < range.from || record.eventTime >= range.to) continue;
      if (record.eventTime !== instant) {
        instant = record.eventTime;
        seen = new Set();
      }
      if (seen.has(record.key)) continue;
      seen.add(record.key);
      rows.push({ key: record.key, asOf: record.eventTime });
    }
    if (rows.length > 0) yield rows;
  }
}

/** Observations of the features' values after each change of [from, to), view by view. */
export async function* readIncoming(history: HistoryStore, features: readonly MonitoredFeature[], range: { from: number; to: number }, options: IncomingOptions = {}): AsyncIterable<Observation[]> {
  const readRows = Math.max(1, options.readRows ?? 1000);
  for (const [view, monitored] of byView(features)) {
    const entity = view.entity;
    const reads: ResolvedFeature[] = [...new Set([...monitored.map((f) => f.stored as ResolvedFeature), ...entity.segments])];
    const position = new Map(reads.map((feature, i) => [feature, i] as const));
    let pending: PointInTimeRow[] = [];
    const readBack = async (rows: PointInTimeRow[]): Promise<Observation[]> => {
      const values = await history.readAsOf({ features: reads, mode: 'EVENT_TIME' }, rows);
      const observations: Observation[] = [];
      rows.forEach((row, i) => {
        const got = values[i] ?? [];
        const segments = segmentLabels(entity, (segment) => got[position.get(segment) as number]?.value);
        for (const feature of monitored) {
          const read = got[position.get(feature.stored as ResolvedFeature) as number];
          if (read !== undefined) observations.push({ feature, at: row.asOf, segments, status: read.status, value: read.value });
        }
      });
      return observations;
    };
    for await (const rows of changedRows(history, view.name, range)) {
      pending.push(...rows);
      while (pending.length >= readRows) {
        yield await readBack(pending.slice(0, readRows));
        pending = pending.slice(readRows);
      }
    }
    if (pending.length > 0) yield await readBack(pending);
  }
}
