// The stream materializer's view watermarks, on the in-process stream with a clock the test moves: per
// partition the caught-up instant or, while behind, the event time applied; the view's is the minimum
// over partitions; a stopped materializer's stops; a failed publish holds up nothing and goes through later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { MemoryStream } from '../../../../adapters/sources/memory/stream.js';
import { StreamMaterializer } from '../../../../materializers/stream/materializer.js';
import type { Timers } from '../../../../materializers/batch/in-process-scheduler.js';
import type { PartitionCaughtUp, StreamBatch } from '../../../../adapters/sources/types.js';
import { RecordingHistory, RecordingPublishes } from '../../../fixtures/watermarks.js';
import { waitUntil } from '../../../fixtures/wait.js';
import { VirtualTime } from '../../../fixtures/virtual-time.js';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const view = 'restaurant_order_activity';
const order = (restaurantId: string, atMs: number) => JSON.stringify({ orderId: 'o', restaurantId, userId: 'u1', createdAt: new Date(atMs).toISOString(), totalPrice: 10, cuisine: 'thai' });

/** Timers that never fire by themselves: the test publishes when it chooses. */
const manual: Timers = { setTimeout: () => 0, clearTimeout: () => undefined };

async function setup(partitions = 2) {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  let clock = T0;
  const now = () => clock;
  const store = new RecordingPublishes({ now });
  const history = new RecordingHistory();
  const stream = new MemoryStream(partitions, now);
  const views = [...registry.views.values()].filter((v) => v.source.kind === 'stream');
  const logs: string[] = [];
  const materializer = new StreamMaterializer({ topic: 'orders', views, store, history, source: stream, now, timers: manual, log: (line) => logs.push(line) });
  const watermark = async () => (await store.watermarkOf(view))?.watermark ?? null;
  return { registry, store, history, stream, materializer, watermark, logs, setClock: (t: number) => (clock = t) };
}

const batch = (partition: number, eventTimes: number[], firstOffset = 0): StreamBatch => ({
  topic: 'orders',
  partition,
  messages: eventTimes.map((t, i) => ({ partition, offset: firstOffset + i, key: null, value: order('r1', t), timestampMs: T0 })),
});

test('a partition caught up and idle keeps its watermark moving with the clock; a stopped materializer\'s stops', async () => {
  const { stream, materializer, watermark, setClock } = await setup(1);
  materializer.start();
  const told: PartitionCaughtUp[] = [];
  const consumer = await stream.consume({
    groupId: 'g',
    topics: ['orders'],
    fromBeginning: true,
    handle: (b) => materializer.handle(b),
    onCaughtUp: (c) => {
      told.push(c);
      materializer.caughtUp(c);
    },
  });
  const caughtUpAt = (t: number) => waitUntil(() => told.some((c) => c.at >= t), 10_000, () => `no caught-up report at ${t}: ${JSON.stringify(told.slice(-3))}`, 5);
  try {
    await stream.produce('orders', [{ key: 'r1', value: order('r1', T0 - 60_000) }]);
    await caughtUpAt(T0);
    await materializer.publishWatermarks();
    assert.equal(await watermark(), T0);
    // Nothing new comes: the partition is still caught up, at later instants.
    setClock(T0 + 30_000);
    await caughtUpAt(T0 + 30_000);
    await materializer.publishWatermarks();
    assert.equal(await watermark(), T0 + 30_000);
  } finally {
    await consumer.stop();
    await materializer.stop();
  }
  // Stopped: the clock moves on, the watermark does not.
  setClock(T0 + 120_000);
  await materializer.publishWatermarks();
  assert.equal(await watermark(), T0 + 30_000);
});

