import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryServedLogStore } from '../../adapters/served-log/memory.js';
import { readAll, servedLogStoreConformance, servedRecord } from './served-log-store.js';

servedLogStoreConformance('memory', async () => {
  const store = new MemoryServedLogStore();
  return { store, teardown: () => store.close() };
});

test('the memory served log keeps the newest maxRecords, forgetting the ids of those it dropped', async () => {
  const store = new MemoryServedLogStore({ maxRecords: 3 });
  await store.append([servedRecord('a', 1), servedRecord('b', 2), servedRecord('c', 3)]);
  await store.append([servedRecord('d', 4), servedRecord('b', 2)]);
  assert.deepEqual((await readAll(store, { from: 0, to: 10 })).records.map((r) => r.id), ['b', 'c', 'd']);
  await store.append([servedRecord('a', 1)]);
  assert.deepEqual((await readAll(store, { from: 0, to: 10 })).records.map((r) => r.id), ['a', 'c', 'd']);
  assert.throws(() => new MemoryServedLogStore({ maxRecords: 0 }), /memory served log: maxRecords must be an integer from 1 to 100000000, got 0/);
});
