// Reads of the past: a per-request DataLoader over the history store, keyed by (view, entity key, asOf,
// mode). Every past read of one request level lands in one batch, which becomes one readAsOf call per
// (entity, mode): a list or a training set of 1,000 rows is one store query, not 1,000. A view the
// store holds no change of at all answers AS_OF_UNAVAILABLE on its own fields (the other views' still
// answer): its MISSING would claim every entity had no value then, when the store simply cannot say.
import DataLoader from 'dataloader';
import type { ResolvedFeature, ResolvedView } from '../schema/registry.js';
import type { FeatureRead } from '../schema/snapshot.js';
import { FeaturegraphError } from '../schema/errors.js';
import type { HistoryStore, PointInTimeRow, TimeMode } from '../adapters/history/types.js';
import { emptyHistoryError, viewsWithoutHistory } from '../adapters/history/presence.js';
import type { RequestTelemetry } from './telemetry.js';

export interface PastKey {
  view: ResolvedView;
  key: string;
  asOf: number;
  mode: TimeMode;
}

/** Each feature of the key's view, by feature name, as of the key's instant. */
export type PastReads = Readonly<Record<string, FeatureRead>>;

export type PastLoader = DataLoader<PastKey, PastReads, string>;

const cacheKey = (k: PastKey) => `${k.view.name}\u0000${k.key}\u0000${k.asOf}\u0000${k.mode}`;

/** A store failure as a coded, retriable error; the backend's own message (hosts, SQL) stays in `cause`. */
function historyFailure(store: HistoryStore, error: unknown): FeaturegraphError {
  if (error instanceof FeaturegraphError) return error;
  return new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', `history store ${store.name} failed to answer a point-in-time read`, { retriable: true, cause: error });
}

async function readGroup(store: HistoryStore, mode: TimeMode, keys: readonly PastKey[]): Promise<PastReads[]> {
  const views = [...new Set(keys.map((k) => k.view))];
  const features: ResolvedFeature[] = views.flatMap((view) => view.features);
  const rows: PointInTimeRow[] = [];
  const rowAt = new Map<string, number>();
  const rowOf = keys.map((k) => {
    const id = `${k.key}\u0000${k.asOf}`;
    let index = rowAt.get(id);
    if (index === undefined) {
      index = rows.length;
      rowAt.set(id, index);
      rows.push({ key: k.key, asOf: k.asOf });
    }
    return index;
  });
  const reads = await store.readAsOf({ features, mode }, rows);
  if (reads.length !== rows.length) throw new FeaturegraphError('INTERNAL', `history store ${store.name} answered ${reads.length} rows for ${rows.length}`);
  const column = new Map(features.map((feature, j) => [feature, j] as const));
  return keys.map((k, i) => {
    const row = reads[rowOf[i] as number] as FeatureRead[];
    const out: Record<string, FeatureRead> = {};
    for (const feature of k.view.features) out[feature.name] = row[column.get(feature) as number] as FeatureRead;
    return out;
  });
}

/** One batch of past reads: each key's reads, or that key's error. */
async function readBatch(store: HistoryStore, keys: readonly PastKey[]): Promise<(PastReads | FeaturegraphError)[]> {
  // A slot's error is that key's answer (DataLoader rejects its load), the others' still resolve.
  const out: (PastReads | FeaturegraphError)[] = new Array(keys.length);
  let empty: Set<string>;
  try {
    empty = new Set(await viewsWithoutHistory(store, keys.map((k) => k.view.name)));
  } catch (error) {
    throw historyFailure(store, error);
  }
  // One read per (entity, mode): the store's query covers features of one entity in one mode.
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    if (empty.has(k.view.name)) {
      out[i] = emptyHistoryError(store, k.view.name);
      return;
    }
    const group = `${k.view.entity.name}\u0000${k.mode}`;
    const list = groups.get(group);
    if (list) list.push(i);
    else groups.set(group, [i]);
  });
  try {
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        const group = indexes.map((i) => keys[i] as PastKey);
        const reads = await readGroup(store, (group[0] as PastKey).mode, group);
        indexes.forEach((index, n) => {
          out[index] = reads[n] as PastReads;
        });
      }),
    );
  } catch (error) {
    throw historyFailure(store, error);
  }
  return out;
}

/** Reads of the past of one request; its telemetry, if any, times and traces each batch as one history read. */
export function createPastLoader(store: HistoryStore, telemetry: RequestTelemetry | null = null): PastLoader {
  return new DataLoader<PastKey, PastReads, string>(
    (keys: readonly PastKey[]) => (telemetry ? telemetry.historyRead(keys.map((k) => k.view.name), keys.length, () => readBatch(store, keys)) : readBatch(store, keys)),
    { cacheKeyFn: cacheKey, maxBatchSize: 100_000 },
  );
}
