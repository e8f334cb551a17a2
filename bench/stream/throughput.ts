// The throughput phase: one backlog on a fresh topic, drained `--rounds` times by the bare kafkajs
// consumer (the baseline) and then by the materializer, each timed inside its worker the same way.
import { entityId, round, type ConsumeReport } from './common.js';
import type { Context } from './context.js';
import { produceBacklog } from './load.js';
import { deletePrefix, storedTotals } from './redis-keys.js';
import { brief, emit, log, perSecond } from './report.js';
import { partitions } from './topics.js';
import { cpuShare, kafkaPid, redisDelta, redisSnapshot } from './usage.js';
import { processCpuMs } from '../common/process-cpu.js';
import { profileFile, Worker } from './workers.js';

/** What the rounds share: the topic, and what was produced to it. */
interface Backlog {
  topic: string;
  revenue: number;
  /** Every restaurant the events are keyed over. */
  entities: string[];
  timeoutMs: number;
}

export async function throughput(ctx: Context): Promise<void> {
  const { options } = ctx;
  const topic = `bench.stream.${ctx.runId}.throughput`;
  await ctx.topics.create(topic);
  log(`throughput: producing ${options.events} events over ${options.entities} restaurants to ${topic} (${partitions} partitions)`);
  const produced = await produceBacklog(ctx.producer, topic, options.events, options.entities);
  const onTopic = await ctx.topics.highWatermarks(topic);
  if (onTopic !== options.events) throw new Error(`topic ${topic} holds ${onTopic} events, expected ${options.events}`);
  log(`throughput: produced in ${Math.round(produced.ms)} ms (${Math.round(perSecond(options.events, produced.ms))}/s)`);
  const backlog: Backlog = {
    topic,
    revenue: produced.revenue,
    entities: Array.from({ length: options.entities }, (_, i) => entityId(i)),
    timeoutMs: Math.max(120_000, options.events), // 1 ms per event at worst, 2 minutes at least
  };
  for (let r = 1; r <= options.rounds; r++) {
    const profiled = options.profile && r === options.rounds;
    const bare = await bareRound(ctx, backlog, r, profiled);
    await materializerRound(ctx, backlog, r, profiled, bare);
  }
}

/** The baseline: a bare consumer with the same group settings, on a fresh group. */
async function bareRound(ctx: Context, backlog: Backlog, r: number, profiled: boolean): Promise<ConsumeReport> {
  const { options } = ctx;
  const profile = profiled ? profileFile('bare-throughput', ctx.runId) : null;
  const bare = new Worker(`bare#${r}`, { mode: 'bare', brokers: ctx.brokers, topic: backlog.topic, groupId: ctx.topics.group(`bare-${r}`), expected: options.events, tuning: options.tuning, profileFile: profile });
  const kafkaBefore = processCpuMs(kafkaPid());
  const done = (await bare.next('done', backlog.timeoutMs)).report;
  const kafkaAfter = processCpuMs(kafkaPid());
  await bare.stop();
  if (profile) ctx.profiles.push({ label: `bare consumer (throughput round ${r})`, file: profile });
  const rps = perSecond(done.events, done.startToLastMs);
  emit('bare-consumer', { rps: round(rps, 0), p50_ms: null, p99_ms: null, ratio: 1 }, {
    round: r,
    events: done.events,
    events_per_s: round(rps, 0),
    start_to_last_ms: round(done.startToLastMs, 1),
    join_ms: done.joinMs === undefined ? null : round(done.joinMs, 0),
    first_batch_ms: round(done.firstBatchMs, 0),
    // The same events over the time after the group was joined (connect and join left out).
    joined_to_last_events_per_s: done.joinMs === undefined ? null : round(perSecond(done.events, done.startToLastMs - done.joinMs), 0),
    batches: done.batches,
    worker_cpu: round(done.cpuMs / Math.max(1, done.startToLastMs), 3),
    worker_elu: round(done.elu, 3),
    worker_gc: done.gc,
    kafka_cpu: cpuShare(kafkaBefore, kafkaAfter, done.startToLastMs),
    partitions_consumed_concurrently: options.tuning.partitionsConsumedConcurrently,
  });
  return done;
}

