// The served log on a Kafka topic (default featuregraph.served-log), for gateways on several machines.
// Appends go through the Kafka StreamSource's produce, one record per message as JSON keyed
// `entity:key`: the topic is created when missing and a message over the topic's limit is refused as
// dead letters' are (message-size.ts) — here record by record, the others appended.
//
// Reads need no committed group: a consumer of a group of its own seeks each partition to the first
// offset stamped at or after `from` (a message's timestamp is when the gateway sent it, after the
// record's `at`, so nothing in the range sits before it), reads up to the end offsets taken at the
// start, de-duplicates by id (the first offset wins, as the first append does: one key, one
// partition) and keeps the range, sorted. A read holds its range in memory to sort it.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin, type SASLOptions } from 'kafkajs';
import { ConfigError, FeaturegraphError } from '../../schema/errors.js';
import type { ServedRecord } from '../../schema/served-log.js';
import { OptionCheck, shown } from '../common/options.js';
import { messageBytes, type OutboundMessage } from '../sources/message-size.js';
import type { StreamSource } from '../sources/types.js';
import { LazyClient } from '../sources/kafka/lazy-client.js';
import { ServedRecordsRefused } from './errors.js';
import { checkServedLogRange, inServedOrder, servedBatchSize } from './range.js';
import type { ServedLogRange, ServedLogStore } from './types.js';

export const defaultServedLogTopic = 'featuregraph.served-log';

export interface KafkaServedLogOptions {
  /** Appends go through its produce. */
  source: StreamSource;
  /** The cluster reads go to (a kafkajs client of the store's own): the source's. */
  brokers: string[];
  clientId?: string;
  ssl?: boolean;
  sasl?: SASLOptions;
  /** Default featuregraph.served-log. */
  topic?: string;
  /** How long a read may take to reach the end offsets it took before SOURCE_UNAVAILABLE (default 120 s). */
  readTimeoutMs?: number;
}

/** A topic partition to read: offsets [start, end). */
interface Span {
  start: number;
  end: number;
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A message's value as a served record, or null when it is not one (another producer's message). */
function recordOf(value: Buffer | null): ServedRecord | null {
  if (value === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return null;
  }
  const r = parsed as Partial<ServedRecord> | null;
  const isMap = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (typeof r !== 'object' || r === null || typeof r.id !== 'string' || typeof r.at !== 'number' || typeof r.entity !== 'string' || typeof r.key !== 'string') return null;
  if (!isMap(r.segments) || !isMap(r.features) || !isMap(r.inputs)) return null;
  return r as ServedRecord;
}

export class KafkaServedLogStore implements ServedLogStore {
  readonly name = 'kafka';
  readonly topic: string;
  private readonly source: StreamSource;
  private readonly kafka: Kafka;
  private readonly readTimeoutMs: number;
  private readonly admin: LazyClient<Admin>;

  constructor(options: KafkaServedLogOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError(`kafka served log: options must be an object with source and brokers, got ${shown(options)}`);
    const check = new OptionCheck();
    if (typeof options.source !== 'object' || options.source === null || typeof options.source.produce !== 'function') check.refuse(`kafka served log: source must be a stream source (KafkaStreamSource), got ${shown(options.source)}`);
    if (!Array.isArray(options.brokers) || options.brokers.length === 0) check.refuse(`kafka served log: brokers must list at least one host:port, got ${shown(options.brokers)}`);
    if (options.clientId !== undefined) check.nonEmptyString('kafka served log: clientId', options.clientId);
    check.boolean('kafka served log: ssl', options.ssl, false);
    this.topic = check.nonEmptyString('kafka served log: topic', options.topic, defaultServedLogTopic);
    this.readTimeoutMs = check.integerIn('kafka served log: readTimeoutMs', options.readTimeoutMs, 1, 3_600_000, 120_000);
    check.done();
    this.source = options.source;
    this.kafka = new Kafka({ clientId: options.clientId ?? 'featuregraph-served-log', brokers: options.brokers, ssl: options.ssl, sasl: options.sasl, logLevel: logLevel.ERROR });
    this.admin = new LazyClient(() => this.kafka.admin());
  }

