// A KafkaBatch hands the materializer kafkajs's messages by index: its payload must say what its
// messages say, and prepare must make the same writes and dead letters from either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaBatch, type KafkaRawMessage } from '../../../../../adapters/sources/kafka/batch.js';
import { messagesPayload, prepareBatch } from '../../../../../materializers/stream/prepare.js';
import { NOW, randomBatch, views } from '../../../../fixtures/stream-events.js';
import type { PayloadBytes } from '../../../../../adapters/sources/types.js';

const rawOf = (seed: number): KafkaRawMessage[] =>
  randomBatch(seed, 300).map((m, i) => ({
    offset: String(1000 + m.offset),
    key: i % 7 === 0 ? null : Buffer.from(`k${i}`),
    value: typeof m.value === 'string' ? Buffer.from(m.value) : m.value,
    timestamp: String(NOW - i),
  }));

test('a KafkaBatch payload says what its messages say', () => {
  const raw = rawOf(3);
  const batch = new KafkaBatch('orders', 2, raw);
  const { payload } = batch;
  assert.equal(payload.count, raw.length);
  const bytes: PayloadBytes = { buffer: Buffer.alloc(0), start: 0, end: 0 };
  raw.forEach((message, i) => {
    const made = batch.messages[i]!;
    assert.equal(payload.offsetAt(i), made.offset);
    assert.equal(made.offset, 1000 + i);
    assert.equal(made.partition, 2);
    assert.equal(made.key, message.key === null ? null : message.key.toString('utf8'));
    assert.equal(made.timestampMs, NOW - i);
    assert.equal(payload.textAt(i), message.value === null ? null : message.value.toString('utf8'));
    const hasBytes = payload.bytesAt!(i, bytes);
    assert.equal(hasBytes, message.value !== null);
    if (hasBytes) assert.equal(bytes.buffer.toString('utf8', bytes.start, bytes.end), message.value!.toString('utf8'));
  });
  // Made once, on first use.
  assert.equal(batch.messages, batch.messages);
});

test('offsets with gaps (compacted topics, transaction markers) are read one by one', () => {
  const raw = rawOf(4).map((m, i) => ({ ...m, offset: String(5000 + i * 2 + (i > 100 ? 7 : 0)) }));
  const batch = new KafkaBatch('orders', 1, raw);
  raw.forEach((message, i) => assert.equal(batch.payload.offsetAt(i), Number(message.offset)));
  const single = new KafkaBatch('orders', 1, raw.slice(3, 4));
  assert.equal(single.payload.offsetAt(0), Number(raw[3]!.offset));
});

test('prepare makes the same writes and dead letters from a KafkaBatch payload as from its messages', () => {
  const topic = views();
  for (let seed = 1; seed <= 10; seed++) {
    const batch = new KafkaBatch('orders', 0, rawOf(seed));
    const fromPayload = prepareBatch(topic, { topic: 'orders', partition: 0, generation: 0 }, batch.payload, NOW, false);
    const fromMessages = prepareBatch(topic, { topic: 'orders', partition: 0, generation: 0 }, messagesPayload(batch.messages), NOW, false);
    assert.deepEqual(fromPayload, fromMessages, `seed ${seed}`);
    assert.ok(fromPayload.writes.length > 0 && fromPayload.refused.length > 0, `seed ${seed} has writes and dead letters`);
  }
});

test('a message passes on only its trace context headers, bounded; the batch its high watermark', () => {
  const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const headersOf: KafkaRawMessage['headers'][] = [
    { traceparent: Buffer.from(tp), tracestate: Buffer.from('congo=t61rcWkgMzE'), authorization: Buffer.from('secret') },
    { traceparent: tp },
    { traceparent: [Buffer.from(tp), Buffer.from('00-second')] },
    { tracestate: 'congo=t61rcWkgMzE' },
    { traceparent: Buffer.from(tp), tracestate: 'x'.repeat(513) },
    { traceparent: Buffer.alloc(4096, 'a') },
    {},
    undefined,
  ];
  const raw = headersOf.map((headers, i): KafkaRawMessage => ({ offset: String(i), key: null, value: Buffer.from('{}'), timestamp: String(NOW), ...(headers ? { headers } : {}) }));
  const batch = new KafkaBatch('orders', 0, raw, 'topic-id', 42);
  const expected = [{ traceparent: tp, tracestate: 'congo=t61rcWkgMzE' }, { traceparent: tp }, { traceparent: tp }, null, { traceparent: tp }, null, null, null];
  assert.deepEqual(raw.map((_, i) => batch.payload.headersAt!(i)), expected);
  assert.deepEqual(batch.messages.map((m) => m.headers), expected);
  assert.equal(batch.highWatermark, 42);
});
