// Source interfaces. A stream source delivers ordered batches per partition with offsets; a row source
// (warehouse table, document collection) delivers rows changed since a watermark. Kafka, Snowflake,
// MongoDB and the embedded implementations all sit behind these.
import type { FeaturegraphError } from '../../schema/errors.js';

export interface StreamMessage {
  partition: number;
  offset: number;
  /** The message key, if the producer set one. */
  key: string | null;
  /** The raw payload; the materializer decodes and validates it. */
  value: Buffer | string | null;
  /** Broker timestamp, epoch ms. */
  timestampMs: number;
  /** The producer's trace context, when its headers carry one (nothing else of the headers is kept). */
  headers?: TraceHeaders | null;
}

/**
 * The W3C trace context headers of a message (https://www.w3.org/TR/trace-context/), as text: what a
 * materializer's batch span links to. Sources keep only these two, each at most traceHeaderMaxChars long.
 */
export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

/** Longer headers are not a trace context a source passes on (the W3C's bound for tracestate is 512). */
export const traceHeaderMaxChars = 512;

/**
 * A batch's messages as offsets and payloads, read by index: what the stream materializer reads. A
 * source whose client already holds the payloads' bytes hands them over this way, with no object
 * per message.
 */
export interface StreamPayload {
  readonly count: number;
  offsetAt(i: number): number;
  /** Message i's payload as text (null for a tombstone). */
  textAt(i: number): string | null;
  /** Where message i's payload bytes are, for the materializer's byte scanner (false: no bytes, read textAt). */
  bytesAt?(i: number, out: PayloadBytes): boolean;
  /** Message i's trace context headers (null: none). Read only when tracing is on. */
  headersAt?(i: number): TraceHeaders | null;
}

export interface PayloadBytes {
  buffer: Buffer;
  start: number;
  end: number;
}

export interface StreamBatch {
  topic: string;
  partition: number;
  /**
   * Which incarnation of the partition the messages come from, when the source knows (Kafka: the
   * topic's id). A topic deleted and created again, or a broker whose storage was formatted again,
   * starts its offsets at 0 again under a new incarnation: offsets are comparable only within one.
   */
  incarnation?: string;
  messages: StreamMessage[];
  /** The same messages as a payload, when the source can give them without making `messages`. */
  payload?: StreamPayload;
  /** The partition's end (the offset its next message will get) when the batch was fetched, if the source knows: lag = it - (last offset + 1). */
  highWatermark?: number;
}

export interface StreamConsumerOptions {
  groupId: string;
  topics: string[];
  /**
   * Where a group with no committed offset starts: at each partition's first offset, or at its end
   * when the consumer finds it (what is produced after that is all delivered).
   */
  fromBeginning: boolean;
  /**
   * Called once per batch, batches of one partition in order; offsets are committed after it resolves.
   * A source may hand over a partition's next batch before the previous one resolved (Kafka does, to
   * fetch while the store writes): the handler keeps their effects in order.
   */
  handle(batch: StreamBatch): Promise<void>;
  /**
   * Told when a batch's handler failed with a retriable error (isRetriable, schema/errors.ts; an error of
   * no known kind counts as one): the source delivers the batch again after a backoff (redelivery.ts).
   */
  onError?(error: unknown): void;
  /**
   * Told when the handler rejected a batch with an error no retry mends (a FeaturegraphError that is not
   * retriable, such as a StreamHaltError): the source has stopped consuming, applies and commits nothing
   * from that batch on, and will not retry it.
   */
  onHalt?(error: FeaturegraphError): void;
  /** Told when a partition's offsets started again under a new incarnation (before any of its batches), and where reading goes on. */
  onReset?(reset: PartitionReset): void;
  /**
   * Told, now and then for each partition the consumer owns, that it is caught up: every message of
   * the partition written before `at` (epoch ms, the source's clock) was handed over and its handler
   * resolved (for a group that started at the end, every one from there). A partition with nothing new
   * is told too (Kafka hands an idle partition no batch), which is how a reader tells a quiet partition
   * from a dead consumer. Never told for a partition holding a message written before `at` whose
   * handler has not resolved (failed, in progress, or not handed over).
   */
  onCaughtUp?(caughtUp: PartitionCaughtUp): void;
}

