// Per-request state: one instant for the whole response, a DataLoader that turns every feature read of
// a request level into one online-store round trip, one that does the same for reads of the past, and
// the store failures met, reported once per field path.
import DataLoader from 'dataloader';
import type { FeatureRegistry } from '../schema/registry.js';
import type { OnlineKey, OnlineStore, StoredValue } from '../adapters/online/types.js';
import type { HistoryStore } from '../adapters/history/types.js';
import { createPastLoader, type PastLoader } from './past.js';
import { StoreFailures } from './store-failures.js';

export interface ResolverLimits {
  /** Most entities one list or training-set field may ask for. */
  maxEntitiesPerField: number;
}

export interface GatewayServices {
  registry: FeatureRegistry;
  store: OnlineStore;
  /** Where asOf reads and training sets read the past; without one they answer AS_OF_UNAVAILABLE. */
  history?: HistoryStore;
  limits: ResolverLimits;
  now?: () => number;
}

export interface RequestContext {
  services: GatewayServices;
  /** The instant every value of this response is computed at; asOf may not be after it. */
  now: number;
  values: DataLoader<OnlineKey, StoredValue | null, string>;
  /** Null when no history store is configured. */
  past: PastLoader | null;
  /** Reads that failed, by field path: resolvers leave the field null and report it here. */
  storeFailures: StoreFailures;
}

/**
 * A store read already made for this request (by the fast path, before it handed the request over):
 * the request is answered from it, at its instant, and those keys are not read again.
 */
export interface PriorRead {
  now: number;
  keys: readonly OnlineKey[];
  result: { ok: true; values: readonly (StoredValue | null)[] } | { ok: false; error: unknown };
}

const cacheKey = (key: OnlineKey) => `${key.view}\u0000${key.key}`;

export function createRequestContext(services: GatewayServices, prior?: PriorRead): RequestContext {
  const values = new DataLoader((keys: readonly OnlineKey[]) => services.store.read(keys), { cacheKeyFn: cacheKey, maxBatchSize: 10_000 });
  if (prior) {
    const { result } = prior;
    // DataLoader primes a rejection from an Error instance: every key then fails with that one error.
    const failure = result.ok ? null : result.error instanceof Error ? result.error : new Error(String(result.error));
    prior.keys.forEach((key, i) => values.prime(key, failure ?? (result.ok ? (result.values[i] ?? null) : null)));
  }
  return {
    services,
    now: prior?.now ?? (services.now ?? Date.now)(),
    values,
    past: services.history ? createPastLoader(services.history) : null,
    storeFailures: new StoreFailures(),
  };
}
