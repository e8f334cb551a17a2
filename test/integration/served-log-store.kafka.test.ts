// The served log on the real broker (test/services: Kafka 4.1, one node): the conformance suite on a
// topic of this run (created by the first append, through the stream source's produce), then what is
// Kafka's own: a record over the topic's message limit refused alone, other producers' messages
// skipped, a topic not created yet read as empty, and the gateway's factory and logger end to end.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaStreamSource } from '../../adapters/sources/kafka/index.js';
import { KafkaServedLogStore } from '../../adapters/served-log/kafka.js';
import { ServedRecordsRefused } from '../../adapters/served-log/errors.js';
import { loadConfig } from '../../gateway/config.js';
import { openServedLog } from '../../gateway/served-log/index.js';
import { readAll, servedLogStoreConformance, servedRecord } from '../conformance/served-log-store.js';
import { deleteTopics, kafkaClient } from '../fixtures/stream.js';
import { requireEndpoint } from '../services/endpoints.js';

const prefix = `fg-test.served-log.${process.pid}.${Date.now()}`;
const { brokers } = requireEndpoint('kafka');
let topics = 0;
const topicOfThisRun = () => `${prefix}.${++topics}`;

after(async () => {
  const admin = kafkaClient(brokers, 'served-log-cleanup').admin();
  await admin.connect();
  try {
    await deleteTopics(admin, (await admin.listTopics()).filter((topic) => topic.startsWith(prefix)));
  } finally {
    await admin.disconnect();
  }
});

/** A store on a topic of its own, with a source of its own (closed with it). */
function kafkaStore(options: { maxMessageBytes?: number } = {}): { store: KafkaServedLogStore; source: KafkaStreamSource; close(): Promise<void> } {
  const source = new KafkaStreamSource({ brokers, clientId: 'served-log-test', ...options });
  const store = new KafkaServedLogStore({ source, brokers, clientId: 'served-log-test', topic: topicOfThisRun() });
  return { store, source, close: async () => (await store.close(), await source.close()) };
}

servedLogStoreConformance('kafka', async () => {
  const { store, close } = kafkaStore();
  return { store, teardown: close };
});

test('a record over the topic message limit is refused alone; the others are appended', async () => {
  const { store, close } = kafkaStore({ maxMessageBytes: 2000 });
  try {
    const big = servedRecord('big', 1000, { features: { name: { value: 'x'.repeat(3000), status: 'PRESENT' } } });
    await assert.rejects(store.append([servedRecord('small-1', 1001), big, servedRecord('small-2', 1002)]), (error: unknown) => {
      assert.ok(error instanceof ServedRecordsRefused);
      assert.equal(error.code, 'LIMIT_EXCEEDED');
      assert.deepEqual([error.appended, error.refused], [2, 1]);
      assert.match(error.message, new RegExp(`^kafka served log: 1 of 3 records are larger than topic ${store.topic}'s limit of 1907 bytes and were not appended \\(big \\(\\d+ bytes\\)\\); the other 2 were$`));
      return true;
    });
    assert.deepEqual((await readAll(store, { from: 0, to: 2000 })).records.map((r) => r.id), ['small-1', 'small-2']);
  } finally {
    await close();
  }
});

test("other producers' messages in the topic are skipped; a topic not created yet reads as empty", async () => {
  const { store, source, close } = kafkaStore();
  try {
    assert.deepEqual(await readAll(store, { from: 0, to: Date.now() }), { records: [], batches: [] });
    await source.produce(store.topic, [
      { key: 'x', value: 'not json' },
      { key: 'y', value: JSON.stringify({ id: 'no-at' }) },
    ]);
    await store.append([servedRecord('mine', 5)]);
    assert.deepEqual((await readAll(store, { from: 0, to: 10 })).records, [servedRecord('mine', 5)]);
  } finally {
    await close();
  }
});

test('openServedLog with a kafka sink: what the logger is offered reaches the topic', async () => {
  const topic = topicOfThisRun();
  const config = loadConfig({ env: { FEATUREGRAPH_KAFKA_BROKERS: brokers.join(',') }, overrides: { history: { type: 'snowflake' }, servedLog: { sampleRate: 1, sink: { type: 'kafka', topic } } } });
  const lines: string[] = [];
  const served = await openServedLog(config, null, null, { log: (line) => lines.push(line) });
  assert.ok(served);
  try {
    assert.deepEqual(lines, [`served log: 100% of requests (and each with x-featuregraph-log: 1) to kafka topic ${topic}`]);
    assert.equal(served.logger.sampled(undefined), true);
    served.logger.offer([servedRecord('f-1', 10), servedRecord('f-2', 11, { entity: 'User', key: 'u1' })]);
    await served.logger.flush();
    assert.deepEqual((await readAll(served.store, { from: 0, to: 100 })).records.map((r) => r.id), ['f-1', 'f-2']);
  } finally {
    await served.close();
  }
});
