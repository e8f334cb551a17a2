// The stream materializer on the in-process stream: windows from events, poison messages to the
// dead-letter topic, and replays that change nothing twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { MemoryOnlineStore } from '../../../../adapters/online/memory/index.js';
import { MemoryStream } from '../../../../adapters/sources/memory/stream.js';
import { StreamMaterializer } from '../../../../materializers/stream/materializer.js';
import { windowValue } from '../../../../schema/windows.js';
import type { StreamBatch } from '../../../../adapters/sources/types.js';
import type { TileWrite, TileWriteOutcome } from '../../../../adapters/online/types.js';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const order = (restaurantId: string, atMs: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ orderId: 'o', restaurantId, userId: 'u1', createdAt: new Date(atMs).toISOString(), totalPrice: 10, cuisine: 'thai', ...extra });

async function setup<S extends MemoryOnlineStore = MemoryOnlineStore>(makeStore: (now: () => number) => S = (now) => new MemoryOnlineStore({ now }) as S) {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const now = () => T0;
  const store = makeStore(now);
  const stream = new MemoryStream(1, now);
  const views = [...registry.views.values()].filter((v) => v.source.kind === 'stream');
  const materializer = new StreamMaterializer({ topic: 'orders', views, store, source: stream, now });
  const feature = registry.entity('Restaurant').features.get('ordersLast30m');
  const count = async (key: string) => {
    const [stored] = await store.read([{ view: 'restaurant_order_activity', key }]);
    return stored ? windowValue(feature!.window!, stored.tiles?.ordersLast30m, T0) : null;
  };
  return { store, stream, materializer, count };
}

const batch = (values: (string | null)[], firstOffset = 0): StreamBatch => ({
  topic: 'orders',
  partition: 0,
  messages: values.map((value, i) => ({ partition: 0, offset: firstOffset + i, key: null, value, timestampMs: T0 })),
});

test('events become window counts per restaurant', async () => {
  const { materializer, count } = await setup();
  await materializer.handle(batch([order('r1', T0 - 60_000), order('r1', T0 - 120_000), order('r2', T0 - 5_000), order('r1', T0 - 40 * 60_000)]));
  assert.equal(await count('r1'), 2);
  assert.equal(await count('r2'), 1);
  // One write per key and view: r1 and r2 for restaurants, u1 for users.
  assert.deepEqual(materializer.stats, { events: 4, writes: 3, duplicates: 0, deadLetters: 0, groupedBatches: 0, resets: 0 });
});

test('a replayed batch changes nothing; a batch straddling what was applied applies only the new events', async () => {
  const { materializer, count } = await setup();
  const events = [order('r1', T0 - 1000), order('r1', T0 - 2000), order('r1', T0 - 3000), order('r1', T0 - 4000)];
  await materializer.handle(batch(events.slice(0, 2)));
  await materializer.handle(batch(events.slice(0, 2)));
  assert.equal(await count('r1'), 2);
  await materializer.handle(batch(events, 0));
  assert.equal(await count('r1'), 4, 'offsets 0-1 were applied, 2-3 are new');
  await materializer.handle(batch(events, 0));
  assert.equal(await count('r1'), 4);
});

test('poison and late messages go to the dead-letter topic with a reason, and do not block the rest', async () => {
  const { materializer, stream, count } = await setup();
  await materializer.handle(
    batch([
      'not json',
      JSON.stringify([1, 2]),
      order('r1', T0, { createdAt: 'yesterday' }),
      order('', T0),
      JSON.stringify({ restaurantId: 'r1', userId: 'u1', totalPrice: 3 }),
      order('r1', T0, { totalPrice: 'ten' }),
      order('r1', T0 - 3 * 86_400_000),
      null,
      order('r1', T0 - 1000),
    ]),
  );
  assert.equal(await count('r1'), 1);
  const letters = stream.messages('orders.dead-letter').map((m) => JSON.parse(String(m.value)) as { offset: number; view: string; reason: string });
  const reasons = letters.filter((l) => l.view === 'restaurant_order_activity').map((l) => `${l.offset}: ${l.reason}`);
  assert.deepEqual(reasons.map((r) => r.replace(/ got .*$/, '').replace(/too late: .*/, 'too late')), [
    "0: not JSON: Unexpected token 'o', \"not json\" is not valid JSON",
    '1: not a JSON object',
    '2: field "createdAt" must be timestamp,',
    '3: key field "restaurantId" must be a non-empty string',
    '4: missing required field "createdAt"',
    '5: field "totalPrice" must be number,',
    '6: too late',
    '7: empty message (tombstone)',
  ]);
  assert.equal(materializer.stats.deadLetters, letters.length);
});

