// The stream source on Kafka (kafkajs). kafkajs is in maintenance mode: it stays behind the
// StreamSource interface, so a KafkaJS-compatible client can replace it without touching materializers.
import { Kafka, logLevel, Partitioners, type Admin, type ConfigResourceTypes, type Consumer, type Producer, type SASLOptions } from 'kafkajs';
import { ConfigError, FeaturegraphError } from '../../../schema/errors.js';
import { OptionCheck, shown } from '../../common/options.js';
import type { StreamConsumer, StreamConsumerOptions, StreamSource } from '../types.js';
import { KafkaBatch, type KafkaRawMessage } from './batch.js';
import { CommitPipeline } from './pipeline.js';
import { PartitionIncarnations } from './incarnations.js';
import { TopicIds } from './topic-ids.js';
import { CaughtUpProbe, type PlacedOffset } from './caught-up.js';
import { KafkaStartup, type KafkaStartupEvent } from './startup.js';
import { validBackoff, type BackoffOptions } from '../../../schema/backoff.js';
import { messageBytes, refuseOversized } from '../message-size.js';
import { LazyClient } from './lazy-client.js';

/**
 * A record batch's bytes besides its records (Kafka's RECORD_BATCH_OVERHEAD, 61), and the most a
 * record adds to its key and value (length, attributes, timestamp and offset deltas, key and value
 * lengths, header count, as varints: 32 at most). A topic's max.message.bytes bounds a whole batch.
 */
const batchOverhead = 61;
const recordOverhead = 32;
/** The broker's default message.max.bytes, which a topic's max.message.bytes defaults to. */
const defaultTopicLimit = 1_048_588;
/** ConfigResourceTypes.TOPIC: kafkajs's enum is no named export an ES module can import. */
const topicResource = 2 as ConfigResourceTypes;

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
  /**
   * How often the ids of consumed topics are asked for partitions that may get no batch (default 2 s):
   * a topic created again is found then even where the consumer's old position is its end.
   */
  incarnationSweepMs?: number;
  /**
   * How often the end offsets of consumed topics are asked for, to tell which owned partitions are
   * caught up (default 1 s; onCaughtUp): an idle partition gets no batch to tell it by.
   */
  caughtUpIntervalMs?: number;
  /**
   * The max.message.bytes of topics this source produces to (dead-letter topics). Default: each
   * topic's own, read with DescribeConfigs (the broker's message.max.bytes, 1,048,588, unless set).
   */
  maxMessageBytes?: number;
  /** Told how the wait before consuming goes: brokers answering or not, topics existing or not (startup.ts). */
  onStartup?: (event: KafkaStartupEvent) => void;
  startupBackoff?: BackoffOptions;
}

const saslMechanisms = ['plain', 'scram-sha-256', 'scram-sha-512', 'aws', 'oauthbearer'] as const;

/** The tuning of a source, its defaults filled in. */
type Tuning = Required<Pick<KafkaSourceOptions, 'chunkSize' | 'chunksInFlight' | 'commitIntervalMs' | 'partitionsConsumedConcurrently' | 'sessionTimeoutMs' | 'defaultPartitions' | 'incarnationSweepMs' | 'caughtUpIntervalMs'>>;

