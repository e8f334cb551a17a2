// The run's Kafka topics and consumer groups: each phase gets fresh ones, and all are deleted at the end.
import type { Admin } from 'kafkajs';
import { log } from './report.js';

/** Partitions of every topic the bench creates. */
export const partitions = 3;

export class Topics {
  private readonly created: string[] = [];
  private readonly groups: string[] = [];
  constructor(
    private readonly admin: Admin,
    private readonly runId: string,
  ) {}

  async create(topic: string): Promise<void> {
    const ok = await this.admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
    if (!ok) throw new Error(`topic ${topic} already exists: topics of this benchmark are meant to be fresh`);
    this.created.push(topic);
  }

  group(name: string): string {
    const id = `bench-stream-${this.runId}-${name}`;
    this.groups.push(id);
    return id;
  }

  async highWatermarks(topic: string): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  }

  /** Deletes the topics, their dead-letter topics if any, and the consumer groups of this run. */
  async cleanup(): Promise<void> {
    const existing = new Set(await this.admin.listTopics().catch(() => [] as string[]));
    const doomed = this.created.flatMap((t) => [t, `${t}.dead-letter`]).filter((t) => existing.has(t));
    if (doomed.length > 0) await this.admin.deleteTopics({ topics: doomed, timeout: 10_000 }).catch((error: unknown) => log(`could not delete topics ${doomed.join(', ')}: ${String(error)}`));
    if (this.groups.length > 0) await this.admin.deleteGroups(this.groups).catch(() => undefined);
  }
}
