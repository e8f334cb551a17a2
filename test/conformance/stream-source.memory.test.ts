// The stream-source conformance suite against the in-process stream (the demo's and the unit tests'
// stand-in for Kafka): a stream of its own per test, three partitions per topic.
import { MemoryStream } from '../../adapters/sources/memory/stream.js';
import { streamSourceConformance } from './stream-source.js';

streamSourceConformance('memory stream', async () => {
  const source = new MemoryStream(3);
  return {
    source,
    partitions: 3,
    // Topics are created on first use.
    createTopic: async () => {},
    recreateTopic: async (topic) => source.deleteTopic(topic),
    teardown: () => source.close(),
  };
});
