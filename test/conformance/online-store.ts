// The online-store conformance suite: every implementation (memory, Redis, Redis Cluster) runs these
// same assertions through a creator that starts it and tears it down.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { OnlineStore, TileWrite } from '../../adapters/online/types.js';

export interface OnlineStoreHarness {
  store: OnlineStore;
  teardown(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let unique = 0;
const view = () => `conformance_${process.pid}_${Date.now()}_${unique++}`;

function tileWrite(viewName: string, key: string, partition: string, from: number, to: number, tile: number, count: number): TileWrite {
  return {
    view: viewName,
    key,
    eventTime: 1_000 + to,
    availableTime: 2_000 + to,
    retentionMs: 60_000,
    source: { partition, fromOffset: from, toOffset: to },
    cells: [{ feature: 'orders', op: 'add', tiles: [tile], cells: [count] }],
    keepFrom: { orders: 0 },
  };
}

export function onlineStoreConformance(label: string, create: () => Promise<OnlineStoreHarness>): void {
  describe(`online store conformance: ${label}`, () => {
    let harness: OnlineStoreHarness;
    let store: OnlineStore;
    before(async () => {
      harness = await create();
      store = harness.store;
    });
    after(async () => harness.teardown());

    test('read returns one slot per key, in key order, null where nothing is stored', async () => {
      const v = view();
      await store.writeValues([
        { view: v, key: 'a', eventTime: 10, availableTime: 11, values: { x: 1, s: 'one' }, retentionMs: 60_000 },
        { view: v, key: 'c', eventTime: 30, availableTime: 31, values: { x: 3, s: null }, retentionMs: 60_000 },
      ]);
      const got = await store.read([{ view: v, key: 'c' }, { view: v, key: 'b' }, { view: v, key: 'a' }, { view: v, key: 'c' }]);
      assert.deepEqual(got, [
        { eventTime: 30, availableTime: 31, version: 31, values: { x: 3, s: null } },
        null,
        { eventTime: 10, availableTime: 11, version: 11, values: { x: 1, s: 'one' } },
        { eventTime: 30, availableTime: 31, version: 31, values: { x: 3, s: null } },
      ]);
    });

    test('read of no keys returns an empty list', async () => {
      assert.deepEqual(await store.read([]), []);
    });

    test('values keep their types: ints, floats, strings, booleans, lists, nulls', async () => {
      const v = view();
      const values = { i: 42, f: 0.1 + 0.2, s: 'ünïcödé "quoted"', b: false, lf: [1.5, -2, 0], ls: ['a', 'b'], n: null };
      await store.writeValues([{ view: v, key: 'k', eventTime: 1, availableTime: 2, values, retentionMs: 60_000 }]);
      const [got] = await store.read([{ view: v, key: 'k' }]);
      assert.deepEqual(got?.values, values);
    });

    test('an older write does not replace a newer value; an equal or newer one does', async () => {
      const v = view();
      const write = (eventTime: number, x: number) => ({ view: v, key: 'k', eventTime, availableTime: eventTime + 1, values: { x }, retentionMs: 60_000 });
      assert.deepEqual(await store.writeValues([write(100, 1)]), [{ outcome: 'applied', version: 101 }]);
      assert.deepEqual(await store.writeValues([write(50, 2)]), [{ outcome: 'superseded' }]);
      assert.equal((await store.read([{ view: v, key: 'k' }]))[0]?.values?.x, 1);
      assert.deepEqual(await store.writeValues([write(100, 3)]), [{ outcome: 'applied', version: 102 }], 'a correction at the same event time gets the next version');
      assert.equal((await store.read([{ view: v, key: 'k' }]))[0]?.values?.x, 3);
      assert.deepEqual(await store.writeValues([write(200, 4)]), [{ outcome: 'applied', version: 201 }]);
      assert.deepEqual((await store.read([{ view: v, key: 'k' }]))[0], { eventTime: 200, availableTime: 201, version: 201, values: { x: 4 } });
    });

    test('a write of the values the key holds at that event time changes nothing and says what it holds', async () => {
      const v = view();
      const write = (availableTime: number, values: Record<string, number | string | null>) => ({ view: v, key: 'k', eventTime: 100, availableTime, values, retentionMs: 60_000 });
      assert.deepEqual(await store.writeValues([write(500, { x: 1, s: 'a' })]), [{ outcome: 'applied', version: 500 }]);
      assert.deepEqual(await store.writeValues([write(900, { x: 1, s: 'a' })]), [{ outcome: 'unchanged', version: 500, availableTime: 500 }]);
      assert.deepEqual((await store.read([{ view: v, key: 'k' }]))[0], { eventTime: 100, availableTime: 500, version: 500, values: { x: 1, s: 'a' } });
      // Corrections in one call (one millisecond): each gets the next version, the last one holds.
      assert.deepEqual(await store.writeValues([write(900, { x: 2, s: 'a' }), write(900, { x: 1, s: 'a' }), write(900, { x: 1, s: 'a' })]), [
        { outcome: 'applied', version: 900 },
        { outcome: 'applied', version: 901 },
        { outcome: 'unchanged', version: 901, availableTime: 900 },
      ]);
      assert.deepEqual((await store.read([{ view: v, key: 'k' }]))[0], { eventTime: 100, availableTime: 900, version: 901, values: { x: 1, s: 'a' } });
    });

    test('a delete leaves a tombstone: the key reads nothing, older writes change nothing, newer ones bring it back', async () => {
      const v = view();
      const value = (eventTime: number, availableTime: number, x: number) => ({ view: v, key: 'k', eventTime, availableTime, values: { x }, retentionMs: 60_000 });
      const remove = (eventTime: number, availableTime: number) => ({ view: v, key: 'k', eventTime, availableTime, values: {}, retentionMs: 60_000, deleted: true });
      await store.writeValues([value(100, 110, 1)]);
      assert.deepEqual(await store.writeValues([remove(200, 210)]), [{ outcome: 'applied', version: 210 }]);
      assert.deepEqual(await store.read([{ view: v, key: 'k' }]), [null]);
      assert.deepEqual(await store.writeValues([value(150, 300, 2)]), [{ outcome: 'superseded' }], 'a row older than the delete');
      assert.deepEqual(await store.writeValues([remove(400, 410)]), [{ outcome: 'unchanged', version: 210, availableTime: 210 }], 'a delete of a deleted key');
      assert.deepEqual(await store.read([{ view: v, key: 'k' }]), [null]);
      assert.deepEqual(await store.writeValues([value(250, 500, 3)]), [{ outcome: 'applied', version: 500 }]);
      assert.deepEqual(await store.read([{ view: v, key: 'k' }]), [{ eventTime: 250, availableTime: 500, version: 500, values: { x: 3 } }]);
      assert.deepEqual(await store.writeValues([remove(100, 600)]), [{ outcome: 'superseded' }], 'a delete older than the value');
    });

    test('a delete of a key the store never held leaves a tombstone too', async () => {
      const v = view();
      assert.deepEqual(await store.writeValues([{ view: v, key: 'k', eventTime: 200, availableTime: 210, values: {}, retentionMs: 60_000, deleted: true }]), [{ outcome: 'applied', version: 210 }]);
      assert.deepEqual(await store.writeValues([{ view: v, key: 'k', eventTime: 100, availableTime: 300, values: { x: 1 }, retentionMs: 60_000 }]), [{ outcome: 'superseded' }]);
      assert.deepEqual(await store.read([{ view: v, key: 'k' }]), [null]);
    });

    test('views and keys are separate namespaces', async () => {
      const v1 = view();
      const v2 = view();
      await store.writeValues([
        { view: v1, key: 'k', eventTime: 1, availableTime: 1, values: { x: 1 }, retentionMs: 60_000 },
        { view: v2, key: 'k', eventTime: 1, availableTime: 1, values: { x: 2 }, retentionMs: 60_000 },
      ]);
      const got = await store.read([{ view: v1, key: 'k' }, { view: v2, key: 'k' }, { view: v1, key: 'K' }]);
      assert.deepEqual(got.map((g) => g?.values?.x ?? null), [1, 2, null]);
    });

    test('values disappear after their retention', async () => {
      const v = view();
      const retentionMs = 1000;
      const written = Date.now();
      await store.writeValues([{ view: v, key: 'k', eventTime: 1, availableTime: 1, values: { x: 1 }, retentionMs }]);
      // Polled until it is gone: a busy machine may read late, so a read only proves the value gone too
      // early when it answered null before the retention had passed since the write was sent.
      for (let reads = 0; ; reads++) {
        const value = (await store.read([{ view: v, key: 'k' }]))[0];
        const since = Date.now() - written;
        if (value === null) {
          assert.ok(since >= retentionMs, `gone ${since} ms after the write, before its retention of ${retentionMs} ms (read ${reads + 1})`);
          break;
        }
        assert.ok(since < 30_000, `still there ${since} ms after the write, with a retention of ${retentionMs} ms`);
        await sleep(50);
      }
    });

    test('delete removes keys', async () => {
      const v = view();
      await store.writeValues([{ view: v, key: 'k', eventTime: 1, availableTime: 1, values: { x: 1 }, retentionMs: 60_000 }]);
      await store.delete([{ view: v, key: 'k' }, { view: v, key: 'absent' }]);
      assert.deepEqual(await store.read([{ view: v, key: 'k' }]), [null]);
    });

    test('tile writes merge cells per op and remember offsets per partition', async () => {
      const v = view();
      const outcomes = await store.applyTiles([
        tileWrite(v, 'r1', '0', 0, 0, 10, 1),
        tileWrite(v, 'r1', '0', 1, 1, 10, 1),
        tileWrite(v, 'r1', '1', 7, 7, 11, 1),
        { ...tileWrite(v, 'r1', '0', 2, 2, 11, 0), cells: [{ feature: 'avgPrice', op: 'avg', tiles: [11], cells: [[10, 1]] }, { feature: 'maxPrice', op: 'max', tiles: [11], cells: [10] }, { feature: 'lastCuisine', op: 'last', tiles: [11], cells: [[500, 'thai']] }] },
        { ...tileWrite(v, 'r1', '0', 3, 3, 11, 0), cells: [{ feature: 'avgPrice', op: 'avg', tiles: [11], cells: [[20, 1]] }, { feature: 'maxPrice', op: 'max', tiles: [11], cells: [5] }, { feature: 'lastCuisine', op: 'last', tiles: [11], cells: [[400, 'sushi']] }, { feature: 'users', op: 'distinct', tiles: [11], cells: [['u2', 'u1']] }] },
        { ...tileWrite(v, 'r1', '0', 4, 4, 11, 0), cells: [{ feature: 'minPrice', op: 'min', tiles: [11], cells: [3] }, { feature: 'minPrice', op: 'min', tiles: [11], cells: [7] }, { feature: 'users', op: 'distinct', tiles: [11], cells: [['u1', 'u3']] }] },
      ]);
      assert.deepEqual(outcomes, ['applied', 'applied', 'applied', 'applied', 'applied', 'applied']);
      const [got] = await store.read([{ view: v, key: 'r1' }]);
      assert.deepEqual(got?.offsets, { '0': 4, '1': 7 });
      assert.deepEqual(got?.tiles?.orders, { '10': 2, '11': 1 });
      assert.deepEqual(got?.tiles?.avgPrice, { '11': [30, 2] });
      assert.deepEqual(got?.tiles?.maxPrice, { '11': 10 });
      assert.deepEqual(got?.tiles?.minPrice, { '11': 3 });
      assert.deepEqual(got?.tiles?.lastCuisine, { '11': [500, 'thai'] });
      assert.deepEqual(got?.tiles?.users, { '11': ['u1', 'u2', 'u3'] });
      assert.equal(got?.eventTime, 1_007, 'the newest event time of all writes');
    });

    test('a replayed tile write changes nothing; an overlapping one is refused whole', async () => {
      const v = view();
      assert.deepEqual(await store.applyTiles([tileWrite(v, 'r1', '0', 5, 9, 10, 5)]), ['applied']);
      assert.deepEqual(await store.applyTiles([tileWrite(v, 'r1', '0', 5, 9, 10, 5), tileWrite(v, 'r1', '0', 3, 4, 10, 2)]), ['duplicate', 'duplicate']);
      assert.deepEqual(await store.applyTiles([tileWrite(v, 'r1', '0', 8, 12, 10, 5)]), ['overlap']);
      assert.deepEqual(await store.applyTiles([tileWrite(v, 'r1', '0', 10, 12, 10, 3)]), ['applied']);
      const [got] = await store.read([{ view: v, key: 'r1' }]);
      assert.deepEqual(got?.tiles?.orders, { '10': 8 });
      assert.deepEqual(got?.offsets, { '0': 12 });
    });

    test('tile writes drop tiles older than keepFrom', async () => {
      const v = view();
      await store.applyTiles([tileWrite(v, 'r1', '0', 0, 0, 1, 1), tileWrite(v, 'r1', '0', 1, 1, 2, 1), tileWrite(v, 'r1', '0', 2, 2, 3, 1)]);
      await store.applyTiles([{ ...tileWrite(v, 'r1', '0', 3, 3, 4, 1), keepFrom: { orders: 3 } }]);
      const [got] = await store.read([{ view: v, key: 'r1' }]);
      assert.deepEqual(got?.tiles?.orders, { '3': 1, '4': 1 });
    });

    test('tile writes without source offsets always apply', async () => {
      const v = view();
      const write: TileWrite = { view: v, key: 'r9', eventTime: 5, availableTime: 6, retentionMs: 60_000, cells: [{ feature: 'orders', op: 'add', tiles: [1], cells: [1] }], keepFrom: {} };
      assert.deepEqual(await store.applyTiles([write, write]), ['applied', 'applied']);
      assert.deepEqual((await store.read([{ view: v, key: 'r9' }]))[0]?.tiles?.orders, { '1': 2 });
    });

    test("a feature's cells merge into their tiles in order, a tile met twice included", async () => {
      const v = view();
      const write: TileWrite = {
        ...tileWrite(v, 'r1', '0', 0, 2, 0, 0),
        cells: [
          { feature: 'orders', op: 'add', tiles: [20, 21, 20], cells: [1, 2, 3] },
          { feature: 'lastCuisine', op: 'last', tiles: [20, 20], cells: [[500, 'thai'], [500, 'sushi']] },
          { feature: 'orders', op: 'add', tiles: [22], cells: [0.5] },
        ],
      };
      assert.deepEqual(await store.applyTiles([write]), ['applied']);
      const [got] = await store.read([{ view: v, key: 'r1' }]);
      assert.deepEqual(got?.tiles?.orders, { '20': 4, '21': 2, '22': 0.5 });
      assert.deepEqual(got?.tiles?.lastCuisine, { '20': [500, 'sushi'] }, 'of two cells at one time without an order, the later one wins');
    });

    test("a last cell's order decides ties at one event time, whatever the order the writes come in", async () => {
      const v = view();
      const last = (from: number, cells: TileWrite['cells'][number]['cells']): TileWrite => ({ ...tileWrite(v, 'r1', '0', from, from, 0, 0), cells: [{ feature: 'lastCuisine', op: 'last', tiles: cells.map(() => 20), cells }] });
      await store.applyTiles([last(0, [[500, 'thai', 'o:a1:b10']]), last(1, [[500, 'sushi', 'o:a1:a9']])]);
      assert.deepEqual((await store.read([{ view: v, key: 'r1' }]))[0]?.tiles?.lastCuisine, { '20': [500, 'thai', 'o:a1:b10'] }, 'offset 10 is after offset 9');
      await store.applyTiles([last(2, [[500, 'pho', 'o:a2:a0'], [499, 'ramen', 'o:a3:a0']])]);
      assert.deepEqual((await store.read([{ view: v, key: 'r1' }]))[0]?.tiles?.lastCuisine, { '20': [500, 'pho', 'o:a2:a0'] }, 'a higher partition wins a tie; an earlier event never');
    });

    test('a sum that overflows stays Infinity, not null or 0', async () => {
      const v = view();
      const huge = 1.7976931348623157e308;
      await store.applyTiles([tileWrite(v, 'r1', '0', 0, 0, 10, huge), tileWrite(v, 'r1', '0', 1, 1, 10, huge), tileWrite(v, 'r1', '0', 2, 2, 10, 5)]);
      const [got] = await store.read([{ view: v, key: 'r1' }]);
      assert.equal(got?.tiles?.orders?.['10'], Number.POSITIVE_INFINITY);
    });

    test('a write whose feature pairs tiles and cells unevenly is refused, and nothing of its call applies', async () => {
      const v = view();
      const good = tileWrite(v, 'r1', '0', 0, 0, 10, 1);
      const bad: TileWrite = { ...tileWrite(v, 'r2', '0', 0, 0, 10, 1), cells: [{ feature: 'orders', op: 'add', tiles: [10, 11], cells: [1] }] };
      await assert.rejects(store.applyTiles([good, bad]), /feature orders has 2 tiles and 1 cells/);
      assert.deepEqual(await store.read([{ view: v, key: 'r1' }, { view: v, key: 'r2' }]), [null, null]);
    });

    test('tile writes of many keys and value writes of others, sent at once as a materializer does, all apply', async () => {
      // The production write path: a stream materializer's tile writes (keys spread over every slot and
      // node of a Cluster) while row materializers write values, in the same ticks.
      const tiles = view();
      const rows = view();
      const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
      const [outcomes] = await Promise.all([
        store.applyTiles(keys.map((key, i) => tileWrite(tiles, key, '0', i, i, 10, i + 1))),
        store.writeValues(keys.map((key, i) => ({ view: rows, key, eventTime: i, availableTime: i, values: { i }, retentionMs: 60_000 }))),
        store.applyTiles(keys.slice(0, 50).map((key, i) => tileWrite(tiles, `${key}:other`, '1', i, i, 11, 1))),
      ]);
      assert.deepEqual(outcomes, keys.map(() => 'applied'));
      const got = await store.read(keys.flatMap((key) => [{ view: tiles, key }, { view: rows, key }]));
      keys.forEach((key, i) => {
        assert.deepEqual(got[2 * i]?.tiles?.orders, { '10': i + 1 }, `tiles of ${key}`);
        assert.equal(got[2 * i + 1]?.values?.i, i, `values of ${key}`);
      });
    });

    test('a read of 1,000 keys across views returns every slot in order', async () => {
      const v1 = view();
      const v2 = view();
      const writes = Array.from({ length: 500 }, (_, i) => ({ view: i % 2 ? v1 : v2, key: `e${i}`, eventTime: i, availableTime: i, values: { i }, retentionMs: 60_000 }));
      await store.writeValues(writes);
      const keys = Array.from({ length: 1000 }, (_, i) => ({ view: i % 2 ? v1 : v2, key: `e${i % 500}` }));
      const got = await store.read(keys);
      assert.equal(got.length, 1000);
      got.forEach((g, i) => {
        const k = i % 500;
        const stored = (k % 2 ? v1 : v2) === keys[i]?.view;
        assert.equal(g?.values?.i ?? null, stored ? k : null, `slot ${i}`);
      });
    });

    test('listKeys lists every key of one view, and only of that view', async () => {
      const v = view();
      const other = view();
      const keys = Array.from({ length: 2500 }, (_, i) => `e${i}:{odd}`);
      await store.writeValues(keys.map((key) => ({ view: v, key, eventTime: 1, availableTime: 1, values: { x: 1 }, retentionMs: 60_000 })));
      await store.writeValues([{ view: other, key: 'x', eventTime: 1, availableTime: 1, values: { x: 1 }, retentionMs: 60_000 }]);
      await store.delete([{ view: v, key: 'e7:{odd}' }]);
      const listed: string[] = [];
      for await (const batch of store.listKeys(v)) listed.push(...batch);
      assert.deepEqual(listed.sort(), keys.filter((k) => k !== 'e7:{odd}').sort());
    });

    test('incarnations of a stream partition are numbered in the order first recorded, each partition apart, once under concurrent calls', async () => {
      const topic = view();
      assert.deepEqual(await store.registerIncarnation(topic, 0, 'id-A'), { generation: 0, added: true, previous: null });
      assert.deepEqual(await store.registerIncarnation(topic, 0, 'id-A'), { generation: 0, added: false, previous: null });
      assert.deepEqual(await store.registerIncarnation(topic, 0, 'id-B'), { generation: 1, added: true, previous: 'id-A' });
      assert.deepEqual(await store.registerIncarnation(topic, 0, 'id-B'), { generation: 1, added: false, previous: 'id-A' });
      assert.deepEqual(await store.registerIncarnation(topic, 0, 'id-A'), { generation: 0, added: false, previous: null }, 'an old incarnation keeps its number');
      assert.deepEqual(await store.registerIncarnation(topic, 1, 'id-B'), { generation: 0, added: true, previous: null }, 'partitions are apart');
      assert.deepEqual(await store.registerIncarnation(`${topic}x`, 0, 'id-B'), { generation: 0, added: true, previous: null }, 'topics are apart');
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => store.registerIncarnation(topic, 2, 'id-C')));
      assert.deepEqual(outcomes.map((o) => o.generation), [0, 0, 0, 0, 0, 0, 0, 0]);
      assert.equal(outcomes.filter((o) => o.added).length, 1, 'exactly one call adds it');
      // The records are no view's keys.
      const listed: string[] = [];
      for await (const keys of store.listKeys(topic)) listed.push(...keys);
      assert.deepEqual(listed, []);
    });

    test('publishWatermarks: each part keeps its greatest watermark, the view has the least of its parts, and a new record only when that changes, stamped at max(at, previous + 1)', async () => {
      const v = view();
      assert.deepEqual(await store.publishWatermarks(v, { 'orders:0': 1_000 }, 5_000), { current: { view: v, watermark: 1_000, at: 5_000 }, changed: true });
      assert.deepEqual(await store.publishWatermarks(v, { 'orders:0': 1_000 }, 6_000), { current: { view: v, watermark: 1_000, at: 5_000 }, changed: false }, 'the same watermark again');
      assert.deepEqual(await store.publishWatermarks(v, { 'orders:0': 900 }, 6_000), { current: { view: v, watermark: 1_000, at: 5_000 }, changed: false }, 'an older one: the part keeps its greatest');
      assert.deepEqual(await store.publishWatermarks(v, { 'orders:1': 800 }, 6_000), { current: { view: v, watermark: 800, at: 6_000 }, changed: true }, 'a new part behind the others lowers the view');
      assert.deepEqual(await store.publishWatermarks(v, { 'orders:0': 2_000 }, 6_500), { current: { view: v, watermark: 800, at: 6_000 }, changed: false }, 'the least part decides');
      assert.deepEqual(await store.publishWatermarks(v, { 'orders:1': 3_000 }, 6_000), { current: { view: v, watermark: 2_000, at: 6_001 }, changed: true }, 'at grows even when the clock does not');
      assert.deepEqual(await store.publishWatermarks(v, { 'orders:0': 4_000, 'orders:1': 5_000 }, 5_000), { current: { view: v, watermark: 4_000, at: 6_002 }, changed: true }, 'or goes back');
      assert.deepEqual(await store.publishWatermarks(v, { rows: -5 }, 7_000), { current: { view: v, watermark: -5, at: 7_000 }, changed: true }, 'any integer epoch ms');
    });

    test('publishWatermarks is atomic per view: concurrent publishes of several parts lose no part, and every change gets its own at', async () => {
      const v = view();
      const published = await Promise.all(Array.from({ length: 20 }, (_, i) => store.publishWatermarks(v, { [`p:${i % 4}`]: 10_000 + i }, 1_000)));
      const changes = published.filter((p) => p.changed).map((p) => p.current.at);
      assert.equal(new Set(changes).size, changes.length, `ats of changes are distinct: ${changes.join(', ')}`);
      assert.deepEqual((await store.readWatermarks([v])).get(v)?.watermark, 10_016, 'the least of the greatest per part (16..19)');
    });

    test('readWatermarks answers every view that has a record, and only those; views are apart', async () => {
      const [a, b, none] = [view(), view(), view()];
      await store.publishWatermarks(a, { rows: 100 }, 200);
      await store.publishWatermarks(b, { 'orders:0': 300 }, 400);
      const got = await store.readWatermarks([a, none, b, a]);
      assert.deepEqual([...got.entries()].sort(), [[a, { view: a, watermark: 100, at: 200 }], [b, { view: b, watermark: 300, at: 400 }]]);
      assert.deepEqual(await store.readWatermarks([]), new Map());
      // The records are no view's keys, and expire with nothing.
      for (const name of [a, b]) for await (const keys of store.listKeys(name)) assert.deepEqual(keys, []);
    });

    test('readServing returns what read returns, and the watermark of each view among the keys that has one', async () => {
      const [withMark, without] = [view(), view()];
      await store.writeValues([
        { view: withMark, key: 'a', eventTime: 10, availableTime: 11, values: { x: 1 }, retentionMs: 60_000 },
        { view: without, key: 'a', eventTime: 20, availableTime: 21, values: { y: 2 }, retentionMs: 60_000 },
      ]);
      await store.publishWatermarks(withMark, { rows: 50 }, 60);
      const keys = [{ view: without, key: 'a' }, { view: withMark, key: 'b' }, { view: withMark, key: 'a' }];
      const served = await store.readServing(keys);
      assert.deepEqual(served.values, await store.read(keys));
      assert.deepEqual([...served.watermarks.entries()], [[withMark, { view: withMark, watermark: 50, at: 60 }]]);
      const publishedOnly = view();
      await store.publishWatermarks(publishedOnly, { rows: 70 }, 80);
      assert.deepEqual(await store.readServing([{ view: publishedOnly, key: 'nothing' }]), { values: [null], watermarks: new Map([[publishedOnly, { view: publishedOnly, watermark: 70, at: 80 }]]) }, 'a view with no values still has its watermark');
      assert.deepEqual(await store.readServing([]), { values: [], watermarks: new Map() });
    });

    test('a publish the store could not keep exactly is refused, naming the view and what is wrong', async () => {
      const v = view();
      await assert.rejects(store.publishWatermarks(v, {}, 1), { code: 'BAD_USER_INPUT', message: new RegExp(`publishWatermarks of ${v}: parts must name at least one part, got \\{\\}`) });
      await assert.rejects(store.publishWatermarks(v, { rows: 1.5 }, 1), { code: 'BAD_USER_INPUT', message: /part "rows" must have an integer epoch ms watermark, got 1\.5/ });
      await assert.rejects(store.publishWatermarks(v, { rows: 1 }, Number.NaN), { code: 'BAD_USER_INPUT', message: /at must be an integer epoch ms, got NaN/ });
      await assert.rejects(store.publishWatermarks('', { rows: 1 }, 1), { code: 'BAD_USER_INPUT', message: /view must be a non-empty string, got ""/ });
      assert.deepEqual(await store.readWatermarks([v]), new Map(), 'nothing was kept');
    });

    test('ping answers while the store is up', async () => {
      await store.ping();
    });
  });
}
