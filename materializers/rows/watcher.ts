// Follows a collection's change feed (MongoDB change streams) where the server has one: each change is
// written to the online store (a delete makes the entity MISSING) and the feed's resume token is saved
// after every batch, so a restart continues after the last change handled and misses nothing. Sources
// without a feed refuse with UNSUPPORTED_CAPABILITY, and the view is polled on its schedule instead.
import type { ResolvedView } from '../../schema/registry.js';
import { FeaturegraphError } from '../../schema/errors.js';
import type { FeatureValue } from '../../schema/types.js';
import type { OnlineStore, ValueWrite } from '../../adapters/online/types.js';
import type { CheckpointStore, RowSource, RowWatch } from '../../adapters/sources/types.js';
import type { HistoryRecord, HistoryStore } from '../../adapters/history/types.js';

export interface ChangeFeedOptions {
  view: ResolvedView;
  source: RowSource;
  store: OnlineStore;
  checkpoints: CheckpointStore;
  history?: HistoryStore;
  now?: () => number;
}

export function resumeTokenName(view: string): string {
  return `resume-token:${view}`;
}

/** Starts following the feed; resolves to null when the source has none (poll it instead). */
export async function followChanges(options: ChangeFeedOptions): Promise<RowWatch | null> {
  const { view, source, store, checkpoints } = options;
  if (!source.watch) return null;
  const now = options.now ?? Date.now;
  const columns = view.features.map((f) => f.column ?? f.name);
  try {
    return await source.watch({
      columns,
      resumeAfter: await checkpoints.get(resumeTokenName(view.name)),
      handle: async (rows, token) => {
        const availableTime = now();
        const writes: ValueWrite[] = [];
        const deletes: { view: string; key: string }[] = [];
        const history: HistoryRecord[] = [];
        for (const row of rows) {
          const values: Record<string, FeatureValue> = {};
          for (const feature of view.features) values[feature.name] = (row.values[feature.column ?? feature.name] ?? null) as FeatureValue;
          if (options.history) history.push({ view: view.name, key: row.key, id: `${row.key}:${row.eventTime}${row.deleted ? ':deleted' : ''}`, eventTime: row.eventTime, availableTime, values: row.deleted ? {} : values, deleted: row.deleted });
          if (row.deleted) deletes.push({ view: view.name, key: row.key });
          else writes.push({ view: view.name, key: row.key, eventTime: row.eventTime, availableTime, values, retentionMs: view.retentionMs });
        }
        if (history.length > 0) await options.history?.append(history);
        if (writes.length > 0) await store.writeValues(writes);
        if (deletes.length > 0) await store.delete(deletes);
        // Saved only once the batch is in the store: a crash before this replays the batch, harmlessly.
        await checkpoints.set(resumeTokenName(view.name), token);
      },
    });
  } catch (error) {
    if (error instanceof FeaturegraphError && error.code === 'UNSUPPORTED_CAPABILITY') return null;
    throw error;
  }
}