test('a partition behind publishes the newest event time applied (never past the clock); the view\'s watermark is the minimum over partitions', async () => {
  const { materializer, watermark, store } = await setup();
  await materializer.handle(batch(0, [T0 - 50_000, T0 - 40_000]));
  await materializer.handle(batch(1, [T0 - 20_000]));
  await materializer.publishWatermarks();
  assert.deepEqual(store.publishes.filter((p) => p.view === view).map((p) => p.parts), [{ 'orders:0': T0 - 40_000, 'orders:1': T0 - 20_000 }]);
  assert.equal(await watermark(), T0 - 40_000, 'the partition furthest behind');
  // Partition 0 catches up: partition 1's event time is the minimum now.
  materializer.caughtUp({ topic: 'orders', partition: 0, at: T0 });
  await materializer.publishWatermarks();
  assert.equal(await watermark(), T0 - 20_000);
  // An event stamped ahead of the clock counts as happening now; a caught-up instant ahead of it too.
  await materializer.handle(batch(1, [T0 + 3_600_000], 1));
  materializer.caughtUp({ topic: 'orders', partition: 0, at: T0 + 60_000 });
  await materializer.publishWatermarks();
  assert.equal(await watermark(), T0);
  // An older event applied later (a late one) moves nothing back.
  await materializer.handle(batch(1, [T0 - 30_000], 2));
  await materializer.publishWatermarks();
  assert.equal(await watermark(), T0);
  // Nothing noted since: nothing is published.
  const publishes = store.publishes.length;
  await materializer.publishWatermarks();
  assert.equal(store.publishes.length, publishes);
});

test('a failed publish holds up no event, is retried at the next tick, and its change then reaches history', async () => {
  const { materializer, watermark, store, history, logs } = await setup();
  // A record held from before (another process, or a crash before its history append): appended at start.
  await store.publishWatermarks(view, { 'orders:0': T0 - 90_000, 'orders:1': T0 - 90_000 }, T0 - 80_000);
  materializer.start();
  store.failing = true;
  await materializer.handle(batch(0, [T0 - 10_000]));
  materializer.caughtUp({ topic: 'orders', partition: 1, at: T0 - 5_000 });
  await materializer.publishWatermarks();
  assert.equal(materializer.stats.events, 1, 'the events went through');
  assert.match(logs.join('\n'), /topic orders: publishing the watermark of view restaurant_order_activity failed; trying again in 1000 ms: .*connection refused/);
  assert.deepEqual([...history.appended], [{ view, watermark: T0 - 90_000, at: T0 - 80_000 }], 'the record the store held at start, and nothing of the failed publish');
  store.failing = false;
  await materializer.publishWatermarks();
  assert.equal(await watermark(), T0 - 10_000);
  assert.deepEqual(
    history.appended.filter((w) => w.view === view),
    [
      { view, watermark: T0 - 90_000, at: T0 - 80_000 },
      { view, watermark: T0 - 10_000, at: T0 },
    ],
    'then the change the retried publish made',
  );
  await materializer.stop();
});

test('watermarkIntervalMs is checked where it enters', async () => {
  const { registry, store, stream } = await setup();
  const views = [...registry.views.values()].filter((v) => v.source.kind === 'stream');
  assert.throws(() => new StreamMaterializer({ topic: 'orders', views, store, source: stream, watermarkIntervalMs: 0 }), /stream materializer: watermarkIntervalMs must be an integer from 1 to 3600000, got 0/);
});

test('once started, the materializer publishes by itself every interval', async () => {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const time = new VirtualTime(T0);
  const store = new RecordingPublishes({ now: time.now });
  const views = [...registry.views.values()].filter((v) => v.source.kind === 'stream');
  const materializer = new StreamMaterializer({ topic: 'orders', views, store, source: new MemoryStream(1, time.now), now: time.now, timers: time, watermarkIntervalMs: 5000 });
  materializer.start();
  materializer.caughtUp({ topic: 'orders', partition: 0, at: T0 });
  await time.until(() => store.publishes.some((p) => p.view === view), () => 'the first publish');
  assert.equal(time.now(), T0 + 5000);
  materializer.caughtUp({ topic: 'orders', partition: 0, at: T0 + 5000 });
  await time.until(() => store.publishes.filter((p) => p.view === view).length === 2, () => 'the second publish');
  assert.equal(time.now(), T0 + 10_000);
  assert.deepEqual(store.publishes.filter((p) => p.view === view).map((p) => p.parts), [{ 'orders:0': T0 }, { 'orders:0': T0 + 5000 }]);
  await materializer.stop();
});
