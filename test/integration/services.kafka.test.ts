// Smoke test of the Kafka broker test/services starts, through kafkajs (the client the stream
// materializers use): topic creation, a keyed produce over three partitions, and a consumer group
// that reads every message back. Topic and group names are unique per run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Consumer } from 'kafkajs';
import { requireEndpoint } from '../services/endpoints.js';

const messageCount = 100;

/** Resolves once `expected` messages arrived, or rejects after `timeoutMs`. */
function collect(consumer: Consumer, topic: string, expected: number, timeoutMs: number): Promise<Map<string, { partition: number; value: string }>> {
  const received = new Map<string, { partition: number; value: string }>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`received ${received.size} of ${expected} messages within ${timeoutMs} ms`)), timeoutMs);
    consumer
      .run({
        eachMessage: async ({ topic: from, partition, message }) => {
          assert.equal(from, topic);
          received.set(String(message.key), { partition, value: String(message.value) });
          if (received.size === expected) {
            clearTimeout(timer);
            resolve(received);
          }
        },
      })
      .catch(reject);
  });
}

test('kafka: a 3-partition topic, 100 keyed messages produced, all consumed by a group', async () => {
  const { brokers } = requireEndpoint('kafka');
  const kafka = new Kafka({ clientId: 'featuregraph-smoke', brokers, logLevel: logLevel.ERROR });
  const topic = `smoke-${randomUUID()}`;
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `smoke-group-${randomUUID()}` });
  try {
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true }), true);

    await producer.connect();
    const messages = Array.from({ length: messageCount }, (_, i) => ({ key: `key-${i}`, value: JSON.stringify({ i }) }));
    await producer.send({ topic, messages });

    const offsets = await admin.fetchTopicOffsets(topic);
    assert.equal(offsets.length, 3);
    assert.ok(offsets.every((o) => Number(o.high) > 0), `every partition got messages: ${offsets.map((o) => o.high).join(', ')}`);
    assert.equal(offsets.reduce((sum, o) => sum + Number(o.high), 0), messageCount);

    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received = await collect(consumer, topic, messageCount, 30_000);
    assert.equal(received.size, messageCount);
    for (let i = 0; i < messageCount; i++) assert.equal(received.get(`key-${i}`)?.value, JSON.stringify({ i }));
    assert.equal(new Set([...received.values()].map((m) => m.partition)).size, 3);
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
