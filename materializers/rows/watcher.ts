// Follows a collection's change feed (MongoDB change streams) where the server has one: each change is
// written to the online store (a delete makes the entity MISSING) and the feed's resume token is saved
// after every batch, so a restart continues after the last change handled and misses nothing. Sources
// without a feed refuse with UNSUPPORTED_CAPABILITY, and the view is polled on its schedule instead.
// Each time the feed comes back empty after the changes it handled, the view's watermark (part "rows",
// the one its polls publish too) becomes that instant: a live feed keeps the view fresh between polls.
import type { ResolvedView } from '../../schema/registry.js';
import { FeaturegraphError } from '../../schema/errors.js';
import type { OnlineStore } from '../../adapters/online/types.js';
import type { CheckpointStore, RowSource, RowWatch } from '../../adapters/sources/types.js';
import type { HistoryStore } from '../../adapters/history/types.js';
import { applyRows } from './apply.js';
import { WatermarkPublisher } from '../watermarks.js';

export interface ChangeFeedOptions {
  view: ResolvedView;
  source: RowSource;
  store: OnlineStore;
  checkpoints: CheckpointStore;
  history?: HistoryStore;
  now?: () => number;
  /** Where a failed watermark publish is told (it is tried again at the next). */
  log?: (message: string) => void;
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
  const watermarks = new WatermarkPublisher({ store, history: options.history, now, log: options.log, nextFlush: 'when the change feed is idle next' });
  watermarks.recover([view.name]);
  try {
    return await source.watch({
      columns,
      resumeAfter: await checkpoints.get(resumeTokenName(view.name)),
      handle: async (rows, token) => {
        await applyRows(view, rows, store, options.history, now());
        // Saved only once the batch is in the store: a crash before this replays the batch, harmlessly.
        await checkpoints.set(resumeTokenName(view.name), token);
      },
      onCaughtUp: (at) => {
        watermarks.note(view.name, { rows: Math.min(at, now()) });
        void watermarks.flush();
      },
    });
  } catch (error) {
    if (error instanceof FeaturegraphError && error.code === 'UNSUPPORTED_CAPABILITY') return null;
    throw error;
  }
}
