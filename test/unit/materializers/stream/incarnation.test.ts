// Offsets that start again (issue 15, item 1) on the in-process stream: batches of a partition's new
// incarnation (a topic deleted and created again, a broker whose storage was formatted again) must
// count once, online and in history, though their offsets are ones the store has seen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { buildRegistry, entity, featureView, kafkaTopic, last } from '../../../../index.js';
import { windowValue } from '../../../../schema/windows.js';
import { MemoryOnlineStore } from '../../../../adapters/online/memory/index.js';
import { MemoryHistoryStore } from '../../../../adapters/history/memory/index.js';
import { MemoryStream } from '../../../../adapters/sources/memory/stream.js';
import { StreamMaterializer } from '../../../../materializers/stream/materializer.js';
import { startMaterializers } from '../../../../materializers/runtime.js';
import type { StreamBatch } from '../../../../adapters/sources/types.js';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const view = 'restaurant_order_activity';
const order = (restaurantId: string, atMs: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ orderId: 'o', restaurantId, userId: 'u1', createdAt: new Date(atMs).toISOString(), totalPrice: 10, cuisine: 'thai', ...extra });

async function setup() {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const now = () => T0;
  const store = new MemoryOnlineStore({ now });
  const history = new MemoryHistoryStore();
  const lines: string[] = [];
  const views = [...registry.views.values()].filter((v) => v.source.kind === 'stream');
  const materializer = new StreamMaterializer({ topic: 'orders', views, store, source: new MemoryStream(1, now), now, history, log: (line) => lines.push(line) });
  const feature = registry.entity('Restaurant').features.get('ordersLast30m');
  const count = async (key: string) => {
    const [stored] = await store.read([{ view, key }]);
    return stored ? windowValue(feature!.window!, stored.tiles?.ordersLast30m, T0) : null;
  };
  return { registry, store, history, materializer, count, lines, now };
}

const batch = (incarnation: string | undefined, values: string[], firstOffset = 0): StreamBatch => ({
  topic: 'orders',
  partition: 0,
  ...(incarnation === undefined ? {} : { incarnation }),
  messages: values.map((value, i) => ({ partition: 0, offset: firstOffset + i, key: null, value, timestampMs: T0 })),
});

test("a partition's new incarnation counts every event once though its offsets were seen before, online and in history", async () => {
  const { materializer, history, count, lines } = await setup();
  await materializer.handle(batch('topic-id-A', [order('r1', T0 - 1000), order('r1', T0 - 2000), order('r1', T0 - 3000)]));
  assert.equal(await count('r1'), 3);
  // The topic was deleted and created again: offsets 0 and 1 again, other events.
  await materializer.handle(batch('topic-id-B', [order('r1', T0 - 4000), order('r1', T0 - 5000)]));
  assert.equal(await count('r1'), 5, 'the new incarnation is not skipped as a replay of the old one');
  assert.equal(await history.count(view), 5, 'history appends of the new incarnation are not taken for records it holds');
  // Replays still change nothing, in either incarnation.
  await materializer.handle(batch('topic-id-B', [order('r1', T0 - 4000), order('r1', T0 - 5000)]));
  await materializer.handle(batch('topic-id-A', [order('r1', T0 - 1000), order('r1', T0 - 2000), order('r1', T0 - 3000)]));
  assert.equal(await count('r1'), 5);
  assert.equal(await history.count(view), 5);
  assert.equal(materializer.stats.resets, 1);
  assert.equal(materializer.stats.duplicates, 4, 'two replays of two writes each (restaurant and user)');
  assert.deepEqual(lines, ['topic orders: orders[0] has a new incarnation topic-id-B (generation 1) after incarnation topic-id-A (generation 0), which this materializer read up to offset 2; its events are applied from offset 0']);
});

