// The stream-source conformance suite on the real broker (test/services: Kafka 4.1, one node): a
// KafkaStreamSource of its own per test, topics of three partitions on the shared broker, removed after.
import { KafkaStreamSource } from '../../adapters/sources/kafka/index.js';
import { streamSourceConformance } from '../conformance/stream-source.js';
import { createTopic, deleteTopics, kafkaClient, partitions, recreateTopic } from '../fixtures/stream.js';
import { requireEndpoint } from '../services/endpoints.js';

streamSourceConformance('kafka', async (prefix) => {
  const { brokers } = requireEndpoint('kafka');
  const admin = kafkaClient(brokers, 'stream-source-conformance').admin();
  await admin.connect();
  // A short session: a consumer that left is replaced soon in its group on a busy machine too.
  const source = new KafkaStreamSource({ brokers, clientId: 'stream-source-conformance', sessionTimeoutMs: 6000 });
  return {
    source,
    partitions,
    createTopic: (topic) => createTopic(admin, topic),
    recreateTopic: (topic) => recreateTopic(admin, topic),
    async teardown() {
      await source.close();
      try {
        await deleteTopics(admin, (await admin.listTopics()).filter((topic) => topic.startsWith(prefix)));
      } finally {
        await admin.disconnect();
      }
    },
  };
});
