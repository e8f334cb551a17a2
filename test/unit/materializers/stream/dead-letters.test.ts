// Dead letters that fit, and a dead-letter topic that refuses them (issue 15, item 2): a message whose
// dead-letter record would be larger than the topic takes (900 KB of `"` is 1.8 MB once escaped) is
// written truncated, saying so; a topic that refuses every write stops the materializer with a coded
// error after bounded retries, instead of retrying the batch forever.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { windowValue } from '../../../../schema/windows.js';
import { FeaturegraphError } from '../../../../schema/errors.js';
import { MemoryOnlineStore } from '../../../../adapters/online/memory/index.js';
import { MemoryStream } from '../../../../adapters/sources/memory/stream.js';
import { StreamMaterializer } from '../../../../materializers/stream/materializer.js';
import { fitDeadLetter, type DeadLetter } from '../../../../materializers/stream/dead-letters.js';
import { startMaterializers } from '../../../../materializers/runtime.js';
import type { StreamBatch, StreamConsumer, StreamConsumerOptions, StreamSource } from '../../../../adapters/sources/types.js';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const view = 'restaurant_order_activity';
/** Kafka's default max.message.bytes (broker message.max.bytes), less a record batch's overhead. */
const kafkaLimit = 1_048_588 - 93;
const order = (restaurantId: string, atMs: number) => JSON.stringify({ orderId: 'o', restaurantId, userId: 'u1', createdAt: new Date(atMs).toISOString(), totalPrice: 10, cuisine: 'thai' });
const bytes = (text: string | null) => (text === null ? 0 : Buffer.byteLength(text, 'utf8'));

/** The in-process stream with a broker's message size limit, and a dead-letter topic that may refuse writes. */
class GuardedStream implements StreamSource {
  readonly name = 'guarded-stream';
  readonly inner: MemoryStream;
  produceCalls = 0;
  refuse: Error | null = null;

  constructor(readonly limit: number) {
    this.inner = new MemoryStream(1, () => T0);
  }

  consume(options: StreamConsumerOptions): Promise<StreamConsumer> {
    return this.inner.consume(options);
  }

  async maxMessageBytes(): Promise<number> {
    return this.limit;
  }