test('offsets stored before incarnations were known keep guarding the first incarnation seen', async () => {
  const { materializer, count, history } = await setup();
  await materializer.handle(batch(undefined, [order('r1', T0 - 1000), order('r1', T0 - 2000)]));
  await materializer.handle(batch('topic-id-A', [order('r1', T0 - 1000), order('r1', T0 - 2000), order('r1', T0 - 3000)]));
  assert.equal(await count('r1'), 3, 'offsets 0-1 were applied without an incarnation: only offset 2 is new');
  assert.equal(await history.count(view), 3);
  assert.equal(materializer.stats.resets, 0);
});

test('a later incarnation wins a tie at one event time, online and in history alike', async () => {
  const topic = kafkaTopic({ name: 'orders', topic: 'orders', keyField: 'restaurantId', eventTimeField: 'createdAt', fields: { restaurantId: 'string', createdAt: 'timestamp', cuisine: 'string' } });
  const restaurant = entity({ name: 'Restaurant', key: 'restaurantId', description: 'r' });
  const lastView = featureView({ name: 'last_cuisine', entity: restaurant, source: topic, features: { lastCuisine: last({ field: 'cuisine', type: 'String', window: '1h', description: 'l' }) }, freshness: '1m', ttl: '2d', owner: 'test', description: 'v' });
  const registry = buildRegistry([{ file: 'tie.ts', exports: { topic, restaurant, lastView } }]);
  const now = () => T0;
  const store = new MemoryOnlineStore({ now });
  const history = new MemoryHistoryStore();
  const materializer = new StreamMaterializer({ topic: 'orders', views: [...registry.views.values()], store, source: new MemoryStream(1, now), now, history });
  // The old incarnation's event sits at a higher offset, the new one's at offset 0, at one event time.
  await materializer.handle(batch('topic-id-A', [order('r1', T0 - 1000, { cuisine: 'thai' })], 5));
  await materializer.handle(batch('topic-id-B', [order('r1', T0 - 1000, { cuisine: 'pizza' })], 0));
  const feature = registry.view('last_cuisine').features[0];
  const [stored] = await store.read([{ view: 'last_cuisine', key: 'r1' }]);
  assert.equal(windowValue(feature!.window!, stored?.tiles?.lastCuisine, T0), 'pizza');
  const [reads] = await history.readAsOf({ features: [feature!], mode: 'SERVED' }, [{ key: 'r1', asOf: T0 }]);
  assert.equal(reads?.[0]?.value, 'pizza');
});

test('the in-process stream: a topic deleted and created under a running materializer, every event counted once', async () => {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const now = () => T0;
  const store = new MemoryOnlineStore({ now });
  const history = new MemoryHistoryStore();
  const stream = new MemoryStream(2, now);
  const lines: string[] = [];
  const runtime = await startMaterializers({ registry, store, history, now, views: [view], bindings: { stream: () => stream, rows: () => assert.fail('no row views') }, log: (line) => lines.push(line) });
  try {
    const materializer = runtime.streams[0] as StreamMaterializer;
    const produce = (n: number) => stream.produce('orders', Array.from({ length: n }, (_, i) => ({ key: `r${i % 4}`, value: order(`r${i % 4}`, T0 - 1000 - i) })));
    const settle = async (events: number) => {
      while (materializer.stats.events < events) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await produce(40);
    await settle(40);
    stream.deleteTopic('orders');
    await produce(60);
    await settle(100);
    const values = await store.read(['r0', 'r1', 'r2', 'r3'].map((key) => ({ view, key })));
    const feature = registry.entity('Restaurant').features.get('ordersLast30m');
    const total = values.reduce((sum, v) => sum + Number(windowValue(feature!.window!, v?.tiles?.ordersLast30m, T0) ?? 0), 0);
    assert.equal(total, 100);
    assert.equal(await history.count(view), 100);
    assert.ok(materializer.stats.resets >= 1, JSON.stringify(materializer.stats));
    assert.ok(lines.some((l) => /new incarnation/.test(l)), lines.join('\n'));
  } finally {
    await runtime.stop();
  }
});
