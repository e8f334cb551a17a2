// An embedded history store held in memory: the demo and unit tests use it.
import type { FeatureRead } from '../../../schema/snapshot.js';
import { changesByKey, pointInTimeReads, watermarkChanges } from '../point-in-time.js';
import type { HistoryRecord, HistoryScan, HistoryStore, PointInTimeQuery, PointInTimeRow, ViewWatermark } from '../types.js';

export class MemoryHistoryStore implements HistoryStore {
  readonly name = 'memory';
  private readonly views = new Map<string, Map<string, HistoryRecord>>();
  /** Per view, its watermark changes by `at`, sorted when read. */
  private readonly watermarks = new Map<string, Map<number, ViewWatermark>>();

  async append(records: readonly HistoryRecord[]): Promise<void> {
    for (const record of records) {
      let view = this.views.get(record.view);
      if (!view) this.views.set(record.view, (view = new Map()));
      if (!view.has(record.id)) {
        const copy = structuredClone(record);
        if (!copy.deleted) delete copy.deleted;
        view.set(record.id, copy);
      }
    }
  }

  async appendWatermarks(changes: readonly ViewWatermark[]): Promise<void> {
    for (const { view, watermark, at } of changes) {
      let held = this.watermarks.get(view);
      if (!held) this.watermarks.set(view, (held = new Map()));
      if (!held.has(at)) held.set(at, { view, watermark, at });
    }
  }

  async *scan(scan: HistoryScan): AsyncIterable<HistoryRecord[]> {
    const keys = scan.keys ? new Set(scan.keys) : null;
    const selected = [...(this.views.get(scan.view)?.values() ?? [])]
      .filter((r) => (keys === null || keys.has(r.key)) && (scan.eventTimeTo === undefined || r.eventTime <= scan.eventTimeTo) && (scan.availableTimeTo === undefined || r.availableTime <= scan.availableTimeTo))
      .sort((a, b) => a.eventTime - b.eventTime || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (let i = 0; i < selected.length; i += 1000) yield selected.slice(i, i + 1000).map((r) => structuredClone(r));
  }

  async readAsOf(query: PointInTimeQuery, rows: readonly PointInTimeRow[]): Promise<FeatureRead[][]> {
    return pointInTimeReads(
      query,
      rows,
      (view) => changesByKey(this.views.get(view.name)?.values() ?? []),
      (view) => watermarkChanges(this.watermarks.get(view.name)?.values() ?? []),
    );
  }

  async count(view: string): Promise<number> {
    return this.views.get(view)?.size ?? 0;
  }

  async close(): Promise<void> {
    this.views.clear();
    this.watermarks.clear();
  }
}
