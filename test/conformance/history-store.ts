// The history-store conformance suite: memory, embedded (DuckDB) and Snowflake pass the same assertions.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryRecord, HistoryStore } from '../../adapters/history/types.js';
import { pointInTimeConformance } from './history-store-reads.js';

async function all(store: HistoryStore, scan: Parameters<HistoryStore['scan']>[0]): Promise<HistoryRecord[]> {
  const out: HistoryRecord[] = [];
  for await (const batch of store.scan(scan)) out.push(...batch);
  return out;
}

const record = (view: string, key: string, id: string, eventTime: number, availableTime: number, values: Record<string, unknown>, deleted?: boolean): HistoryRecord => ({ view, key, id, eventTime, availableTime, values, ...(deleted ? { deleted } : {}) });

/** `exportsTrainingSets`: the store exports training sets itself; its export must then pass the export test. */
export interface HistoryStoreTraits {
  exportsTrainingSets: boolean;
}

export function historyStoreConformance(label: string, create: () => Promise<{ store: HistoryStore; teardown(): Promise<void> }>, traits: HistoryStoreTraits): void {
  describe(`history store conformance: ${label}`, () => {
    let store: HistoryStore;
    let teardown: () => Promise<void>;
    before(async () => ({ store, teardown } = await create()));
    after(() => teardown());

    test('appends, then scans a view in (eventTime, id) order with values intact', async () => {
      await store.append([record('v1', 'r2', 'b', 20, 25, { x: 1.5, s: 'é"', l: ['a'], n: null }), record('v1', 'r1', 'a', 10, 30, { x: 2 }), record('v1', 'r1', 'c', 20, 21, { x: 3 }), record('v2', 'r1', 'a', 5, 5, { y: true })]);
      assert.deepEqual(await all(store, { view: 'v1' }), [record('v1', 'r1', 'a', 10, 30, { x: 2 }), record('v1', 'r2', 'b', 20, 25, { x: 1.5, s: 'é"', l: ['a'], n: null }), record('v1', 'r1', 'c', 20, 21, { x: 3 })]);
      assert.equal(await store.count('v1'), 3);
      assert.equal(await store.count('v2'), 1);
    });

    test('appending an id again changes nothing (a replay after a crash)', async () => {
      await store.append([record('v3', 'k', 'same', 1, 2, { x: 1 })]);
      await store.append([record('v3', 'k', 'same', 1, 99, { x: 2 }), record('v3', 'k', 'same', 1, 98, { x: 3 })]);
      assert.deepEqual(await all(store, { view: 'v3' }), [record('v3', 'k', 'same', 1, 2, { x: 1 })]);
    });

    test('scans filter by keys, eventTime and availableTime bounds (inclusive)', async () => {
      await store.append([record('v4', 'a', '1', 10, 12, {}), record('v4', 'b', '2', 20, 40, {}), record('v4', 'a', '3', 30, 31, {}, true)]);
      assert.deepEqual((await all(store, { view: 'v4', keys: ['a'] })).map((r) => r.id), ['1', '3']);
      assert.deepEqual((await all(store, { view: 'v4', eventTimeTo: 20 })).map((r) => r.id), ['1', '2']);
      assert.deepEqual((await all(store, { view: 'v4', availableTimeTo: 31 })).map((r) => r.id), ['1', '3']);
      assert.equal((await all(store, { view: 'v4', keys: ['a'] }))[1]?.deleted, true);
      assert.deepEqual(await all(store, { view: 'v4', keys: [] }), []);
    });

    test('appends running at the same time lose nothing', async () => {
      const batches = Array.from({ length: 40 }, (_, b) => Array.from({ length: 50 }, (_, i) => record('v6', `k${i % 5}`, `b${b}-${i}`, b * 100 + i, b * 100 + i + 1, { x: i })));
      await Promise.all(batches.map(async (batch, b) => {
        await new Promise((resolve) => setTimeout(resolve, (b * 7) % 13));
        await store.append(batch);
      }));
      assert.equal(await store.count('v6'), 40 * 50);
    });

    test('a large view comes back whole, in order, in bounded batches', async () => {
      const records = Array.from({ length: 12_000 }, (_, i) => record('v5', `k${i % 7}`, `id${String(i).padStart(6, '0')}`, Math.floor(i / 3), i, { i }));
      await store.append(records);
      let batches = 0;
      const seen: HistoryRecord[] = [];
      for await (const batch of store.scan({ view: 'v5' })) {
        batches++;
        assert.ok(batch.length <= 5000);
        seen.push(...batch);
      }
      assert.ok(batches >= 3);
      assert.deepEqual(seen.map((r) => r.id), records.map((r) => r.id));
    });

    pointInTimeConformance(() => store, traits);
  });
}
