// Redis only: how windowed values are laid out. Values a store wrote as JSON before the MessagePack
// format (format 1) still read the same and still guard offsets, and the next tile write converts
// them; tile writes split over several script calls keep their order per key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, Redis } from 'ioredis';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import type { TileWrite } from '../../adapters/online/types.js';
import { requireEndpoint } from '../services/endpoints.js';

function stores(mode: 'standalone' | 'cluster', prefix: string, maxKeysPerTileCall?: number): { store: RedisOnlineStore; raw: Redis | Cluster } {
  if (mode === 'standalone') {
    const { url } = requireEndpoint('redis');
    return { store: new RedisOnlineStore({ mode, url, keyPrefix: prefix, commandTimeoutMs: 2000, maxKeysPerTileCall }), raw: new Redis(url) };
  }
  const { nodes } = requireEndpoint('redis-cluster');
  return { store: new RedisOnlineStore({ mode, nodes, keyPrefix: prefix, commandTimeoutMs: 2000, maxKeysPerTileCall }), raw: new Cluster(nodes) };
}

const write = (key: string, from: number, to: number, cells: TileWrite['cells']): TileWrite => ({
  view: 'v',
  key,
  eventTime: 2000 + to,
  availableTime: 3000 + to,
  retentionMs: 60_000,
  source: { partition: 'orders:0', fromOffset: from, toOffset: to },
  cells,
  keepFrom: {},
});

for (const mode of ['standalone', 'cluster'] as const) {
  test(`redis ${mode}: a windowed value stored as JSON reads as before, guards its offsets, and is converted by the next tile write`, async () => {
    const { store, raw } = stores(mode, `fmt:${process.pid}:${mode}:`);
    await store.connect();
    const key = store.keyOf({ view: 'v', key: 'r1' });
    try {
      const legacy = { eventTime: 1000, availableTime: 1100, tiles: { orders: { '10': 2, '11': 1 }, avgPrice: { '11': [30, 2] }, lastCuisine: { '11': [500, 'thai'] } }, offsets: { 'orders:0': 4 } };
      await raw.set(key, JSON.stringify(legacy), 'PX', 60_000);
      assert.deepEqual((await store.read([{ view: 'v', key: 'r1' }]))[0], legacy);
      assert.deepEqual(await store.applyTiles([write('r1', 3, 4, [{ feature: 'orders', op: 'add', tiles: [11], cells: [1] }])]), ['duplicate']);
      assert.deepEqual(await store.applyTiles([write('r1', 4, 6, [{ feature: 'orders', op: 'add', tiles: [11], cells: [1] }])]), ['overlap']);
      const cells: TileWrite['cells'] = [
        { feature: 'orders', op: 'add', tiles: [11], cells: [2] },
        { feature: 'avgPrice', op: 'avg', tiles: [11], cells: [[0.1, 1]] },
        { feature: 'lastCuisine', op: 'last', tiles: [11], cells: [[400, 'sushi']] },
      ];
      assert.deepEqual(await store.applyTiles([write('r1', 5, 6, cells)]), ['applied']);
      const bytes = (await raw.getBuffer(key)) as Buffer;
      assert.deepEqual([...bytes.subarray(0, 2)], [0x95, 0x02], 'stored as format 2 (MessagePack) now');
      assert.deepEqual((await store.read([{ view: 'v', key: 'r1' }]))[0], {
        eventTime: 2006,
        availableTime: 3006,
        tiles: { orders: { '10': 2, '11': 3 }, avgPrice: { '11': [30 + 0.1, 3] }, lastCuisine: { '11': [500, 'thai'] } },
        offsets: { 'orders:0': 6 },
      });
    } finally {
      await raw.del(key);
      raw.disconnect();
      await store.close();
    }
  });
}

test('redis standalone: tile writes over several script calls keep their order per key, with exact sums', async () => {
  const { store, raw } = stores('standalone', `fmt:${process.pid}:split:`, 2);
  await store.connect();
  try {
    const writes = [
      write('a', 0, 0, [{ feature: 'sum', op: 'add', tiles: [1], cells: [0.1] }]),
      write('b', 1, 1, [{ feature: 'sum', op: 'add', tiles: [1], cells: [1e21] }]),
      write('a', 2, 2, [{ feature: 'sum', op: 'add', tiles: [1], cells: [0.2] }]),
      write('a', 2, 2, [{ feature: 'sum', op: 'add', tiles: [1], cells: [5] }]),
      write('a', 3, 3, [{ feature: 'sum', op: 'add', tiles: [1], cells: [-0.5] }, { feature: 'sum', op: 'add', tiles: [2], cells: [2 ** 53] }]),
    ];
    assert.deepEqual(await store.applyTiles(writes), ['applied', 'applied', 'applied', 'duplicate', 'applied']);
    const [a, b] = await store.read([{ view: 'v', key: 'a' }, { view: 'v', key: 'b' }]);
    assert.deepEqual(a?.tiles?.sum, { '1': 0.1 + 0.2 - 0.5, '2': 2 ** 53 });
    assert.deepEqual(b?.tiles?.sum, { '1': 1e21 });
  } finally {
    await store.delete([{ view: 'v', key: 'a' }, { view: 'v', key: 'b' }]);
    raw.disconnect();
    await store.close();
  }
});

for (const mode of ['standalone', 'cluster'] as const) {
  test(`redis ${mode}: a column value written before versions reads as before; its availableTime is its version`, async () => {
    const { store, raw } = stores(mode, `fmt:${process.pid}:${mode}:v:`);
    await store.connect();
    const key = store.keyOf({ view: 'cv', key: 'k' });
    // A feature named "version" must not be taken for the store's own field.
    const legacy = { eventTime: 100, availableTime: 110, values: { version: 7, x: 1 } };
    try {
      await raw.set(key, JSON.stringify(legacy), 'PX', 60_000);
      assert.deepEqual((await store.read([{ view: 'cv', key: 'k' }]))[0], legacy);
      const write = (availableTime: number, x: number) => ({ view: 'cv', key: 'k', eventTime: 100, availableTime, values: { version: 7, x }, retentionMs: 60_000 });
      assert.deepEqual(await store.writeValues([write(200, 1)]), [{ outcome: 'unchanged', version: 110, availableTime: 110 }]);
      assert.deepEqual(await store.writeValues([write(110, 2)]), [{ outcome: 'applied', version: 111 }]);
      assert.deepEqual((await store.read([{ view: 'cv', key: 'k' }]))[0], { eventTime: 100, availableTime: 110, version: 111, values: { version: 7, x: 2 } });
    } finally {
      await raw.del(key);
      raw.disconnect();
      await store.close();
    }
  });
}
