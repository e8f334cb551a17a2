// Dead letters on the real broker (issue 15, item 2). A 900 KB message of `"` (under the broker's
// 1 MB limit) becomes 1.8 MB escaped into its dead-letter record: it must be dead-lettered truncated and
// its partition must go on, offsets committed to the end. A dead-letter topic that refuses every write
// must stop the materializer with a coded error, its batch's offsets not committed. Refused here by a
// topic whose max.message.bytes is below what the source was told (MESSAGE_TOO_LARGE on every send);
// min.insync.replicas above the replication factor does not refuse writes on this Kafka 4.1.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kafka } from 'kafkajs';
import { FeaturegraphError, type StreamHaltError } from '../../schema/errors.js';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import { KafkaStreamSource } from '../../adapters/sources/kafka/index.js';
import { startMaterializers } from '../../materializers/runtime.js';
import { requireEndpoint } from '../services/endpoints.js';
import { committedOffsets, committedToEnd, highWatermarks, kafkaClient, merchantKeys, partitionFor, paymentEvent, paymentsRegistry, produceAll, readDeadLetters, seededRandom, topicWithProducer, viewName, waitUntil, type Outbound } from '../fixtures/stream.js';

const T0 = Date.parse('2026-06-01T12:00:07.345Z');
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function setup(name: string, maxMessageBytes?: number) {
  const { brokers } = requireEndpoint('kafka');
  const { url } = requireEndpoint('redis');
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const topic = `fg-dead-letters-${name}-${runId}`;
  const kafka: Kafka = kafkaClient(brokers, `dead-letters-test-${name}`);
  const { admin, producer } = await topicWithProducer(kafka, topic, cleanups);
  const store = new RedisOnlineStore({ mode: 'standalone', url, keyPrefix: `fg-test:dead-letters:${name}:${runId}:`, commandTimeoutMs: 10_000 });
  await store.connect();
  cleanups.push(() => store.close());
  const keys = merchantKeys(12);
  cleanups.push(() => store.delete(keys.map((key) => ({ view: viewName, key }))));
  const source = new KafkaStreamSource({ brokers, clientId: `dead-letters-test-${name}`, sessionTimeoutMs: 6000, ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }) });
  cleanups.push(() => source.close());
  const rng = seededRandom(11);
  const events = (n: number, partition: number): Outbound[] => {
    const mine = keys.filter((k) => partitionFor(k) === partition);
    return Array.from({ length: n }, (_, i) => paymentEvent(rng, mine[i % mine.length] as string, T0 - 60_000 - i));
  };
  const counted = async () => {
    let total = 0;
    for (const value of await store.read(keys.map((key) => ({ view: viewName, key })))) for (const cell of Object.values(value?.tiles?.paymentsLast1h ?? {})) total += cell as number;
    return total;
  };
  return { topic, kafka, admin, producer, store, source, events, counted, groupId: `fg-dead-letters-${name}-${runId}`, registry: paymentsRegistry(topic) };
}

