// The fast path's plan cache is bounded by the bytes of what it keeps (query texts and plans), not by
// entries: distinct large queries (1,000 of 1.9 MB each held 2 GB) cannot grow it past its budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { specifiedRules } from 'graphql';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { MemoryOnlineStore } from '../../../../adapters/online/memory/index.js';
import { FastPath } from '../../../../resolvers/plan/index.js';
import { ByteBoundedCache } from '../../../../resolvers/plan/cache.js';
import { buildSchema } from '../../../../gateway/server.js';

const registry = await loadFeatureRepo('examples/food-delivery/features');
const schema = buildSchema(registry);
const fastPath = (options: { cacheBytes?: number; maxCachedEntryBytes?: number } = {}) =>
  new FastPath({ registry, schema, store: new MemoryOnlineStore(), rules: specifiedRules, maxEntitiesPerField: 1000, maxTokens: 5000, now: () => 0, ...options });

/** A valid operation the fast path answers, made distinct and about `size` characters long by its key. */
const queryOf = (i: number, size: number) => `{ restaurant(restaurantId: "${String(i).padEnd(size, 'x')}") { restaurantId isOpen } }`;

test('distinct large queries fill the cache up to its byte budget, never past it', async () => {
  const path = fastPath({ cacheBytes: 1024 * 1024 });
  let held = 0;
  for (let i = 0; i < 300; i++) {
    assert.notEqual(await path.answer({ query: queryOf(i, 20_000) }), null, 'answered from a plan');
    const { bytes, entries } = path.cacheStats();
    assert.ok(bytes <= 1024 * 1024, `${bytes} bytes held after ${i + 1} queries`);
    // What it holds is counted: each entry at least its query text, twice (the key and the literal kept in the plan).
    assert.ok(bytes >= entries * 2 * 20_000, `${bytes} bytes for ${entries} entries`);
    held = Math.max(held, entries);
  }
  assert.ok(held >= 10 && held < 300, `held at most ${held} entries of ~20 KB`);
  assert.equal(path.stats.answered, 300);
});

test('a query text over the entry limit is answered but never kept', async () => {
  const path = fastPath();
  const big = queryOf(1, 1_900_000);
  for (let i = 0; i < 3; i++) assert.notEqual(await path.answer({ query: `${big}#${i}` }), null);
  assert.deepEqual(path.cacheStats(), { entries: 0, bytes: 0, maxBytes: 16 * 1024 * 1024 });
  await path.answer({ query: queryOf(2, 10) });
  assert.equal(path.cacheStats().entries, 1);
});

test('the most recently used plans stay; declined operations are remembered too', async () => {
  const path = fastPath({ cacheBytes: 64 * 1024, maxCachedEntryBytes: 16 * 1024 });
  const hot = '{ restaurant(restaurantId: "r1") { isOpen } }';
  for (let i = 0; i < 200; i++) {
    await path.answer({ query: hot });
    await path.answer({ query: queryOf(i, 2_000) });
  }
  await path.answer({ query: '{ featureCatalog { id } }' });
  const { entries, bytes } = path.cacheStats();
  assert.ok(bytes <= 64 * 1024);
  assert.ok(entries > 2);
  assert.equal(path.stats.declined, 1);
});

test('ByteBoundedCache: evicts least recently used entries, refuses entries over the entry limit, counts bytes', () => {
  const cache = new ByteBoundedCache<string>({ maxBytes: 100, maxEntryBytes: 60 });
  assert.equal(cache.set('a', 'A', 40), true);
  assert.equal(cache.set('b', 'B', 40), true);
  assert.equal(cache.get('a'), 'A');
  assert.equal(cache.set('c', 'C', 40), true);
  assert.deepEqual([cache.get('a'), cache.get('b'), cache.get('c')], ['A', undefined, 'C']);
  assert.deepEqual([cache.size, cache.bytes], [2, 80]);
  assert.equal(cache.set('d', 'D', 61), false);
  assert.equal(cache.get('d'), undefined);
  assert.equal(cache.set('a', 'A2', 10), true);
  assert.deepEqual([cache.get('a'), cache.size, cache.bytes], ['A2', 2, 50]);
  assert.throws(() => new ByteBoundedCache({ maxBytes: 0 }), /maxBytes must be a positive integer, got 0/);
});
