// Materializes a column view from a row source (warehouse table or document collection): reads the
// rows changed since its watermark, writes one packed value per entity, deletes deleted ones. After a
// successful run, the run's upper bound becomes the view's published watermark (part "rows"): a view
// whose runs fail publishes nothing, and turns STALE once its freshness SLA is past.
import type { ResolvedView } from '../../schema/registry.js';
import type { OnlineStore } from '../../adapters/online/types.js';
import type { RowSource } from '../../adapters/sources/types.js';
import type { HistoryStore } from '../../adapters/history/types.js';
import { applyRows } from './apply.js';
import { WatermarkPublisher } from '../watermarks.js';

export interface RowMaterializerStats {
  runs: number;
  rows: number;
  deletes: number;
  lastRunAt: number | null;
  lastError: string | null;
}

export interface RowMaterializerOptions {
  view: ResolvedView;
  source: RowSource;
  store: OnlineStore;
  now?: () => number;
  history?: HistoryStore;
  /** Where a failed watermark publish is told (it is tried again at the next). */
  log?: (message: string) => void;
}

export class RowMaterializer {
  readonly stats: RowMaterializerStats = { runs: 0, rows: 0, deletes: 0, lastRunAt: null, lastError: null };
  /** Newest event time materialized so far; the next run reads only rows after it. */
  watermark: number | null = null;
  private readonly now: () => number;
  private readonly watermarks: WatermarkPublisher;

  constructor(private readonly options: RowMaterializerOptions) {
    this.now = options.now ?? Date.now;
    this.watermarks = new WatermarkPublisher({ store: options.store, history: options.history, now: this.now, log: options.log, nextFlush: 'after the next run' });
    this.watermarks.recover([options.view.name]);
  }

  /**
   * Publishes the last run's upper bound as the view's watermark, once the run went through (the
   * scheduler saved its checkpoint); never rejects: a failure is told to `log` and tried again next time.
   */
  async publishWatermark(): Promise<void> {
    if (this.stats.lastRunAt !== null) this.watermarks.note(this.options.view.name, { rows: this.stats.lastRunAt });
    await this.watermarks.flush();
  }

  /**
   * Finds keys the online store holds for this view that the source no longer has (deleted documents
   * that polling cannot see) and deletes them, so their features read MISSING. Holds the source's keys
   * in memory while it compares. Returns how many keys it deleted; 0 when the source cannot list keys.
   */
  async reconcile(): Promise<number> {
    const { view, source, store } = this.options;
    if (!source.listKeys) return 0;
    const present = new Set<string>();
    for await (const keys of source.listKeys()) for (const key of keys) present.add(key);
    const gone: { view: string; key: string }[] = [];
    for await (const keys of store.listKeys(view.name)) for (const key of keys) if (!present.has(key)) gone.push({ view: view.name, key });
    if (gone.length === 0) return 0;
    const now = this.now();
    const deleted = await applyRows(view, gone.map(({ key }) => ({ key, eventTime: now, values: {}, deleted: true })), store, this.options.history, now);
    this.stats.deletes += deleted;
    return deleted;
  }

  /** One incremental run: everything newer than the watermark, up to now. */
  async runOnce(): Promise<number> {
    const { view, source, store } = this.options;
    const until = this.now();
    const columns = view.features.map((f) => f.column ?? f.name);
    let count = 0;
    for await (const rows of source.read({ since: this.watermark, until, columns })) {
      this.stats.deletes += await applyRows(view, rows, store, this.options.history, this.now());
      for (const row of rows) this.watermark = Math.max(this.watermark ?? row.eventTime, row.eventTime);
      count += rows.length;
    }
    this.stats.runs++;
    this.stats.rows += count;
    this.stats.lastRunAt = until;
    return count;
  }
}
