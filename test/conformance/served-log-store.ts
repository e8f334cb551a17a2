// The served-log-store conformance suite: memory, embedded (the history file, directly and through a
// shared file's owner) and Kafka pass the same assertions. Each test writes its own stretch of time
// (and entity names of its own), so that a store shared by the suite (one topic) keeps tests apart.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ServedRecord } from '../../schema/served-log.js';
import type { ServedLogRange, ServedLogStore } from '../../adapters/served-log/types.js';

export async function readAll(store: ServedLogStore, range: ServedLogRange): Promise<{ records: ServedRecord[]; batches: number[] }> {
  const records: ServedRecord[] = [];
  const batches: number[] = [];
  for await (const batch of store.read(range)) {
    batches.push(batch.length);
    records.push(...batch);
  }
  return { records, batches };
}

/** A test's stretch of time: [base, base + span). */
const span = 1_000_000_000;
// In the past: a Kafka read seeks by the time a record was sent, which comes after its `at`.
const stretch = (n: number) => Date.UTC(2020, 0, 1) + n * span;

export function servedRecord(id: string, at: number, overrides: Partial<ServedRecord> = {}): ServedRecord {
  return {
    id,
    at,
    entity: 'Restaurant',
    key: 'r1',
    segments: { city: 'Berlin' },
    features: { ordersLast30m: { value: 3, status: 'PRESENT' } },
    inputs: {},
    ...overrides,
  };
}