  async produce(topic: string, messages: { key: string | null; value: string }[]): Promise<void> {
    this.produceCalls++;
    if (this.refuse) throw this.refuse;
    for (const m of messages) if (bytes(m.key) + bytes(m.value) > this.limit) throw new Error('The request included a message larger than the max message size the server will accept');
    await this.inner.produce(topic, messages);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

async function setup(limit = kafkaLimit) {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const now = () => T0;
  const store = new MemoryOnlineStore({ now });
  const source = new GuardedStream(limit);
  const views = [...registry.views.values()].filter((v) => v.source.kind === 'stream');
  const materializer = new StreamMaterializer({ topic: 'orders', views, store, source, now, deadLetterRetry: { attempts: 3, initialMs: 1, maxMs: 4 } });
  const feature = registry.entity('Restaurant').features.get('ordersLast30m');
  const count = async (key: string) => {
    const [stored] = await store.read([{ view, key }]);
    return stored ? windowValue(feature!.window!, stored.tiles?.ordersLast30m, T0) : null;
  };
  return { registry, store, source, materializer, count, now };
}

const batch = (values: (string | null)[], firstOffset = 0): StreamBatch => ({
  topic: 'orders',
  partition: 0,
  messages: values.map((value, i) => ({ partition: 0, offset: firstOffset + i, key: null, value, timestampMs: T0 })),
});

/** A dead letter as read back, with what a truncated one adds. */
interface Letter extends DeadLetter {
  valueBytes?: number;
  truncated?: boolean;
}

test('a message whose dead letter would be too large once escaped (900 KB of ") is dead-lettered truncated, and the partition goes on', async () => {
  const { materializer, source, count } = await setup();
  const quotes = '"'.repeat(900_000);
  assert.ok(bytes(JSON.stringify(quotes)) > kafkaLimit && bytes(quotes) < kafkaLimit, 'under the limit raw, over it escaped');
  await materializer.handle(batch([order('r1', T0 - 1000), quotes, order('r1', T0 - 2000)]));
  assert.equal(await count('r1'), 2);
  const letters = source.inner.messages('orders.dead-letter');
  assert.equal(letters.length, 2, 'one dead letter per view that read it');
  for (const m of letters) {
    assert.ok(bytes(m.key) + bytes(String(m.value)) <= kafkaLimit, `the record fits: ${bytes(String(m.value))} bytes`);
    const letter = JSON.parse(String(m.value)) as Letter;
    assert.equal(letter.topic, 'orders');
    assert.equal(letter.partition, 0);
    assert.equal(letter.offset, 1);
    assert.match(letter.reason, /^not JSON: /);
    assert.equal(letter.truncated, true);
    assert.equal(letter.valueBytes, 900_000);
    assert.ok(letter.value !== null && letter.value.length > 400_000 && quotes.startsWith(letter.value), 'as much of the value as fits');
  }
  assert.equal(materializer.stats.deadLetters, 2);
});

test('a dead letter that fits is written whole, with its size', async () => {
  const { materializer, source } = await setup();
  await materializer.handle(batch(['not json']));
  const [letter] = source.inner.messages('orders.dead-letter').map((m) => JSON.parse(String(m.value)) as Letter);
  assert.equal(letter?.value, 'not json');
  assert.equal(letter?.valueBytes, 8);
  assert.equal(letter?.truncated, undefined);
});

test('fitDeadLetter cuts the value by its escaped size, never inside a character, and says so', () => {
  const record = { topic: 't', partition: 2, offset: 7, view: 'v', reason: 'not JSON: x' };
  const whole = fitDeadLetter({ ...record, value: 'abc' }, 'k', 1000);
  assert.deepEqual(JSON.parse(whole), { ...record, value: 'abc', valueBytes: 3 });
  for (const [unit, size] of [['"', 2], ['\u0001', 6], ['é', 2], ['😀', 4], ['\\', 2], ['a', 1]] as const) {
    const value = unit.repeat(5000);
    const text = fitDeadLetter({ ...record, value }, 'k', 2000);
    assert.ok(bytes(text) + 1 <= 2000, `${JSON.stringify(unit)}: ${bytes(text)} bytes`);
    const letter = JSON.parse(text) as Letter;
    assert.equal(letter.truncated, true);
    assert.equal(letter.valueBytes, bytes(value));
    assert.ok(value.startsWith(letter.value ?? 'x'), `${JSON.stringify(unit)}: a prefix of the value`);
    assert.equal((letter.value ?? '').length % unit.length, 0, 'no half of a surrogate pair');
    // Nearly the whole budget is used: at most one more unit would not have fitted.
    assert.ok(bytes(text) + 1 + size + 16 > 2000, `${JSON.stringify(unit)}: only ${bytes(text)} bytes used`);
  }
  const nothing = JSON.parse(fitDeadLetter({ ...record, value: null }, 'k', 1000)) as Letter;
  assert.equal(nothing.value, null);
  assert.equal(nothing.valueBytes, 0);
  // A reason longer than the budget is cut too; a budget that cannot hold the record's place is refused.
  const long = JSON.parse(fitDeadLetter({ ...record, reason: 'r'.repeat(5000), value: 'v'.repeat(5000) }, 'k', 1000)) as Letter;
  assert.ok(long.reason.length < 1000 && long.truncated === true);
  assert.throws(() => fitDeadLetter({ ...record, value: 'v' }, 'k', 40), (error: unknown) => error instanceof FeaturegraphError && error.code === 'DEAD_LETTER_FAILED' && /40 bytes/.test(error.message));
});

test('a dead-letter topic that refuses every write: retried a bounded number of times, then the materializer stops with a coded error', async () => {
  const { materializer, source, count } = await setup();
  source.refuse = new Error('NOT_ENOUGH_REPLICAS: Messages are rejected since there are fewer in-sync replicas than required');
  const failure = await materializer.handle(batch([order('r1', T0 - 1000), 'not json', order('r1', T0 - 2000)])).then(
    () => assert.fail('the batch must not succeed'),
    (error: unknown) => error,
  );
  assert.ok(failure instanceof FeaturegraphError, String(failure));
  assert.equal(failure.code, 'DEAD_LETTER_FAILED');
  assert.equal(failure.retriable, false);
  assert.match(failure.message, /orders\.dead-letter/);
  assert.match(failure.message, /3 attempts/);
  assert.match(failure.message, /NOT_ENOUGH_REPLICAS/);
  assert.equal(source.produceCalls, 3);
  // Stopped: later batches are refused with the same error and change nothing.
  const before = await count('r1');
  await assert.rejects(materializer.handle(batch([order('r1', T0 - 3000)], 3)), (error: unknown) => error === failure);
  assert.equal(await count('r1'), before);
  assert.equal(source.produceCalls, 3, 'no more attempts');
});

test('a dead-letter send that fails in a way no retry mends (not retriable) stops the materializer at the first attempt', async () => {
  const { materializer, source } = await setup();
  source.refuse = new FeaturegraphError('SOURCE_UNAVAILABLE', 'not authorized to write to topic orders.dead-letter');
  const failure = await materializer.handle(batch(['not json'])).then(
    () => assert.fail('the batch must not succeed'),
    (error: unknown) => error,
  );
  assert.ok(failure instanceof FeaturegraphError, String(failure));
  assert.equal(failure.code, 'DEAD_LETTER_FAILED');
  assert.match(failure.message, /after 1 attempt: not authorized to write to topic orders\.dead-letter;/);
  assert.equal(failure.cause, source.refuse);
  assert.equal(source.produceCalls, 1);
});

test('the in-process stream stops consuming when its materializer stops, and tells the runtime', async () => {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const now = () => T0;
  const store = new MemoryOnlineStore({ now });
  const source = new GuardedStream(kafkaLimit);
  source.refuse = new Error('topic authorization failed');
  let handled = 0;
  const halted: { topic: string; error: unknown }[] = [];
  const runtime = await startMaterializers({
    registry,
    store,
    now,
    views: [view],
    bindings: {
      stream: () => ({
        name: source.name,
        maxMessageBytes: () => source.maxMessageBytes(),
        produce: (topic, messages) => source.produce(topic, messages),
        close: () => source.close(),
        consume: (options) => source.consume({ ...options, handle: (b) => ((handled += 1), options.handle(b)) }),
      }),
      rows: () => assert.fail('no row views'),
    },
    deadLetterRetry: { attempts: 2, initialMs: 1, maxMs: 2 },
    onHalt: (topic, error) => halted.push({ topic, error }),
  });
  try {
    await source.inner.produce('orders', [{ key: 'r1', value: order('r1', T0 - 1000) }, { key: 'r1', value: 'not json' }]);
    while (halted.length === 0 && handled < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(halted.length, 1, `the runtime is told once (handled ${handled} batches)`);
    assert.equal(halted[0]?.topic, 'orders');
    assert.equal((halted[0]?.error as FeaturegraphError).code, 'DEAD_LETTER_FAILED');
    const handledThen = handled;
    await source.inner.produce('orders', [{ key: 'r1', value: order('r1', T0 - 2000) }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(handled, handledThen, 'no batch is handed over once stopped');
    assert.equal(source.produceCalls, 2);
  } finally {
    await runtime.stop();
  }
});
