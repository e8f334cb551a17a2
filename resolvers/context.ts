// Per-request state: the request's instant, a DataLoader that turns every feature read of a request
// level into one online-store round trip (each answer read at the instant the store answered, with
// its view's watermark from the same round trip), one that does the same for reads of the past, the
// store failures met, reported once per field path, and the request's telemetry
// (resolvers/telemetry.ts), when the gateway has any, and, for a request sampled for the served-feature
// log, the sink its records go to (resolvers/served-log.ts).
import DataLoader from 'dataloader';
import type { FeatureRegistry } from '../schema/registry.js';
import type { OnlineKey, OnlineStore, ServingRead, StoredValue } from '../adapters/online/types.js';
import type { HistoryStore } from '../adapters/history/types.js';
import { createPastLoader, type PastLoader } from './past.js';
import { StoreFailures } from './store-failures.js';
import type { OperationTelemetry, RequestTelemetry } from './telemetry.js';
import type { ServedLogSink, ServedOperation } from './served-log.js';

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
  /** Where a sample of the online answers is logged; none without. */
  servedLog?: ServedLogSink | null;
}

/**
 * What the online store held for a key, and the instant it is read at: when the store answered, not
 * when the request came. A write that lands while the read is on its way is in the answer, and may
 * hold an event stamped after the request came; read at the request's instant, a window would count
 * an event from after that instant, which no SERVED read of it ever counts.
 */
export interface OnlineRead {
  stored: StoredValue | null;
  at: number;
  /** The watermark of the key's view, read in the same round trip; null when it has none. */
  watermark: number | null;
}

export interface RequestContext {
  services: GatewayServices;
  /** The instant the request came: asOf may not be after it. */
  now: number;
  /** One round trip per request level; every key of a round trip is read at its answer's instant. */
  values: DataLoader<OnlineKey, OnlineRead, string>;
  /** Null when no history store is configured. */
  past: PastLoader | null;
  /** Reads that failed, by field path: resolvers leave the field null and report it here. */
  storeFailures: StoreFailures;
  /** Null when the gateway has no telemetry. */
  telemetry: RequestTelemetry | null;
  /** The operation this context runs (Apollo gives each operation of a batch its own copy); null untraced and unmeasured. */
  operation: OperationTelemetry | null;
  /** The sink of the request's records when the request is sampled for the served-feature log; else null. */
  servedLog: ServedLogSink | null;
  /** The records of the operation this context runs, when it is sampled (set per operation, as `operation`); else null. */
  served: ServedOperation | null;
}

/**
 * A store read already made for this request (by the fast path, before it handed the request over):
 * the request is answered from it, at its instant, and those keys are not read again.
 */
export interface PriorRead {
  /** When the store answered (or failed). */
  now: number;
  keys: readonly OnlineKey[];
  result: ({ ok: true } & ServingRead) | { ok: false; error: unknown };
}

/** The reads of a round trip's keys, each with its view's watermark, at the instant `at`. */
function onlineReads(keys: readonly OnlineKey[], read: ServingRead, at: number): OnlineRead[] {
  return keys.map((key, i) => ({ stored: read.values[i] ?? null, at, watermark: read.watermarks.get(key.view)?.watermark ?? null }));
}

const cacheKey = (key: OnlineKey) => `${key.view}\u0000${key.key}`;

/** `logged`: the request is sampled for the served-feature log (decided once per HTTP request). */
export function createRequestContext(services: GatewayServices, prior?: PriorRead, telemetry: RequestTelemetry | null = null, logged = false): RequestContext {
  const clock = services.now ?? Date.now;
  const values = new DataLoader(
    async (keys: readonly OnlineKey[]): Promise<OnlineRead[]> => {
      const read = await (telemetry ? telemetry.onlineRead(keys, () => services.store.readServing(keys)) : services.store.readServing(keys));
      return onlineReads(keys, read, clock());
    },
    { cacheKeyFn: cacheKey, maxBatchSize: 10_000 },
  );
  if (prior) {
    const { result, now: at } = prior;
    // DataLoader primes a rejection from an Error instance: every key then fails with that one error.
    if (result.ok) {
      const reads = onlineReads(prior.keys, result, at);
      prior.keys.forEach((key, i) => values.prime(key, reads[i] as OnlineRead));
    } else {
      const failure = result.error instanceof Error ? result.error : new Error(String(result.error));
      for (const key of prior.keys) values.prime(key, failure);
    }
  }
  return {
    services,
    now: prior?.now ?? clock(),
    values,
    past: services.history ? createPastLoader(services.history, telemetry) : null,
    storeFailures: new StoreFailures(),
    telemetry,
    operation: null,
    servedLog: logged ? (services.servedLog ?? null) : null,
    served: null,
  };
}
