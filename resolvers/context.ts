// Per-request state: one instant for the whole response, a DataLoader that turns every feature read of
// a request level into one online-store round trip, and one that does the same for reads of the past.
import DataLoader from 'dataloader';
import type { FeatureRegistry } from '../schema/registry.js';
import type { OnlineKey, OnlineStore, StoredValue } from '../adapters/online/types.js';
import type { HistoryStore } from '../adapters/history/types.js';
import { createPastLoader, type PastLoader } from './past.js';

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
}

const cacheKey = (key: OnlineKey) => `${key.view}\u0000${key.key}`;

export function createRequestContext(services: GatewayServices): RequestContext {
  return {
    services,
    now: (services.now ?? Date.now)(),
    values: new DataLoader((keys: readonly OnlineKey[]) => services.store.read(keys), { cacheKeyFn: cacheKey, maxBatchSize: 10_000 }),
    past: services.history ? createPastLoader(services.history) : null,
  };
}