class FlakyStore extends MemoryOnlineStore {
  failNext = false;
  override async applyTiles(writes: readonly TileWrite[]): Promise<TileWriteOutcome[]> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('store unavailable');
    }
    return super.applyTiles(writes);
  }
}

test('batches handed over before the previous one is applied wait for it; after a failure, later ones are refused until the failed one comes again', async () => {
  const { store, materializer, count: countOf } = await setup((now) => new FlakyStore({ now }));
  const count = () => countOf('r1');
  const events = [order('r1', T0 - 1000), order('r1', T0 - 2000), order('r1', T0 - 3000), order('r1', T0 - 4000)];
  // Two at once, applied in order.
  await Promise.all([materializer.handle(batch(events.slice(0, 1), 0)), materializer.handle(batch(events.slice(1, 2), 1))]);
  assert.equal(await count(), 2);
  store.failNext = true;
  const failed = materializer.handle(batch(events.slice(2, 3), 2));
  const after = materializer.handle(batch(events.slice(3, 4), 3));
  await assert.rejects(failed, /store unavailable/);
  await assert.rejects(after, /store unavailable/, 'the next batch waited for the failed one and sent nothing');
  await assert.rejects(materializer.handle(batch(events.slice(3, 4), 3)), /refused: the batch from offset 2 failed/);
  assert.equal(await count(), 2, 'offset 3 was not applied past the failed offset 2');
  await materializer.handle(batch(events.slice(2), 2));
  assert.equal(await count(), 4);
});

/** A store whose tile writes wait until released, and which records every call. */
class GatedStore extends MemoryOnlineStore {
  readonly calls: TileWrite[][] = [];
  private gate: Promise<void> | null = null;
  private open: () => void = () => undefined;
  /** Fails the call with this number (1 for the first), once. */
  failCall: number | null = null;
  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }
  release(): void {
    this.gate = null;
    this.open();
  }
  override async applyTiles(writes: readonly TileWrite[]): Promise<TileWriteOutcome[]> {
    this.calls.push(structuredClone([...writes]));
    const call = this.calls.length;
    if (this.gate) await this.gate;
    if (call === this.failCall) throw new Error('store unavailable');
    return super.applyTiles(writes);
  }
}

const gatedSetup = () => setup((now) => new GatedStore({ now }));

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('batches waiting behind the same writes are written as one: a key gets one write for all of them', async () => {
  const { store, materializer, count } = await gatedSetup();
  store.hold();
  const first = materializer.handle(batch([order('r1', T0 - 1000), order('r2', T0 - 1000)], 0));
  await settle();
  await settle();
  const second = materializer.handle(batch([order('r1', T0 - 2000), order('r1', T0 - 61_000)], 2));
  const third = materializer.handle(batch([order('r1', T0 - 3000), order('r3', T0 - 3000)], 4));
  await settle();
  await settle();
  store.release();
  await Promise.all([first, second, third]);
  assert.equal(store.calls.length, 2, 'the first batch alone, then the two that waited behind it as one');
  const merged = (store.calls[1] as TileWrite[]).filter((w) => w.view === 'restaurant_order_activity');
  assert.deepEqual(
    merged.map((w) => [w.key, w.source?.fromOffset, w.source?.toOffset]),
    [
      ['r1', 2, 4],
      ['r3', 5, 5],
    ],
  );
  assert.deepEqual([await count('r1'), await count('r2'), await count('r3')], [4, 1, 1]);
  assert.equal(materializer.stats.events, 6);
  assert.equal(materializer.stats.groupedBatches, 1);
});

test('when a group of batches fails, each of them fails, and the partition must start again at its first', async () => {
  const { store, materializer, count } = await gatedSetup();
  store.hold();
  const first = materializer.handle(batch([order('r1', T0 - 1000)], 0));
  await settle();
  await settle();
  const second = materializer.handle(batch([order('r1', T0 - 2000)], 1));
  const third = materializer.handle(batch([order('r1', T0 - 3000)], 2));
  await settle();
  await settle();
  store.failCall = 2;
  store.release();
  await first;
  await assert.rejects(second, /store unavailable/);
  await assert.rejects(third, /store unavailable/);
  await assert.rejects(materializer.handle(batch([order('r1', T0 - 3000)], 2)), /refused: the batch from offset 1 failed/);
  await materializer.handle(batch([order('r1', T0 - 2000), order('r1', T0 - 3000)], 1));
  assert.equal(await count('r1'), 3);
});
