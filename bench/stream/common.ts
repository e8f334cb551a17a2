// What the stream bench's modules and its workers (bench/stream/worker.ts) share: the worker configuration,
// the messages they exchange over the IPC channel, the benchmark's events, and a few statistics.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const repoDir = join(root, 'bench', 'stream', 'repo');
export const topicEnv = 'FEATUREGRAPH_BENCH_STREAM_TOPIC';
export const workerEnv = 'FEATUREGRAPH_BENCH_STREAM_WORKER';
/** The entity the freshness prober watches; no load event uses it. */
export const probeKey = 'probe';

/** Consumer settings both consumers use (they are KafkaStreamSource's defaults, spelled out). */
export interface ConsumerTuning {
  /** Messages handed to the materializer at once (KafkaStreamSource chunkSize). */
  chunkSize: number;
  /** Chunks of a partition handed over and not yet applied (KafkaStreamSource chunksInFlight; the materializer only). */
  chunksInFlight: number;
  partitionsConsumedConcurrently: number;
  sessionTimeoutMs: number;
}

// The same defaults as KafkaStreamSource, so the bench measures what `featuregraph materialize` runs.
export const defaultTuning: ConsumerTuning = { chunkSize: 10_000, chunksInFlight: 2, partitionsConsumedConcurrently: 3, sessionTimeoutMs: 10_000 };

export type WorkerConfig =
  | {
      mode: 'bare';
      brokers: string[];
      topic: string;
      groupId: string;
      /** Events to count before reporting "done"; null: a freshness run, which reports on "stop". */
      expected: number | null;
      tuning: ConsumerTuning;
      profileFile: string | null;
    }
  | {
      mode: 'materialize';
      brokers: string[];
      topic: string;
      groupId: string;
      expected: number | null;
      tuning: ConsumerTuning;
      redisUrl: string;
      keyPrefix: string;
      /** RedisOnlineStore writeTimeoutMs; null: the store's default, as `featuregraph materialize` runs it. */
      writeTimeoutMs: number | null;
      /** Where to write a CPU profile of the measured part (start to last event), if anywhere. */
      profileFile: string | null;
    }
  | { mode: 'gateway'; topic: string; redisUrl: string; keyPrefix: string };

export interface GcCounts {
  scavenges: number;
  scavengeMs: number;
  markCompacts: number;
  markCompactMs: number;
}

/** Where the time of one consuming run went, measured inside the worker. */
export interface ConsumeReport {
  events: number;
  /**
   * Start (just before the consumer connects) until the last expected event was counted (bare) or
   * applied (materializer): connecting, joining the group, every fetch and every batch.
   */
  startToLastMs: number;
  /** Start until the first batch was handed over (connect, join, first fetch). */
  firstBatchMs: number;
  /** Bare consumer only: start until kafkajs reported the group joined. */
  joinMs?: number;
  /** CPU time of the worker process over startToLast (user + system), ms. */
  cpuMs: number;
  /** Event-loop utilization over startToLast, 0..1. */
  elu: number;
  /** Garbage collections over startToLast: young-generation (scavenges) and full (mark-compact), with their pause time. */
  gc: GcCounts;
  batches: number;
  /** Materializer only: its own counters at the end. */
  stats?: { events: number; writes: number; duplicates: number; deadLetters: number; groupedBatches: number };
  /** Materializer only: how long handle() took per batch (ms). */
  handleMs?: Summary;
  /** Materializer only: batches whose handle() threw (kafkajs fetches them again). */
  failedBatches?: number;
}

/** Per probe event, as the consumer saw it: epoch ms with sub-millisecond precision. */
export interface ProbeTimes {
  seq: number;
  sentAt: number;
  /** The batch holding it was handed to the materializer (or to the bare consumer's eachBatch). */
  receivedAt: number;
  /** That batch's writes were applied in Redis (bare consumer: receivedAt). */
  appliedAt: number;
}

export type WorkerMessage =
  | { type: 'ready'; url?: string }
  | { type: 'progress'; events: number }
  | { type: 'done'; report: ConsumeReport }
  /** appliedLagMs: per event, producer timestamp (kafkajs CreateTime, ms) until applied (bare: received). */
  | { type: 'freshness'; report: ConsumeReport; probes: ProbeTimes[]; appliedLagMs: Summary }
  | { type: 'error'; message: string };

export type ParentMessage = { type: 'stop' };

/** Epoch milliseconds with sub-millisecond precision, comparable between processes of one machine. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { count: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const sorted = Float64Array.from(values).sort();
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
  let total = 0;
  for (const v of sorted) total += v;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] as number, mean: total / sorted.length };
}

export const round = (value: number, digits = 2): number => (Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : value);

/** The restaurant ids load events spread over. */
export function entityId(index: number): string {
  return `r${String(index).padStart(4, '0')}`;
}

let orderSeq = 0;

/** One order event as the producer sends it: a random restaurant, an event time within the last `spreadMs`. */
export function orderEvent(restaurantId: string, now: number, spreadMs: number, sentAt: number): { key: string; value: string } {
  const createdAt = new Date(now - Math.floor(Math.random() * spreadMs)).toISOString();
  const totalPrice = Math.round((5 + Math.random() * 60) * 100) / 100;
  return { key: restaurantId, value: JSON.stringify({ orderId: `o${++orderSeq}`, restaurantId, createdAt, totalPrice, sentAt }) };
}
