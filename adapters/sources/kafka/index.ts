// The stream source on Kafka (kafkajs). kafkajs is in maintenance mode: it stays behind the
// StreamSource interface, so a KafkaJS-compatible client can replace it without touching materializers.
import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type Producer, type SASLOptions } from 'kafkajs';
import { FeaturegraphError } from '../../../schema/errors.js';
import type { StreamConsumer, StreamConsumerOptions, StreamSource } from '../types.js';
import { KafkaBatch, type KafkaRawMessage } from './batch.js';
import { CommitPipeline } from './pipeline.js';
import { KafkaStartup, type KafkaStartupEvent } from './startup.js';
import type { BackoffOptions } from '../../../schema/backoff.js';

export interface KafkaSourceOptions {
  brokers: string[];
  clientId?: string;
  ssl?: boolean;
  sasl?: SASLOptions;
  /** Messages handed to the materializer at once; offsets are committed after each chunk is applied. */
  chunkSize?: number;
  /**
   * Chunks of one partition handed over and not yet applied, at most (default 2): the next chunk is
   * fetched and decoded while the previous one is written.
   */
  chunksInFlight?: number;
  /** How often applied offsets are committed, at most (default 1 s). */
  commitIntervalMs?: number;
  /** Partitions of a topic processed at the same time by one consumer. */
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
  /** Partitions of topics this source creates (dead-letter topics). */
  defaultPartitions?: number;
  /** Told how the wait before consuming goes: brokers answering or not, topics existing or not (startup.ts). */
  onStartup?: (event: KafkaStartupEvent) => void;
  startupBackoff?: BackoffOptions;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  committed: number;
  high: number;
  lag: number;
}

export class KafkaStreamSource implements StreamSource {
  readonly name = 'kafka';
  private readonly kafka: Kafka;
  // One connect promise per client and one creation per topic: concurrent first calls (three
  // partitions handled at once) must share them, or they race a half-connected client.
  private producer: Promise<Producer> | null = null;
  private admin: Promise<Admin> | null = null;
  private readonly topics = new Map<string, Promise<void>>();
  private readonly consumers = new Set<Consumer>();
  private readonly startup: KafkaStartup;

  constructor(private readonly options: KafkaSourceOptions) {
    if (!Array.isArray(options.brokers) || options.brokers.length === 0) throw new FeaturegraphError('INVALID_CONFIG', 'kafka: brokers must list at least one host:port');
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'featuregraph',
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl,
      logLevel: logLevel.ERROR,
      retry: { initialRetryTime: 100, retries: 8 },
    });
    this.startup = new KafkaStartup(options, { onEvent: options.onStartup, backoff: options.startupBackoff });
  }

  private adminClient(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })();
    // A failed connect is not cached: the next call tries again.
    return this.admin.catch((error: unknown) => {
      this.admin = null;
      throw error;
    });
  }

  private producerClient(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
      await producer.connect();
      return producer;
    })();
    return this.producer.catch((error: unknown) => {
      this.producer = null;
      throw error;
    });
  }

  /** Creates a topic if it does not exist yet (dead-letter topics are ours to create), once. */
  ensureTopic(topic: string, partitions = this.options.defaultPartitions ?? 3): Promise<void> {
    let created = this.topics.get(topic);
    if (!created) {
      created = (async () => {
        const admin = await this.adminClient();
        const existing = await admin.listTopics();
        if (!existing.includes(topic)) await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true }).catch(() => undefined);
      })();
      this.topics.set(topic, created);
      created.catch(() => this.topics.delete(topic));
    }
    return created;
  }

  async produce(topic: string, messages: { key: string | null; value: string }[]): Promise<void> {
    if (messages.length === 0) return;
    await this.ensureTopic(topic);
    await (await this.producerClient()).send({ topic, messages });
  }

  async consume(options: StreamConsumerOptions): Promise<StreamConsumer> {
    // Waits for the brokers and the topics: subscribing to a missing topic fails at once otherwise.
    await this.startup.ready(options.topics);
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1000,
      allowAutoTopicCreation: false,
    });
    this.consumers.add(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning });
    const chunkSize = this.options.chunkSize ?? 10_000;
    const depth = this.options.chunksInFlight ?? 2;
    const pipeline = new CommitPipeline(consumer, this.kafka.logger(), this.options.commitIntervalMs ?? 1000);
    // A new generation fetches from the committed offsets again: forget rewinds of the old one.
    consumer.on(consumer.events.GROUP_JOIN, () => pipeline.rejoined());
    await consumer.run({
      // Fetching and committing are apart: the fetch position moves on as soon as a chunk is handed
      // over, so Kafka fetches the next while the store applies this one; offsets are committed by
      // CommitPipeline once everything up to them is applied. A replay after a crash is harmless
      // because the store skips offsets it has seen, so commits can be lazy.
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (let start = 0; start < batch.messages.length; start += chunkSize) {
          if (!isRunning() || isStale() || pipeline.stopping) return;
          const chunk = start === 0 && batch.messages.length <= chunkSize ? batch.messages : batch.messages.slice(start, start + chunkSize);
          const first = Number((chunk[0] as { offset: string }).offset);
          const last = Number((chunk[chunk.length - 1] as { offset: string }).offset);
          // After a failure the partition starts again at the failed chunk, after a pause that grows.
          await pipeline.beforeHandOver(batch.topic, batch.partition, first, heartbeat);
          // Again, with no wait between this and the hand-over: a chunk that failed meanwhile has sent
          // the partition back (a seek makes the batch stale).
          if (!isRunning() || isStale() || pipeline.stopping) return;
          pipeline.handOver(batch.topic, batch.partition, first, last, options.handle(new KafkaBatch(batch.topic, batch.partition, chunk as KafkaRawMessage[])));
          resolveOffset((chunk[chunk.length - 1] as { offset: string }).offset);
          await pipeline.bound(batch.topic, batch.partition, depth);
          await heartbeat();
        }
      },
    });
    return {
      stop: async () => {
        await pipeline.drain();
        await consumer.disconnect();
        this.consumers.delete(consumer);
      },
    };
  }

  /** How far a group is behind the end of its topics, per partition. */
  async lag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    const admin = await this.adminClient();
    const out: PartitionLag[] = [];
    const committed = await admin.fetchOffsets({ groupId, topics });
    for (const topic of topics) {
      const high = await admin.fetchTopicOffsets(topic);
      const group = committed.find((c) => c.topic === topic);
      for (const p of high) {
        const done = Number(group?.partitions.find((g) => g.partition === p.partition)?.offset ?? -1);
        const end = Number(p.high);
        const start = Number(p.low);
        const position = done < 0 ? start : done;
        out.push({ topic, partition: p.partition, committed: position, high: end, lag: Math.max(0, end - position) });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.startup.close();
    await Promise.all([...this.consumers].map((c) => c.disconnect().catch(() => undefined)));
    this.consumers.clear();
    const [producer, admin] = [this.producer, this.admin];
    this.producer = null;
    this.admin = null;
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }
}
