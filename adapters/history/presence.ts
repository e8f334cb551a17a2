// Whether a history store holds any change of a view. A read asOf of a view nothing has materialized or
// backfilled into the store would answer MISSING for every key, as if each entity had no value then;
// the truth is that the store cannot say, so callers refuse such a read with AS_OF_UNAVAILABLE instead
// (a view with history but none for the asked key stays MISSING: that is a real answer).
//
// History never shrinks, so a view found to have some is remembered for the store's life and the
// check costs nothing after the first read; a view found empty is asked again next time (something
// may have materialized it since).
import { FeaturegraphError } from '../../schema/errors.js';
import type { HistoryStore } from './types.js';

const known = new WeakMap<HistoryStore, Set<string>>();

/** The views (of `views`) of which the store holds no change at all. */
export async function viewsWithoutHistory(store: HistoryStore, views: Iterable<string>): Promise<string[]> {
  let present = known.get(store);
  if (present === undefined) known.set(store, (present = new Set()));
  const unknown = [...new Set(views)].filter((view) => !(present as Set<string>).has(view));
  const counts = await Promise.all(unknown.map((view) => store.count(view)));
  const empty: string[] = [];
  unknown.forEach((view, i) => {
    if ((counts[i] as number) > 0) (present as Set<string>).add(view);
    else empty.push(view);
  });
  return empty;
}

export function emptyHistoryError(store: HistoryStore, view: string): FeaturegraphError {
  return new FeaturegraphError('AS_OF_UNAVAILABLE', `history store ${store.name} holds no change of view ${view}: nothing has materialized or backfilled it into this store`);
}

/** Refuses a read of views when the store holds no change of one of them (the first one is named). */
export async function requireHistory(store: HistoryStore, views: Iterable<string>): Promise<void> {
  const [empty] = await viewsWithoutHistory(store, views);
  if (empty !== undefined) throw emptyHistoryError(store, empty);
}
