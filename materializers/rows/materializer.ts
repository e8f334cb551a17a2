// Materializes a column view from a row source (warehouse table or document collection): reads the
// rows changed since its watermark, writes one packed value per entity, deletes deleted ones.
import type { ResolvedView } from '../../schema/registry.js';
import type { FeatureValue } from '../../schema/types.js';
import type { OnlineStore, ValueWrite } from '../../adapters/online/types.js';
import type { RowSource, SourceRow } from '../../adapters/sources/types.js';
import type { HistoryRecord, HistoryStore } from '../../adapters/history/types.js';

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
}

export class RowMaterializer {
  readonly stats: RowMaterializerStats = { runs: 0, rows: 0, deletes: 0, lastRunAt: null, lastError: null };
  /** Newest event time materialized so far; the next run reads only rows after it. */
  watermark: number | null = null;
  private readonly now: () => number;

  constructor(private readonly options: RowMaterializerOptions) {
    this.now = options.now ?? Date.now;
  }

  private toValues(row: SourceRow): Record<string, FeatureValue> {
    const values: Record<string, FeatureValue> = {};
    for (const feature of this.options.view.features) {
      const raw = row.values[feature.column ?? feature.name];
      values[feature.name] = raw === undefined ? null : (raw as FeatureValue);
    }
    return values;
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
    await this.options.history?.append(gone.map(({ key }) => ({ view: view.name, key, id: `${key}:${now}:deleted`, eventTime: now, availableTime: now, values: {}, deleted: true })));
    await store.delete(gone);
    this.stats.deletes += gone.length;
    return gone.length;
  }

  /** One incremental run: everything newer than the watermark, up to now. */
  async runOnce(): Promise<number> {
    const { view, source, store } = this.options;
    const until = this.now();
    const columns = view.features.map((f) => f.column ?? f.name);
    let count = 0;
    for await (const rows of source.read({ since: this.watermark, until, columns })) {
      const writes: ValueWrite[] = [];
      const deletes = [];
      const history: HistoryRecord[] = [];
      const availableTime = this.now();
      const keepHistory = this.options.history !== undefined;
      for (const row of rows) {
        const values = row.deleted ? {} : this.toValues(row);
        if (keepHistory) history.push({ view: view.name, key: row.key, id: `${row.key}:${row.eventTime}${row.deleted ? ':deleted' : ''}`, eventTime: row.eventTime, availableTime, values, deleted: row.deleted });
        if (row.deleted) deletes.push({ view: view.name, key: row.key });
        else writes.push({ view: view.name, key: row.key, eventTime: row.eventTime, availableTime, values, retentionMs: view.retentionMs });
        this.watermark = Math.max(this.watermark ?? row.eventTime, row.eventTime);
      }
      if (history.length > 0) await this.options.history?.append(history);
      if (writes.length > 0) await store.writeValues(writes);
      if (deletes.length > 0) await store.delete(deletes);
      count += rows.length;
      this.stats.deletes += deletes.length;
    }
    this.stats.runs++;
    this.stats.rows += count;
    this.stats.lastRunAt = until;
    return count;
  }
}