test('a message of 900 KB of " is dead-lettered truncated (its record would be 1.8 MB), and its partition goes on to the end', { timeout: 180_000 }, async (t) => {
  const s = await setup('large');
  const quotes = '"'.repeat(900_000);
  // One send per part: a send's messages to one partition travel as one record batch, limited to 1 MB.
  const before = await produceAll(s.producer, s.topic, [...s.events(20, 0), ...s.events(20, 1), ...s.events(20, 2)]);
  const [big] = await produceAll(s.producer, s.topic, [{ partition: 1, key: 'm-big', value: quotes, expect: { kind: 'poison', reason: /^not JSON/ } }], 1);
  const afterwards = await produceAll(s.producer, s.topic, [...s.events(20, 0), ...s.events(20, 1), ...s.events(20, 2)]);
  const lines: string[] = [];
  const runtime = await startMaterializers({ registry: s.registry, store: s.store, groupId: s.groupId, now: () => T0, bindings: { stream: () => s.source, rows: () => assert.fail('no row views') }, log: (line) => lines.push(line) });
  cleanups.push(() => runtime.stop());
  const describe = async () => `committed ${JSON.stringify([...(await committedOffsets(s.admin, s.groupId, s.topic))])}, end ${JSON.stringify([...(await highWatermarks(s.admin, s.topic))])}, counted ${await s.counted()}; stats ${JSON.stringify(runtime.streams[0]?.stats)}\n${lines.slice(-5).join('\n')}`;
  await waitUntil(
    () => committedToEnd(s.admin, s.groupId, s.topic),
    90_000,
    describe,
    250,
  );
  assert.equal(await s.counted(), before.length + afterwards.length, 'every event on both sides of the large message applied');
  const letters = await readDeadLetters(s.kafka, s.admin, s.topic);
  assert.equal(letters.length, 1, JSON.stringify(letters.map((l) => ({ ...l, value: l.value?.slice(0, 20) }))));
  const letter = letters[0] as (typeof letters)[number] & { valueBytes?: number; truncated?: boolean };
  assert.deepEqual({ topic: letter.topic, partition: letter.partition, offset: letter.offset, view: letter.view, valueBytes: letter.valueBytes, truncated: letter.truncated }, { topic: s.topic, partition: 1, offset: big?.offset, view: viewName, valueBytes: 900_000, truncated: true });
  assert.match(letter.reason, /^not JSON: /);
  assert.ok(letter.value !== null && letter.value.length > 400_000 && quotes.startsWith(letter.value), `as much of the value as fits: ${letter.value?.length} characters`);
  t.diagnostic(`dead letter: ${letter.value?.length} of 900000 characters kept; reason ${letter.reason}`);
});

test('a dead-letter topic that refuses every write stops the materializer with a coded error naming it; the batch is not committed', { timeout: 180_000 }, async (t) => {
  // The source is told dead-letter topics take Kafka's default; this one takes 300 bytes a batch.
  const s = await setup('refused', 1_048_588);
  const dlq = `${s.topic}.dead-letter`;
  await s.admin.createTopics({ topics: [{ topic: dlq, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '300' }] }], waitForLeaders: true });
  const first = await produceAll(s.producer, s.topic, s.events(10, 0));
  const [poison] = await produceAll(s.producer, s.topic, [{ partition: 0, key: 'm-poison', value: 'not json', expect: { kind: 'poison', reason: /^not JSON/ } }], 1);
  await produceAll(s.producer, s.topic, s.events(10, 0));
  const halts: { topic: string; error: StreamHaltError }[] = [];
  const lines: string[] = [];
  const runtime = await startMaterializers({
    registry: s.registry,
    store: s.store,
    groupId: s.groupId,
    now: () => T0,
    bindings: { stream: () => s.source, rows: () => assert.fail('no row views') },
    log: (line) => lines.push(line),
    deadLetterRetry: { attempts: 3, initialMs: 50, maxMs: 200 },
    onHalt: (topic, error) => halts.push({ topic, error }),
  });
  cleanups.push(() => runtime.stop());
  await waitUntil(() => halts.length > 0, 120_000, () => `no halt; stats ${JSON.stringify(runtime.streams[0]?.stats)}\n${lines.slice(-5).join('\n')}`, 100);
  const [halt] = halts;
  assert.equal(halts.length, 1);
  assert.equal(halt?.topic, s.topic);
  assert.ok(halt?.error instanceof FeaturegraphError);
  assert.equal(halt.error.code, 'DEAD_LETTER_FAILED');
  assert.ok(halt.error.message.includes(dlq), halt.error.message);
  assert.match(halt.error.message, /after 3 attempts: .*larger than the max message size/i);
  assert.ok(lines.some((l) => l.includes('DEAD_LETTER_FAILED') && l.includes(dlq)), `logged:\n${lines.join('\n')}`);
  t.diagnostic(halt.error.message);
  // Nothing from the poison's batch on is committed: a restart reads it again.
  const committed = (await committedOffsets(s.admin, s.groupId, s.topic)).get(0) ?? -1;
  assert.ok(committed <= (poison?.offset ?? 0), `partition 0 committed up to ${committed}, the poison is at ${poison?.offset} (${first.length} events before it)`);
  // The materializer left its group: it is stopped, not looping.
  await waitUntil(async () => (await s.admin.describeGroups([s.groupId])).groups[0]?.members.length === 0, 30_000, () => 'the stopped consumer is still in its group');
});