/** A partition found caught up (StreamConsumerOptions.onCaughtUp). */
export interface PartitionCaughtUp {
  topic: string;
  partition: number;
  /** Every message of the partition written before this instant (epoch ms) was applied. */
  at: number;
}

/** A partition found under a new incarnation (see StreamBatch.incarnation). */
export interface PartitionReset {
  topic: string;
  partition: number;
  /** The incarnation the consumer was reading or had committed offsets of, and its position there (null: not known). */
  from: { incarnation: string | null; offset: number | null };
  /** The new incarnation, and the offset reading starts again at (its first). */
  to: { incarnation: string; offset: number };
}

export interface StreamConsumer {
  /**
   * Stops fetching and hands no batch over once called; waits for the batches in progress, commits
   * them, disconnects. After a halt (onHalt) it resolves once the consumer has left.
   */
  stop(): Promise<void>;
}

export interface StreamSource {
  readonly name: string;
  consume(options: StreamConsumerOptions): Promise<StreamConsumer>;
  /**
   * Sends dead letters (or any message) to a topic, created if missing, in as many requests as its
   * message size limit needs. A message over maxMessageBytes refuses the whole send before anything of
   * it is produced, with a FeaturegraphError LIMIT_EXCEEDED (message-size.ts).
   */
  produce(topic: string, messages: { key: string | null; value: string }[]): Promise<void>;
  /** The most bytes of key plus value (UTF-8) that one message to the topic may carry. */
  maxMessageBytes(topic: string): Promise<number>;
  /** Stops every consumer still running, as its stop() does, then lets go of the source's connections. */
  close(): Promise<void>;
}

/** One row of a warehouse table or one document, as a view reads it. */
export interface SourceRow {
  key: string;
  /** Epoch ms of the fact (event-time column, or the document's updated-at). */
  eventTime: number;
  values: Record<string, unknown>;
  /** The document was deleted: its features become MISSING. */
  deleted?: boolean;
}

export interface RowReadOptions {
  /** Only rows with eventTime > since (null: from the beginning). */
  since: number | null;
  /** Only rows with eventTime <= until. */
  until: number;
  /** Columns the view reads besides key and event time. */
  columns: string[];
}

export interface RowSource {
  readonly name: string;
  /** Rows in batches, ordered by eventTime; never the whole result in memory at once. */
  read(options: RowReadOptions): AsyncIterable<SourceRow[]>;
  /**
   * Optional: every entity key the source holds now, in batches. Polling sources that cannot see
   * deletions use it to find keys that disappeared (their features become MISSING).
   */
  listKeys?(): AsyncIterable<string[]>;
  /**
   * Optional: a change feed (MongoDB change streams). Calls `handle` with changes in order; `resumeAfter`
   * is the token of the last change handled, so a restart misses nothing. Resolves when stopped.
   */
  watch?(options: WatchOptions): Promise<RowWatch>;
  close(): Promise<void>;
}

export interface WatchOptions {
  columns: string[];
  resumeAfter: string | null;
  /** Called per batch of changes; `token` is where to resume after them (persist it once handled). */
  handle(rows: SourceRow[], token: string): Promise<void>;
  /**
   * Told when the feed had no change left (a wait for more came back empty): every change made before
   * `at` (epoch ms) was handed over and handled. Told at each such wait while the feed stays idle.
   */
  onCaughtUp?(at: number): void;
}

export interface RowWatch {
  stop(): Promise<void>;
}

/** Durable small state of materializers: watermarks, resume tokens, backfill progress. */
export interface CheckpointStore {
  get(name: string): Promise<string | null>;
  set(name: string, value: string): Promise<void>;
}