  async append(records: readonly ServedRecord[]): Promise<void> {
    if (records.length === 0) return;
    const limit = await this.source.maxMessageBytes(this.topic);
    const fitting: OutboundMessage[] = [];
    const refused: { id: string; bytes: number }[] = [];
    for (const record of records) {
      const message = { key: `${record.entity}:${record.key}`, value: JSON.stringify(record) };
      const bytes = messageBytes(message);
      if (bytes <= limit) fitting.push(message);
      else refused.push({ id: record.id, bytes });
    }
    if (fitting.length > 0) await this.source.produce(this.topic, fitting);
    if (refused.length > 0) {
      const shownIds = refused.slice(0, 3).map((r) => `${r.id} (${r.bytes} bytes)`).join(', ');
      throw new ServedRecordsRefused(
        `kafka served log: ${refused.length} of ${records.length} records are larger than topic ${this.topic}'s limit of ${limit} bytes and were not appended (${shownIds}${refused.length > 3 ? ', ...' : ''}); the other ${fitting.length} were`,
        fitting.length,
        refused.length,
      );
    }
  }

  /** Per partition, the offsets that may hold records at or after `from`, up to the end now; empty when the topic does not exist. */
  private async spans(from: number): Promise<Map<number, Span>> {
    const admin = await this.admin.get();
    if (!(await admin.listTopics()).includes(this.topic)) return new Map();
    const [ends, starts] = await Promise.all([admin.fetchTopicOffsets(this.topic), admin.fetchTopicOffsetsByTimestamp(this.topic, from)]);
    const spans = new Map<number, Span>();
    for (const { partition, high } of ends) {
      const start = Number(starts.find((s) => s.partition === partition)?.offset ?? high);
      if (start < Number(high)) spans.set(partition, { start, end: Number(high) });
    }
    return spans;
  }

  async *read(range: ServedLogRange): AsyncIterable<ServedRecord[]> {
    checkServedLogRange(this.name, range);
    if (range.from >= range.to) return;
    const first = new Map<string, ServedRecord>();
    try {
      const spans = await this.spans(range.from);
      if (spans.size === 0) return;
      await this.consume(spans, (record) => {
        if (!first.has(record.id)) first.set(record.id, record);
      });
    } catch (error) {
      if (error instanceof FeaturegraphError) throw error;
      throw new FeaturegraphError('SOURCE_UNAVAILABLE', `kafka served log: reading topic ${this.topic} failed: ${describe(error)}`, { retriable: true, cause: error });
    }
    const found = [...first.values()].filter((r) => r.at >= range.from && r.at < range.to && (range.entity === undefined || r.entity === range.entity)).sort(inServedOrder);
    for (let i = 0; i < found.length; i += servedBatchSize) yield found.slice(i, i + servedBatchSize);
  }

  /** Reads every span through a consumer of a group of its own, which commits nothing. */
  private async consume(spans: Map<number, Span>, onRecord: (record: ServedRecord) => void): Promise<void> {
    const left = new Map(spans);
    const consumer = this.kafka.consumer({ groupId: `featuregraph-served-log-read-${randomUUID()}`, allowAutoTopicCreation: false });
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
      const done = new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, (event) => reject(new FeaturegraphError('SOURCE_UNAVAILABLE', `kafka served log: reading topic ${this.topic} failed: ${describe(event.payload.error)}`, { retriable: true })));
        timer = setTimeout(
          () => reject(new FeaturegraphError('SOURCE_UNAVAILABLE', `kafka served log: reading topic ${this.topic} did not reach its end offsets within ${this.readTimeoutMs} ms (partitions left: ${[...left.keys()].join(', ')})`, { retriable: true })),
          this.readTimeoutMs,
        );
        void consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const span = left.get(batch.partition);
              if (span === undefined) return;
              for (const message of batch.messages) {
                const offset = Number(message.offset);
                if (offset < span.start || offset >= span.end) continue;
                const record = recordOf(message.value);
                if (record !== null) onRecord(record);
              }
              if (Number(batch.lastOffset()) >= span.end - 1) {
                left.delete(batch.partition);
                if (left.size === 0) resolve();
              }
            },
          })
          .then(() => {
            // Seeks wait for the partitions' first fetch, which then starts at them.
            for (const [partition, span] of spans) consumer.seek({ topic: this.topic, partition, offset: String(span.start) });
          }, reject);
      });
      await done;
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
    }
  }

  /** Lets go of the read clients; the source is the caller's to close. */
  close(): Promise<void> {
    return this.admin.close();
  }
}