/** Checks every option where it enters; returns the tuning with its defaults. */
function checkedOptions(options: KafkaSourceOptions): Tuning {
  const check = new OptionCheck();
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) check.refuse(`kafka: brokers must list at least one host:port, got ${shown(options.brokers)}`);
  else options.brokers.forEach((broker: unknown, i) => {
    if (typeof broker !== 'string' || !/^[^:\s]+:\d+$/.test(broker)) check.refuse(`kafka: brokers[${i}] must be host:port, got ${shown(broker)}`);
  });
  if (options.clientId !== undefined) check.nonEmptyString('kafka: clientId', options.clientId);
  check.boolean('kafka: ssl', options.ssl, false);
  if (options.sasl !== undefined) {
    // Its secrets are never shown: only the mechanism is.
    const mechanism = typeof options.sasl === 'object' && options.sasl !== null ? (options.sasl as { mechanism?: unknown }).mechanism : undefined;
    if (mechanism === undefined) check.refuse(`kafka: sasl must be an object with a mechanism (${saslMechanisms.join(', ')})`);
    else check.oneOf('kafka: sasl.mechanism', mechanism, saslMechanisms, 'plain');
  }
  const tuning: Tuning = {
    chunkSize: check.integerIn('kafka: chunkSize', options.chunkSize, 1, 1_000_000, 10_000),
    chunksInFlight: check.integerIn('kafka: chunksInFlight', options.chunksInFlight, 0, 1000, 2),
    commitIntervalMs: check.integerIn('kafka: commitIntervalMs', options.commitIntervalMs, 0, 600_000, 1000),
    partitionsConsumedConcurrently: check.integerIn('kafka: partitionsConsumedConcurrently', options.partitionsConsumedConcurrently, 1, 1000, 3),
    sessionTimeoutMs: check.integerIn('kafka: sessionTimeoutMs', options.sessionTimeoutMs, 1, 3_600_000, 10_000),
    defaultPartitions: check.integerIn('kafka: defaultPartitions', options.defaultPartitions, 1, 100_000, 3),
    incarnationSweepMs: check.integerIn('kafka: incarnationSweepMs', options.incarnationSweepMs, 1, 600_000, 2000),
    caughtUpIntervalMs: check.integerIn('kafka: caughtUpIntervalMs', options.caughtUpIntervalMs, 1, 600_000, 1000),
  };
  if (options.maxMessageBytes !== undefined && (!Number.isInteger(options.maxMessageBytes) || options.maxMessageBytes <= batchOverhead + recordOverhead)) {
    check.refuse(`kafka: maxMessageBytes must be an integer above ${batchOverhead + recordOverhead} (a topic's max.message.bytes), got ${shown(options.maxMessageBytes)}`);
  }
  check.callback('kafka: onStartup', options.onStartup, () => undefined);
  check.take(() => validBackoff('kafka start-up', options.startupBackoff), undefined);
  check.done();
  return tuning;
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
  // One connected client of each kind and one creation per topic: concurrent first calls (three
  // partitions handled at once) must share them, or they race a half-connected client.
  private readonly producer: LazyClient<Producer>;
  private readonly admin: LazyClient<Admin>;
  private readonly topics = new Map<string, Promise<void>>();
  private readonly limits = new Map<string, Promise<number>>();
  /** Consumers not stopped yet, each with how close() stops it: as its stop() does, once it runs. */
  private readonly consumers = new Map<Consumer, () => Promise<void>>();
  private readonly topicIds: TopicIds;
  private readonly startup: KafkaStartup;
  private readonly tuning: Tuning;

  constructor(private readonly options: KafkaSourceOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('kafka: options must be an object with brokers');
    this.tuning = checkedOptions(options);
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'featuregraph',
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl,
      logLevel: logLevel.ERROR,
      // kafkajs's own retry of one request (a leader moving, a connection reset), inside the client; a
      // failed batch and the wait for brokers at start go by schema/backoff.ts (redelivery.ts, startup.ts).
      retry: { initialRetryTime: 100, retries: 8 },
    });
    // Few retries of its own: a topic that refuses writes is retried by the caller, with a bound
    // (dead letters: materializers/stream/dead-letters.ts), not for half a minute per send here.
    this.producer = new LazyClient(() => this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, retry: { initialRetryTime: 100, retries: 3 } }));
    this.admin = new LazyClient(() => this.kafka.admin());
    this.topicIds = new TopicIds(this.kafka);
    this.startup = new KafkaStartup(options, { onEvent: options.onStartup, backoff: options.startupBackoff });
  }

  /** Creates a topic if it does not exist yet (dead-letter topics are ours to create), once. */
  ensureTopic(topic: string, partitions = this.tuning.defaultPartitions): Promise<void> {
    let created = this.topics.get(topic);
    if (!created) {
      created = (async () => {
        const admin = await this.admin.get();
        const existing = await admin.listTopics();
        if (!existing.includes(topic)) await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true }).catch(() => undefined);
      })();
      this.topics.set(topic, created);
      created.catch(() => this.topics.delete(topic));
    }
    return created;
  }

  /** The topic's max.message.bytes (a record batch's limit), configured or read once. */
  private topicLimit(topic: string): Promise<number> {
    if (this.options.maxMessageBytes !== undefined) return Promise.resolve(this.options.maxMessageBytes);
    let limit = this.limits.get(topic);
    if (!limit) {
      limit = (async () => {
        await this.ensureTopic(topic);
        const admin = await this.admin.get();
        const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: topicResource, name: topic, configNames: ['max.message.bytes'] }] });
        const value = Number(described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue ?? defaultTopicLimit);
        if (!Number.isInteger(value) || value <= 0) throw new FeaturegraphError('SOURCE_UNAVAILABLE', `kafka: topic ${topic} reports max.message.bytes ${String(value)}`);
        return value;
      })();
      this.limits.set(topic, limit);
      limit.catch(() => this.limits.delete(topic));
    }
    return limit;
  }

  async maxMessageBytes(topic: string): Promise<number> {
    return (await this.topicLimit(topic)) - batchOverhead - recordOverhead;
  }

  async produce(topic: string, messages: { key: string | null; value: string }[]): Promise<void> {
    if (messages.length === 0) return;
    await this.ensureTopic(topic);
    const limit = await this.topicLimit(topic);
    // The broker would take a message a little over maxMessageBytes (a record's overhead is often
    // below its bound), and would take the messages before one it refuses: both are refused here.
    refuseOversized(this.name, topic, messages, limit - batchOverhead - recordOverhead);
    const room = limit - batchOverhead;
    const producer = await this.producer.get();
    // kafkajs sends a request's messages to one partition as one record batch, which the broker refuses
    // whole past the topic's limit: requests are cut so that not even all of one could pass it.
    let start = 0;
    let used = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as { key: string | null; value: string };
      const size = messageBytes(m) + recordOverhead;
      if (i > start && used + size > room) {
        await producer.send({ topic, messages: messages.slice(start, i) });
        start = i;
        used = 0;
      }
      used += size;
    }
    await producer.send({ topic, messages: start === 0 ? messages : messages.slice(start) });
  }

  /** Where a partition of a topic starts now (its log start offset). */
  private async firstOffset(topic: string, partition: number): Promise<number> {
    const offsets = await (await this.admin.get()).fetchTopicOffsets(topic);
    const found = offsets.find((o) => o.partition === partition);
    if (!found) throw new FeaturegraphError('SOURCE_UNAVAILABLE', `kafka: topic ${topic} has no partition ${partition}`);
    return Number(found.low);
  }

  async consume(options: StreamConsumerOptions): Promise<StreamConsumer> {
    // Waits for the brokers and the topics: subscribing to a missing topic fails at once otherwise.
    await this.startup.ready(options.topics);
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: this.tuning.sessionTimeoutMs,
      heartbeatInterval: 1000,
      allowAutoTopicCreation: false,
    });
    this.consumers.set(consumer, () => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning });
    const chunkSize = this.tuning.chunkSize;
    const depth = this.tuning.chunksInFlight;
    let halted: Promise<void> | null = null;
    const pipeline = new CommitPipeline(consumer, this.kafka.logger(), this.tuning.commitIntervalMs, {
      onHalt: (error) => {
        // Stopped for good: leave the group (committing what was applied before the failure), then tell.
        halted ??= (async () => {
          incarnations.stop();
          caughtUp.stop();
          await pipeline.drain().catch(() => undefined);
          await consumer.disconnect().catch(() => undefined);
          this.consumers.delete(consumer);
          options.onHalt?.(error);
        })();
      },
      onError: options.onError,
    });
    // Which incarnation of its topic each batch comes from (incarnations.ts).
    const incarnations = new PartitionIncarnations(
      options.topics,
      {
        topicId: (topic) => this.topicIds.current(topic),
        committedIncarnations: async (topic) => {
          const [entry] = await (await this.admin.get()).fetchOffsets({ groupId: options.groupId, topics: [topic] });
          return new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset) >= 0 && p.metadata ? p.metadata : null]));
        },
        firstOffset: (topic, partition) => this.firstOffset(topic, partition),
        seek: (topic, partition, offset) => consumer.seek({ topic, partition, offset }),
        reset: (topic, partition, incarnation) => pipeline.reset(topic, partition, incarnation),
        stopping: () => pipeline.stopping,
        onReset: options.onReset,
        onSweepError: (error) => this.kafka.logger().warn('checking topic ids for resets failed; trying again later', { error: error instanceof Error ? error.message : String(error) }),
      },
      this.tuning.incarnationSweepMs,
    );
    // Which owned partitions are caught up, told to onCaughtUp (caught-up.ts).
    const caughtUp = new CaughtUpProbe(
      {
        now: Date.now,
        topicId: (topic) => this.topicIds.current(topic),
        ends: async (topic) => (await (await this.admin.get()).fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) })),
        committed: async (topic) => {
          const [entry] = await (await this.admin.get()).fetchOffsets({ groupId: options.groupId, topics: [topic] });
          return new Map<number, PlacedOffset>((entry?.partitions ?? []).map((p) => [p.partition, { offset: Number(p.offset), incarnation: p.metadata || null }]));
        },
        applied: (topic, partition) => pipeline.applied(topic, partition),
        stopping: () => pipeline.stopping,
        fromBeginning: options.fromBeginning,
        onCaughtUp: (topic, partition, at) => options.onCaughtUp?.({ topic, partition, at }),
        onProbeError: (error) => this.kafka.logger().warn('asking end offsets to tell caught-up partitions failed; trying again later', { error: error instanceof Error ? error.message : String(error) }),
      },
      this.tuning.caughtUpIntervalMs,
    );
    // A new generation fetches from the committed offsets again: forget rewinds of the old one.
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      pipeline.rejoined();
      incarnations.joined(event.payload.memberAssignment);
      caughtUp.assigned(event.payload.memberAssignment);
    });
    // Partitions may move to another member: none is told of until the next join.
    consumer.on(consumer.events.REBALANCING, () => caughtUp.assigned({}));
    await Promise.all([incarnations.start(), this.admin.get().catch(() => undefined)]);
    if (options.onCaughtUp) caughtUp.start();
    await consumer.run({
      // Fetching and committing are apart: the fetch position moves on as soon as a chunk is handed
      // over, so Kafka fetches the next while the store applies this one; offsets are committed by
      // CommitPipeline once everything up to them is applied. A replay after a crash is harmless
      // because the store skips offsets it has seen, so commits can be lazy.
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.tuning.partitionsConsumedConcurrently,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || pipeline.stopping || batch.messages.length === 0) return;
        const { topic, partition } = batch;
        // Only a batch fetched between two answers naming the same incarnation is handed over.
        const incarnation = await incarnations.verdict(topic, partition, (batch.messages[0] as { offset: string }).offset, isStale);
        if (incarnation === null || !isRunning()) return;
        for (let start = 0; start < batch.messages.length; start += chunkSize) {
          if (!isRunning() || isStale() || pipeline.stopping) return;
          const chunk = start === 0 && batch.messages.length <= chunkSize ? batch.messages : batch.messages.slice(start, start + chunkSize);
          const first = Number((chunk[0] as { offset: string }).offset);
          const last = Number((chunk[chunk.length - 1] as { offset: string }).offset);
          // After a failure the partition starts again at the failed chunk, after a pause that grows.
          await pipeline.beforeHandOver(topic, partition, first, heartbeat);
          // Again, with no wait between this and the hand-over: a chunk that failed meanwhile has sent
          // the partition back (a seek makes the batch stale), or a sweep found it reset.
          if (!isRunning() || isStale() || pipeline.stopping || !incarnations.current(topic, partition, incarnation)) return;
          pipeline.handOver(topic, partition, first, last, options.handle(new KafkaBatch(topic, partition, chunk as KafkaRawMessage[], incarnation, Number(batch.highWatermark))), incarnation);
          resolveOffset((chunk[chunk.length - 1] as { offset: string }).offset);
          await pipeline.bound(topic, partition, depth);
          await heartbeat();
        }
      },
    });
    const stop = async () => {
      incarnations.stop();
      caughtUp.stop();
      if (halted) return halted;
      await pipeline.drain();
      await consumer.disconnect();
      this.consumers.delete(consumer);
    };
    this.consumers.set(consumer, stop);
    return { stop };
  }

  /** How far a group is behind the end of its topics, per partition. */
  async lag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    const admin = await this.admin.get();
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
    await Promise.all([...this.consumers.values()].map((stop) => stop().catch(() => undefined)));
    this.consumers.clear();
    await this.producer.close();
    await this.admin.close();
    await this.topicIds.close();
  }
}
