// The services bench:stream needs: the harness's Redis and Kafka, started with test/services/up when
// they do not answer.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { readEndpoints, type Endpoints } from '../../test/services/harness.js';
import { pingRedis } from '../../test/services/redis.js';
import { root } from './common.js';
import { log } from './report.js';

export interface Services {
  redis: NonNullable<Endpoints['redis']>;
  brokers: string[];
}

async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({ clientId: 'featuregraph-bench-probe', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function servicesUp(): Promise<Services> {
  const current = readEndpoints();
  const ok = current.redis !== undefined && current.kafka !== undefined && (await pingRedis(current.redis.port)) && (await kafkaAnswers(current.kafka.brokers));
  if (!ok) {
    log('redis or kafka is not answering: running test/services/up redis kafka');
    const result = spawnSync(join(root, 'test', 'services', 'up'), ['redis', 'kafka'], { cwd: root, stdio: ['ignore', 2, 2] });
    if (result.status !== 0) throw new Error(`test/services/up redis kafka exited with ${result.status ?? result.signal}`);
  }
  const endpoints = readEndpoints();
  if (!endpoints.redis || !endpoints.kafka) throw new Error('the services harness wrote no redis or kafka endpoint');
  return { redis: endpoints.redis, brokers: endpoints.kafka.brokers };
}
