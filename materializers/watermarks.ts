// How materializers publish their views' watermarks (DESIGN.md "Freshness"): to the online store first,
// which keeps per part the greatest watermark given and makes the view's the minimum over its parts,
// then, when that changed the view's record, the record to history, so that SERVED reads find the
// watermark the online store held then. A crash between the two loses nothing: at start the store's
// current record of each view is appended again (history ignores a record it holds).
// A failed publish or append is kept and tried again at the next flush: it never stops the caller,
// and never holds up the values it writes.
import type { OnlineStore, ViewWatermark } from '../adapters/online/types.js';
import type { HistoryStore } from '../adapters/history/types.js';
import { recordViewWatermark } from './telemetry.js';

export interface WatermarkPublisherOptions {
  store: OnlineStore;
  history?: HistoryStore;
  now: () => number;
  /** Told when a publish or an append failed (it is tried again at the next flush). */
  log?: (message: string) => void;
  /** When the next flush comes, for those messages ("in 1000 ms", "after the next run"). */
  nextFlush: string;
}

export class WatermarkPublisher {
  /** Per view, parts given since its last publish that went through (the greatest of each). */
  private readonly pending = new Map<string, Record<string, number>>();
  /** Records the store made that history does not hold yet. */
  private unappended: ViewWatermark[] = [];
  /** Views whose store record is still to be appended at start (recover). */
  private readonly recovering = new Set<string>();
  private flushing: Promise<void> | null = null;
  private again = false;

  constructor(private readonly options: WatermarkPublisherOptions) {}

  /** At start: the views' current records go to history again at the next flush (idempotent). */
  recover(views: readonly string[]): void {
    if (this.options.history) for (const view of views) this.recovering.add(view);
  }

  /** Parts of a view to publish at the next flush; a part given twice keeps its greatest watermark. */
  note(view: string, parts: Readonly<Record<string, number>>): void {
    // A new object: a flush in progress tells by identity whether the view was noted again meanwhile.
    const held = { ...this.pending.get(view) };
    // Whole ms, as stores keep them (an event time may carry a fraction): rounded down, never ahead.
    for (const [part, given] of Object.entries(parts)) {
      const watermark = Math.floor(given);
      held[part] = Math.max(held[part] ?? watermark, watermark);
    }
    this.pending.set(view, held);
  }

  /**
   * Publishes what was noted, then appends what changed; one flush at a time (a flush asked for while
   * one runs runs once more after it). Never rejects: failures are told to onError and kept.
   */
  flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    const flushing = (async () => {
      do {
        this.again = false;
        await this.flushOnce();
      } while (this.again);
    })().finally(() => {
      this.flushing = null;
    });
    this.flushing = flushing;
    return flushing;
  }

  private async flushOnce(): Promise<void> {
    const { store, history } = this.options;
    if (this.recovering.size > 0) {
      const views = [...this.recovering];
      try {
        const current = await store.readWatermarks(views);
        this.unappended.push(...current.values());
        for (const view of views) this.recovering.delete(view);
      } catch (error) {
        this.fail(`reading the watermarks of views ${views.join(', ')} (to append to history at start)`, error);
      }
    }
    for (const [view, parts] of [...this.pending]) {
      try {
        const published = await store.publishWatermarks(view, parts, this.options.now());
        // Noted again meanwhile: those parts wait for the next flush.
        if (this.pending.get(view) === parts) this.pending.delete(view);
        recordViewWatermark(view, published.current.watermark);
        if (published.changed && history) this.unappended.push(published.current);
      } catch (error) {
        this.fail(`publishing the watermark of view ${view}`, error);
      }
    }
    if (this.unappended.length > 0 && history) {
      const records = this.unappended;
      this.unappended = [];
      try {
        await history.appendWatermarks(records);
      } catch (error) {
        this.unappended = [...records, ...this.unappended];
        this.fail(`appending watermark changes of views ${[...new Set(records.map((r) => r.view))].join(', ')} to history`, error);
      }
    }
  }

  private fail(what: string, error: unknown): void {
    try {
      this.options.log?.(`${what} failed; trying again ${this.options.nextFlush}: ${error instanceof Error ? error.message : String(error)}`);
    } catch {
      // A listener that fails must not stop the publishing.
    }
  }
}
