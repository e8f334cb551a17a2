// Per-request state: one instant for the whole response, and a DataLoader that turns every feature
// read of a request level into one online-store round trip.
import DataLoader from 'dataloader';
import type { FeatureRegistry } from '../schema/registry.js';
import type { OnlineKey, OnlineStore, StoredValue } from '../adapters/online/types.js';

export interface ResolverLimits {
  /** Most entities one list or training-set field may ask for. */
  maxEntitiesPerField: number;
}

export interface GatewayServices {
  registry: FeatureRegistry;
  store: OnlineStore;
  limits: ResolverLimits;
  now?: () => number;
}

export interface RequestContext {
  services: GatewayServices;
  /** The instant every value of this response is computed at. */
  now: number;
  values: DataLoader<OnlineKey, StoredValue | null, string>;
}

const cacheKey = (key: OnlineKey) => `${key.view}\u0000${key.key}`;

export function createRequestContext(services: GatewayServices): RequestContext {
  return {
    services,
    now: (services.now ?? Date.now)(),
    values: new DataLoader((keys: readonly OnlineKey[]) => services.store.read(keys), { cacheKeyFn: cacheKey, maxBatchSize: 10_000 }),
  };
}
