// A broker stopped and started with its storage formatted again, as the services harness's stop and
// start do (issue 15, item 1), under a materializer that keeps running: the topic comes back empty,
// with offsets from 0, no committed offsets and a new topic id, while the store remembers offsets of
// the old one. Every event of the new topic must count once, online and in history. The broker is one
// of the test's own (test/fixtures/private-kafka.ts): the shared broker is never stopped.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import { MemoryHistoryStore } from '../../adapters/history/memory/index.js';
import { KafkaStreamSource } from '../../adapters/sources/kafka/index.js';
import { startMaterializers } from '../../materializers/runtime.js';
import { requireEndpoint } from '../services/endpoints.js';
import { PrivateKafka } from '../fixtures/private-kafka.js';
import { committedToEnd, createTopic, kafkaClient, merchantKeys, partitionFor, paymentEvent, paymentsRegistry, produceAll, seededRandom, viewName, waitUntil, type Outbound } from '../fixtures/stream.js';

const T0 = Date.parse('2026-06-01T12:00:07.345Z');
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

test('a broker formatted again under a running materializer: every event of the new topic counts once', { timeout: 400_000 }, async (t) => {
  requireEndpoint('kafka'); // the harness installed the jars
  const { url } = requireEndpoint('redis');
  const broker = await PrivateKafka.create();
  cleanups.push(() => broker.remove());
  await broker.start();
  t.diagnostic(`private broker on port ${broker.port}, files in ${broker.dir}`);

  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const topic = `fg-formatted-${runId}`;
  const groupId = `fg-formatted-${runId}`;
  const registry = paymentsRegistry(topic);
  const store = new RedisOnlineStore({ mode: 'standalone', url, keyPrefix: `fg-test:formatted:${runId}:`, commandTimeoutMs: 10_000 });
  await store.connect();
  cleanups.push(() => store.close());
  const keys = merchantKeys(24);
  cleanups.push(() => store.delete(keys.map((key) => ({ view: viewName, key }))));
  const history = new MemoryHistoryStore();
  const rng = seededRandom(5);
  const produce = async (perPartition: number[]) => {
    const kafka = kafkaClient(broker.brokers, 'formatted-test');
    const admin = kafka.admin();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await admin.connect();
    await producer.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) await createTopic(admin, topic);
      const messages: Outbound[] = [];
      perPartition.forEach((n, p) => {
        const mine = keys.filter((k) => partitionFor(k) === p);
        for (let i = 0; i < n; i++) messages.push(paymentEvent(rng, mine[i % mine.length] as string, T0 - 60_000 - i));
      });
      return (await produceAll(producer, topic, messages, 200)).length;
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  };
  const counted = async () => {
    let total = 0;
    for (const value of await store.read(keys.map((key) => ({ view: viewName, key })))) for (const cell of Object.values(value?.tiles?.paymentsLast1h ?? {})) total += cell as number;
    return total;
  };
  const source = new KafkaStreamSource({ brokers: broker.brokers, clientId: 'formatted-test-materializer', sessionTimeoutMs: 6000 });
  cleanups.push(() => source.close());
  const lines: string[] = [];
  const admin = kafkaClient(broker.brokers, 'formatted-test-admin').admin();
  const expectCounted = async (expected: number, what: string) => {
    const describe = async () => `${what}: counted ${await counted()} of ${expected}, history ${await history.count(viewName)}; stats ${JSON.stringify(runtime.streams[0]?.stats)}\n${lines.slice(-6).join('\n')}`;
    await waitUntil(
      async () => {
        await admin.connect();
        return committedToEnd(admin, groupId, topic);
      },
      180_000,
      describe,
      500,
    );
    await waitUntil(async () => (await counted()) >= expected && (await history.count(viewName)) >= expected, 60_000, describe, 250);
    assert.equal(await counted(), expected, `${what}: every event counted once online`);
    assert.equal(await history.count(viewName), expected, `${what}: every event recorded once in history`);
  };

  const before = await produce([60, 60, 60]);
  const runtime = await startMaterializers({ registry, store, history, groupId, now: () => T0, bindings: { stream: () => source, rows: () => assert.fail('no row views') }, log: (line) => lines.push(line) });
  cleanups.push(() => runtime.stop());
  await expectCounted(before, 'before the broker was formatted');

  await admin.disconnect();
  await broker.stop();
  await broker.start();
  t.diagnostic('broker stopped, its storage formatted again, started');
  const afterwards = await produce([80, 40, 20]);
  await expectCounted(before + afterwards, 'after the broker was formatted again');
  await admin.disconnect();
  assert.ok((runtime.streams[0]?.stats.resets ?? 0) >= 1, JSON.stringify(runtime.streams[0]?.stats));
  for (const line of lines.filter((l) => /incarnation/.test(l))) t.diagnostic(line);
});
