// Smoke tests of the Redis servers test/services starts: the standalone server and the 3-master
// Cluster answer the commands the online store relies on. Keys carry a per-run prefix so that
// concurrent suites sharing the servers never collide, and each test removes its own keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { requireEndpoint } from '../services/endpoints.js';

const run = `smoke:${randomUUID()}`;

test('redis standalone: set, get, mget and a pipeline', async () => {
  const { host, port } = requireEndpoint('redis');
  const redis = new Redis({ host, port, maxRetriesPerRequest: 1 });
  try {
    await redis.set(`${run}:a`, '1');
    await redis.set(`${run}:b`, '2');
    assert.equal(await redis.get(`${run}:a`), '1');
    assert.deepEqual(await redis.mget(`${run}:a`, `${run}:b`, `${run}:missing`), ['1', '2', null]);

    const results = await redis.pipeline().set(`${run}:c`, '3').incr(`${run}:a`).get(`${run}:c`).exec();
    assert.deepEqual(results, [[null, 'OK'], [null, 2], [null, '3']]);
  } finally {
    await redis.del(`${run}:a`, `${run}:b`, `${run}:c`);
    await redis.quit();
  }
});

function clusterClient(): Cluster {
  const { nodes } = requireEndpoint('redis-cluster');
  // Top level, not in redisOptions: Cluster ignores some options there.
  return new Cluster(nodes, { enableOfflineQueue: true, redisOptions: { maxRetriesPerRequest: 1 } });
}

test('redis cluster: keys sharing a {hashtag} live in one slot and mget reads them together', async () => {
  const cluster = clusterClient();
  const tag = `{${run}}`;
  const keys = [`${tag}:x`, `${tag}:y`, `${tag}:z`];
  try {
    await cluster.mset(keys[0]!, 'x', keys[1]!, 'y', keys[2]!, 'z');
    const slots = await Promise.all(keys.map((key) => cluster.cluster('KEYSLOT', key)));
    assert.equal(new Set(slots).size, 1);
    assert.deepEqual(await cluster.mget(...keys), ['x', 'y', 'z']);
  } finally {
    await cluster.del(...keys);
    await cluster.quit();
  }
});

/** Counts this run's keys on one master with SCAN (KEYS would block the server). */
async function countOwnKeys(node: Redis): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, found] = await node.scan(cursor, 'MATCH', `${run}:spread:*`, 'COUNT', 1000);
    cursor = next;
    count += found.length;
  } while (cursor !== '0');
  return count;
}

test('redis cluster: keys without a shared hashtag spread over all three masters', async () => {
  const cluster = clusterClient();
  const keys = Array.from({ length: 60 }, (_, i) => `${run}:spread:${i}`);
  try {
    await Promise.all(keys.map((key, i) => cluster.set(key, String(i))));
    const masters = cluster.nodes('master');
    assert.equal(masters.length, 3);
    const perMaster = await Promise.all(masters.map(countOwnKeys));
    assert.ok(perMaster.every((n) => n > 0), `every master holds some keys: ${perMaster.join(', ')}`);
    assert.equal(perMaster.reduce((a, b) => a + b, 0), keys.length);
    assert.deepEqual(await Promise.all(keys.map((key) => cluster.get(key))), keys.map((_, i) => String(i)));
  } finally {
    await Promise.all(keys.map((key) => cluster.del(key)));
    await cluster.quit();
  }
});
