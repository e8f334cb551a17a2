// The materializer's keys in Redis: what it wrote (checked against what was produced), and removing them.
import type { Redis } from 'ioredis';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';

const viewName = 'bench_order_activity';

/** Sums the count and sum tiles of every key under the prefix (all events are inside both windows), read through the store. */
export async function storedTotals(redisUrl: string, prefix: string, keys: string[]): Promise<{ keys: number; orders: number; revenue: number }> {
  const store = new RedisOnlineStore({ mode: 'standalone', url: redisUrl, keyPrefix: prefix, commandTimeoutMs: 10_000 });
  await store.connect();
  const out = { keys: 0, orders: 0, revenue: 0 };
  try {
    for (let i = 0; i < keys.length; i += 500) {
      for (const state of await store.read(keys.slice(i, i + 500).map((key) => ({ view: viewName, key })))) {
        if (state === null) continue;
        out.keys++;
        for (const cell of Object.values(state.tiles?.ordersLast30m ?? {})) out.orders += cell as number;
        for (const cell of Object.values(state.tiles?.revenueLast24h ?? {})) out.revenue += cell as number;
      }
    }
  } finally {
    await store.close();
  }
  return out;
}

export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
