// What every phase of a run shares: its options and id, the Kafka and Redis clients, the topics it
// created, and the profiles its workers wrote. Closing it removes everything the run created.
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import type { StreamOptions } from './options.js';
import { deletePrefix } from './redis-keys.js';
import { log, type ProfileTaken } from './report.js';
import type { Services } from './services.js';
import { Topics } from './topics.js';

export interface Context {
  options: StreamOptions;
  /** Names this run's topics, groups, Redis keys and profiles. */
  runId: string;
  brokers: string[];
  redisUrl: string;
  redis: Redis;
  topics: Topics;
  producer: Producer;
  profiles: ProfileTaken[];
  /** Deletes the run's topics, groups and Redis keys, and disconnects. */
  close(): Promise<void>;
}

export async function openContext(services: Services, options: StreamOptions, runId: string): Promise<Context> {
  const kafka = new Kafka({ clientId: 'featuregraph-bench-stream', brokers: services.brokers, logLevel: logLevel.ERROR, retry: { initialRetryTime: 100, retries: 8 } });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  const redis = new Redis(services.redis.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await Promise.all([admin.connect(), producer.connect(), redis.connect()]);
  const topics = new Topics(admin, runId);
  return {
    options,
    runId,
    brokers: services.brokers,
    redisUrl: services.redis.url,
    redis,
    topics,
    producer,
    profiles: [],
    async close() {
      await topics.cleanup().catch((error: unknown) => log(`cleanup: ${String(error)}`));
      // Whatever a failed phase left in Redis (phases that finish delete their own keys).
      await deletePrefix(redis, `fgbench:${runId}:`).catch((error: unknown) => log(`cleanup: ${String(error)}`));
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      redis.disconnect();
    },
  };
}
