// The dependencies `serve` and `materialize` declare in their Health (health.ts), and how each one is
// watched: the online store by its ping, the history store by its ping once open. A history store that
// cannot be reached at start is waited for: `serve` serves online reads meanwhile (asOf reads answer
// HISTORY_STORE_UNAVAILABLE), `materialize` waits before materializing anything, since every change it
// applies must reach history.
import type { OnlineStore } from '../adapters/online/types.js';
import type { HistoryStore } from '../adapters/history/types.js';
import type { ResolvedView } from '../schema/registry.js';
import type { BackoffOptions } from '../schema/backoff.js';
import type { GatewayConfig, HistoryConfig } from './config.js';
import type { Health } from './health.js';
import { historyTarget, openHistoryWaiting } from './history.js';
import { DeferredHistoryStore } from './deferred-history.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Where the online store is: its type and host:port list, never a password. */
export function onlineStoreTarget(config: GatewayConfig['onlineStore']): string {
  switch (config.type) {
    case 'memory':
      return 'memory, private to this process';
    case 'redis': {
      try {
        const url = new URL(config.url);
        return `redis ${url.hostname}:${url.port || '6379'}${url.pathname.length > 1 ? `, db ${url.pathname.slice(1)}` : ''}`;
      } catch {
        return 'redis (unparsable url)';
      }
    }
    case 'redis-cluster':
      return `redis-cluster ${config.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
    default: {
      const unreachable: never = config;
      return String(unreachable);
    }
  }
}

/** Declares the online store, probed by its ping (a read request would wait no longer than 500 ms). */
export function watchOnlineStore(health: Health, store: OnlineStore, config: GatewayConfig['onlineStore'], meanwhile: string): void {
  health.add('onlineStore', { target: onlineStoreTarget(config), probe: () => store.ping(), probeTimeoutMs: 500, meanwhile });
}

/** Declares a history store that is already open, probed by its ping when it has one (a server). */
export function watchHistory(health: Health, history: HistoryStore, target: string, meanwhile: string): void {
  health.add('history', { target, probe: async () => history.ping?.(), probeTimeoutMs: 2000, meanwhile });
}

export interface ServeHistoryOptions {
  views: readonly ResolvedView[];
  log: (message: string) => void;
  health: Health;
  env?: NodeJS.ProcessEnv;
  backoff?: BackoffOptions;
}

/**
 * Opens the history store for `serve`. A failure a wait can mend (the server not reachable yet) is not
 * fatal: the store is returned deferred, while the same wait (openHistoryWaiting) goes on opening it in
 * the background with backoff, and the health report names it as waiting with the cause. Any other
 * failure (a missing secret, refused credentials) is thrown: the process must not start.
 */
export async function openServeHistory(config: HistoryConfig, options: ServeHistoryOptions): Promise<HistoryStore> {
  const { health, log } = options;
  const meanwhile = 'asOf reads and training sets answer HISTORY_STORE_UNAVAILABLE';
  const target = historyTarget(config, options.env);
  // Stopped by the deferred store's close(), once there is one.
  const stop = new AbortController();
  let deferred: DeferredHistoryStore | null = null;
  let firstFailure: (error: unknown) => void = () => {};
  const failed = new Promise<{ failed: unknown }>((resolve) => (firstFailure = (error) => resolve({ failed: error })));
  const opening = openHistoryWaiting(config, {
    views: options.views,
    log,
    ...(options.env ? { env: options.env } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
    signal: stop.signal,
    onWait: (error) => {
      if (deferred === null) return firstFailure(error);
      health.set('history', 'waiting', message(error));
      deferred.retrying(message(error));
    },
  });
  // Whichever comes first: the store (opened at the first try), a failure no wait mends (thrown), or
  // the first failure that is waited out.
  const first = await Promise.race([opening, failed]);
  if (!('failed' in first)) {
    watchHistory(health, first.store, target, meanwhile);
    health.set('history', 'ready');
    return first.store;
  }
  deferred = new DeferredHistoryStore(
    config.type,
    async (signal) => {
      signal.addEventListener('abort', () => stop.abort(), { once: true });
      return (await opening).store;
    },
    message(first.failed),
    (outcome) => {
      if (outcome.kind === 'open') health.set('history', 'ready');
      else health.set('history', 'failed', outcome.cause);
    },
  );
  watchHistory(health, deferred, target, meanwhile);
  health.set('history', 'waiting', message(first.failed));
  return deferred;
}