/** featuregraph: KafkaStreamSource + StreamMaterializer (startMaterializers) into Redis, fresh prefix; its ratio is over `bare` of the same round. */
async function materializerRound(ctx: Context, backlog: Backlog, r: number, profiled: boolean, bare: ConsumeReport): Promise<void> {
  const { options } = ctx;
  const prefix = `fgbench:${ctx.runId}:${r}:`;
  const profile = profiled ? profileFile('materializer-throughput', ctx.runId) : null;
  const redisBefore = await redisSnapshot(ctx.redis);
  const kafkaBefore = processCpuMs(kafkaPid());
  const materializer = new Worker(`materializer#${r}`, {
    mode: 'materialize',
    brokers: ctx.brokers,
    topic: backlog.topic,
    groupId: ctx.topics.group(`materializer-${r}`),
    expected: options.events,
    tuning: options.tuning,
    redisUrl: ctx.redisUrl,
    keyPrefix: prefix,
    writeTimeoutMs: options.writeTimeoutMs,
    profileFile: profile,
  });
  const done = (await materializer.next('done', backlog.timeoutMs)).report;
  const redisAfter = await redisSnapshot(ctx.redis);
  const kafkaAfter = processCpuMs(kafkaPid());
  await materializer.stop();
  if (profile) ctx.profiles.push({ label: `materializer (throughput round ${r})`, file: profile });
  const stored = await storedTotals(ctx.redisUrl, prefix, backlog.entities);
  const deleted = await deletePrefix(ctx.redis, prefix);
  const rps = perSecond(done.events, done.startToLastMs);
  const bareRps = perSecond(bare.events, bare.startToLastMs);
  const correct = stored.orders === options.events && Math.abs(stored.revenue - backlog.revenue) < 1e-6 * Math.max(1, backlog.revenue);
  if (!correct) log(`materializer#${r}: Redis holds ${stored.orders} orders and revenue ${stored.revenue}, expected ${options.events} and ${backlog.revenue}`);
  const ratio = rps / bareRps;
  emit('materializer', { rps: round(rps, 0), p50_ms: done.handleMs ? round(done.handleMs.p50) : null, p99_ms: done.handleMs ? round(done.handleMs.p99) : null, ratio: round(ratio, 3) }, {
    round: r,
    events: done.events,
    events_per_s: round(rps, 0),
    baseline_events_per_s: round(bareRps, 0),
    ratio: round(ratio, 3),
    goal_ratio: 0.7,
    meets_goal: ratio >= 0.7,
    start_to_last_ms: round(done.startToLastMs, 1),
    first_batch_ms: round(done.firstBatchMs, 0),
    // From each consumer's first batch to its last event: connecting and joining left out of both.
    after_first_batch_ratio: round(perSecond(done.events, done.startToLastMs - done.firstBatchMs) / perSecond(bare.events, bare.startToLastMs - bare.firstBatchMs), 3),
    batches: done.batches,
    handle_ms: done.handleMs ? brief(done.handleMs) : null,
    stats: done.stats,
    failed_batches: done.failedBatches ?? 0,
    events_per_write: done.stats && done.stats.writes > 0 ? round(done.stats.events / done.stats.writes, 2) : null,
    verified: correct,
    redis_keys: stored.keys,
    redis_keys_deleted: deleted,
    worker_cpu: round(done.cpuMs / Math.max(1, done.startToLastMs), 3),
    worker_elu: round(done.elu, 3),
    worker_gc: done.gc,
    kafka_cpu: cpuShare(kafkaBefore, kafkaAfter, done.startToLastMs),
    ...redisDelta(redisBefore, redisAfter, done.startToLastMs),
    write_timeout_ms: options.writeTimeoutMs ?? 'store default',
    chunk_size: options.tuning.chunkSize,
    chunks_in_flight: options.tuning.chunksInFlight,
    partitions_consumed_concurrently: options.tuning.partitionsConsumedConcurrently,
    profiled: profile !== null,
  });
}
