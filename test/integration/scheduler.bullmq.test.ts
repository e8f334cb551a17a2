// The scheduler conformance suite against BullMQ on the real Redis: each test gets queues and leases
// of its own (a fresh queue name), removed afterwards. Real time passes here; deadlines only guard
// against a hang.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { requireEndpoint } from '../services/endpoints.js';
import { BullmqScheduler } from '../../materializers/batch/bullmq-scheduler.js';
import { waitUntil } from '../fixtures/wait.js';
import { schedulerConformance } from '../conformance/scheduler.js';

schedulerConformance('BullMQ on Redis', async () => {
  const { url } = requireEndpoint('redis');
  const queueName = `fg-test-conformance-${randomUUID().slice(0, 8)}`;
  return {
    create: (options) => new BullmqScheduler({ ...options, redisUrl: url, queueName, leaseMs: 5000 }),
    now: Date.now,
    until: (check, describe) => waitUntil(check, 120_000, describe, 20),
    intervalMs: 1000,
    teardown: async () => {
      const redis = new Redis(url);
      const keys = [...(await redis.keys(`bull:${queueName}-*`)), ...(await redis.keys(`fg:lease:${queueName}:*`))];
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
});
