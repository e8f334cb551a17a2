// Backfills a view's history over a time range, slice by slice. Progress is checkpointed after each
// slice, so an interrupted backfill resumes where it stopped; history appends are idempotent, so the
// slice in progress at the interruption is simply read again.
import type { ResolvedView } from '../../schema/registry.js';
import { featureValuesOf, historyRecordOf } from '../rows/apply.js';
import type { CheckpointStore, RowSource, SourceRow } from '../../adapters/sources/types.js';
import type { HistoryRecord, HistoryStore } from '../../adapters/history/types.js';

export interface BackfillProgress {
  view: string;
  slice: number;
  slices: number;
  rows: number;
  /** Rows per second since this run started. */
  rate: number;
  /** Milliseconds left at that rate, by slices. */
  etaMs: number | null;
  resumedFrom: number | null;
}

export interface BackfillOptions {
  view: ResolvedView;
  source: RowSource;
  history: HistoryStore;
  checkpoints: CheckpointStore;
  from: number;
  to: number;
  /** Slice length; default a hundredth of the range, at least a minute. */
  sliceMs?: number;
  /**
   * When a backfilled value would have become readable online: the first run of the view's schedule
   * after the row's event time (default schedule: every half freshness SLA), which is what SERVED
   * reads of the past should see.
   */
  availableAfterMs?: number;
  onProgress?: (progress: BackfillProgress) => void;
  /** Stops after the slice in progress (an interruption, for callers and tests). */
  signal?: AbortSignal;
  now?: () => number;
}

export interface BackfillResult {
  rows: number;
  slices: number;
  completed: boolean;
  resumedFrom: number | null;
}

/**
 * Of rows of one key at one event time, the last one read: the one the online store would hold after
 * applying them in turn (a later write at the same event time replaces the value).
 */
function lastAtEachInstant(rows: readonly SourceRow[]): SourceRow[] {
  const last = new Map<string, SourceRow>();
  for (const row of rows) {
    const id = `${row.key}\u0000${row.eventTime}`;
    last.delete(id);
    last.set(id, row);
  }
  return [...last.values()];
}

export function backfillCheckpointName(view: string, from: number, to: number): string {
  return `backfill:${view}:${from}:${to}`;
}

export async function backfill(options: BackfillOptions): Promise<BackfillResult> {
  const { view, source, history, checkpoints, from, to } = options;
  if (!(to > from)) throw new RangeError(`backfill range is empty: --from ${new Date(from).toISOString()} must be before --to ${new Date(to).toISOString()}`);
  const now = options.now ?? Date.now;
  const sliceMs = options.sliceMs ?? Math.max(60_000, Math.ceil((to - from) / 100));
  const slices = Math.ceil((to - from) / sliceMs);
  const schedule = options.availableAfterMs ?? Math.max(1000, Math.floor(view.freshnessMs / 2));
  const checkpoint = backfillCheckpointName(view.name, from, to);
  const saved = await checkpoints.get(checkpoint);
  const resumedFrom = saved === null ? null : Number(saved);
  const columns = view.features.map((f) => f.column ?? f.name);
  const started = now();
  let rows = 0;
  let done = resumedFrom === null ? 0 : Math.round((resumedFrom - from) / sliceMs);
  for (let start = resumedFrom ?? from; start < to; start += sliceMs) {
    if (options.signal?.aborted) return { rows, slices: done, completed: false, resumedFrom };
    const end = Math.min(to, start + sliceMs);
    // The range is (start, end], except the first slice, which includes `from` itself.
    for await (const batch of source.read({ since: start === from ? from - 1 : start, until: end, columns })) {
      const records: HistoryRecord[] = lastAtEachInstant(batch).map((row) => historyRecordOf(view, row, featureValuesOf(view, row), Math.ceil((row.eventTime + 1) / schedule) * schedule));
      await history.append(records);
      rows += records.length;
    }
    await checkpoints.set(checkpoint, String(end));
    done++;
    const elapsed = Math.max(1, now() - started);
    const slicesThisRun = done - (resumedFrom === null ? 0 : Math.round((resumedFrom - from) / sliceMs));
    options.onProgress?.({
      view: view.name,
      slice: done,
      slices,
      rows,
      rate: (rows * 1000) / elapsed,
      etaMs: slicesThisRun > 0 ? Math.round((elapsed / slicesThisRun) * (slices - done)) : null,
      resumedFrom,
    });
  }
  return { rows, slices: done, completed: true, resumedFrom };
}

/** A one-line progress bar: redrawn in place on a terminal, a line every 10% otherwise. */
export function progressBar(write: (text: string) => void, isTty: boolean): (p: BackfillProgress) => void {
  let lastDecile = -1;
  return (p) => {
    const fraction = p.slices === 0 ? 1 : p.slice / p.slices;
    const width = 30;
    const filled = Math.round(fraction * width);
    const eta = p.etaMs === null ? '' : `, ${Math.ceil(p.etaMs / 1000)} s left`;
    const line = `${p.view} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0)}% slice ${p.slice}/${p.slices}, ${p.rows} rows (${p.rate.toFixed(0)}/s${eta})`;
    if (isTty) {
      write(`\r${line}${p.slice === p.slices ? '\n' : ''}`);
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (decile !== lastDecile) {
      lastDecile = decile;
      write(`${line}\n`);
    }
  };
}
