// Chooses the online store implementation by its config `type`; each lives in its own folder.
import { ConfigError } from '../../schema/errors.js';
import { shown } from '../common/options.js';
import type { OnlineStore } from './types.js';
import { MemoryOnlineStore } from './memory/index.js';

interface RedisTuning {
  keyPrefix?: string;
  commandTimeoutMs?: number;
  writeTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export type OnlineStoreConfig =
  | { type: 'memory' }
  | ({ type: 'redis'; url: string } & RedisTuning)
  | ({ type: 'redis-cluster'; nodes: { host: string; port: number }[]; username?: string; password?: string } & RedisTuning);

export async function createOnlineStore(config: OnlineStoreConfig): Promise<OnlineStore> {
  switch (config.type) {
    case 'memory':
      return new MemoryOnlineStore();
    case 'redis':
    case 'redis-cluster': {
      const { RedisOnlineStore } = await import('./redis/index.js');
      const store =
        config.type === 'redis'
          ? new RedisOnlineStore({ ...config, mode: 'standalone' })
          : new RedisOnlineStore({ ...config, mode: 'cluster' });
      // Not reachable yet is not fatal: reads fail fast with a coded error, /readyz says 503, and the
      // client keeps reconnecting, so the gateway serves as soon as Redis answers.
      await store.connect().catch(() => undefined);
      return store;
    }
    default: {
      const unreachable: never = config;
      throw new ConfigError(`online store: type must be "memory", "redis" or "redis-cluster", got ${shown((unreachable as { type?: unknown }).type)}`);
    }
  }
}

export type { OnlineStore, OnlineKey, StoredValue, ValueWrite, TileWrite, TileCells, TileWriteOutcome } from './types.js';
export { MemoryOnlineStore } from './memory/index.js';