export function servedLogStoreConformance(label: string, create: () => Promise<{ store: ServedLogStore; teardown(): Promise<void> }>): void {
  describe(`served-log store conformance: ${label}`, () => {
    let store: ServedLogStore;
    let teardown: () => Promise<void>;
    before(async () => ({ store, teardown } = await create()));
    after(() => teardown());

    test('reads a range: from inclusive, to exclusive', async () => {
      const t = stretch(1);
      await store.append([servedRecord('a', t - 1), servedRecord('b', t), servedRecord('c', t + 500), servedRecord('d', t + 999), servedRecord('e', t + 1000)]);
      assert.deepEqual((await readAll(store, { from: t, to: t + 1000 })).records.map((r) => r.id), ['b', 'c', 'd']);
      assert.deepEqual((await readAll(store, { from: t + 1000, to: t + 1000 })).records, []);
      assert.deepEqual((await readAll(store, { from: t + 1001, to: t })).records, []);
    });

    test('keeps one entity when asked', async () => {
      const t = stretch(2);
      await store.append([servedRecord('r-1', t, { entity: 'Restaurant' }), servedRecord('u-1', t + 1, { entity: 'User', key: 'u1', segments: { country: 'DE' } }), servedRecord('r-2', t + 2, { entity: 'Restaurant', key: 'r2' })]);
      assert.deepEqual((await readAll(store, { from: t, to: t + 10, entity: 'User' })).records.map((r) => r.id), ['u-1']);
      assert.deepEqual((await readAll(store, { from: t, to: t + 10, entity: 'Restaurant' })).records.map((r) => r.id), ['r-1', 'r-2']);
      assert.deepEqual((await readAll(store, { from: t, to: t + 10, entity: 'Nobody' })).records, []);
      assert.equal((await readAll(store, { from: t, to: t + 10 })).records.length, 3);
    });

    test('orders by at, then id, whatever the order of appends', async () => {
      const t = stretch(3);
      await store.append([servedRecord('q:2', t + 5, { key: 'r2' }), servedRecord('q:1', t + 5), servedRecord('p:9', t + 7)]);
      await store.append([servedRecord('z:0', t + 1, { key: 'r3' }), servedRecord('a:0', t + 5, { key: 'r3' })]);
      assert.deepEqual((await readAll(store, { from: t, to: t + 10 })).records.map((r) => `${r.at - t}/${r.id}`), ['1/z:0', '5/a:0', '5/q:1', '5/q:2', '7/p:9']);
    });

    test('appending an id again changes nothing: the first stays, reads never return it twice', async () => {
      const t = stretch(4);
      const first = servedRecord('same', t, { features: { ordersLast30m: { value: 1, status: 'PRESENT' } } });
      await store.append([first]);
      await store.append([servedRecord('same', t, { features: { ordersLast30m: { value: 2, status: 'PRESENT' } } }), servedRecord('same', t, { features: { ordersLast30m: { value: 3, status: 'STALE' } } })]);
      await store.append([servedRecord('twice', t + 1), servedRecord('twice', t + 1, { segments: { city: 'Paris' } })]);
      assert.deepEqual((await readAll(store, { from: t, to: t + 10 })).records, [first, servedRecord('twice', t + 1)]);
    });

    test('values of every feature type, statuses, segments and inputs come back exactly', async () => {
      const t = stretch(5);
      const record: ServedRecord = {
        id: 'types',
        at: t + 123,
        entity: 'Restaurant',
        key: 'r "quoted" / ü',
        segments: { city: 'Zürich "Altstadt" 🏙', tier: null },
        features: {
          int: { value: 42, status: 'PRESENT' },
          negativeInt: { value: -7, status: 'PRESENT' },
          zero: { value: 0, status: 'PRESENT' },
          float: { value: -3.25, status: 'PRESENT' },
          fraction: { value: 0.1, status: 'STALE' },
          tiny: { value: 1.2345678901234567e-12, status: 'PRESENT' },
          large: { value: 123456789.98765433, status: 'PRESENT' },
          string: { value: 'say "hi" \\ — ünïcødé 🍕\nnext line\ttab', status: 'PRESENT' },
          empty: { value: '', status: 'PRESENT' },
          yes: { value: true, status: 'PRESENT' },
          no: { value: false, status: 'EXPIRED' },
          floats: { value: [1.5, -2, 0, 0.30000000000000004], status: 'PRESENT' },
          noFloats: { value: [], status: 'PRESENT' },
          strings: { value: ['a', 'b"c', '', 'ß'], status: 'PRESENT' },
          missing: { value: null, status: 'MISSING' },
          presentNull: { value: null, status: 'PRESENT' },
        },
        inputs: { queryMatch: { query: 'pizza "margherita"', limit: 3, boost: -0.5, exact: true, none: null }, eta: {} },
      };
      await store.append([record]);
      assert.deepEqual((await readAll(store, { from: t, to: t + span })).records, [record]);
    });

    test('appends running at the same time lose nothing', async () => {
      const t = stretch(6);
      const batches = Array.from({ length: 40 }, (_, b) => Array.from({ length: 50 }, (_, i) => servedRecord(`c${String(b).padStart(2, '0')}-${String(i).padStart(2, '0')}`, t + b * 50 + i, { key: `r${i % 5}` })));
      await Promise.all(
        batches.map(async (batch, b) => {
          await new Promise((resolve) => setImmediate(resolve));
          if (b % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
          await store.append(batch);
        }),
      );
      const { records } = await readAll(store, { from: t, to: t + span });
      assert.deepEqual(
        records.map((r) => r.id),
        batches.flat().map((r) => r.id),
      );
    });

    test('a large range comes back whole, in order, in bounded batches', async () => {
      const t = stretch(7);
      const records = Array.from({ length: 12_000 }, (_, i) => servedRecord(`big${String(i).padStart(6, '0')}`, t + Math.floor(i / 3), { key: `r${i % 7}` }));
      for (let i = 0; i < records.length; i += 3000) await store.append(records.slice(i, i + 3000));
      const { records: seen, batches } = await readAll(store, { from: t, to: t + span });
      assert.ok(batches.length >= 3, `${batches.length} batches`);
      assert.ok(batches.every((n) => n > 0 && n <= 5000), `batches ${batches.join(', ')}`);
      assert.deepEqual(seen.map((r) => r.id), records.map((r) => r.id));
    });

    test('an append of nothing is nothing; a read of an empty range yields no batch', async () => {
      const t = stretch(8);
      await store.append([]);
      assert.deepEqual(await readAll(store, { from: t, to: t + span }), { records: [], batches: [] });
    });

    test('a range that is not one is refused, naming the bound', async () => {
      await assert.rejects(readAll(store, { from: Number.NaN, to: 1 }), (error: Error & { code?: string }) => error.code === 'BAD_USER_INPUT' && /range\.from must be epoch ms, got NaN/.test(error.message));
      await assert.rejects(readAll(store, { from: 1, to: 'soon' as unknown as number }), /range\.to must be epoch ms, got "soon"/);
    });
  });
}
