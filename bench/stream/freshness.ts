// The freshness phase: load at a fixed rate through the materializer into Redis, and a prober asking
// the gateway for the probe restaurant's count; a probe's latency is its send until the first answer
// that counts it.
import { setTimeout as sleep } from 'node:timers/promises';
import { summarize, type ProbeTimes, type Summary } from './common.js';
import type { Context } from './context.js';
import { eventSpreadMs, LoadGenerator, type LoadRun } from './load.js';
import { probeClient, startProber, type Probed } from './prober.js';
import { deletePrefix } from './redis-keys.js';
import { brief, emitFreshness, log } from './report.js';
import { cpuShare, kafkaPid, redisDelta, redisSnapshot } from './usage.js';
import { processCpuMs } from '../common/process-cpu.js';
import { profileFile, Worker } from './workers.js';

/** Runs the phase and prints its line; `baseline` is the bare consumer's probe latency, if it ran. */
export async function freshness(ctx: Context, baseline: Summary | null): Promise<void> {
  const { options } = ctx;
  const topic = `bench.stream.${ctx.runId}.freshness`;
  await ctx.topics.create(topic);
  const prefix = `fgbench:${ctx.runId}:fresh:`;
  const profile = options.profile ? profileFile('materializer-freshness', ctx.runId) : null;
  const gateway = new Worker('gateway', { mode: 'gateway', topic, redisUrl: ctx.redisUrl, keyPrefix: prefix });
  const materializer = new Worker('materializer', {
    mode: 'materialize',
    brokers: ctx.brokers,
    topic,
    groupId: ctx.topics.group('freshness'),
    expected: null,
    tuning: options.tuning,
    redisUrl: ctx.redisUrl,
    keyPrefix: prefix,
    writeTimeoutMs: options.writeTimeoutMs,
    profileFile: profile,
  });
  const url = (await gateway.next('ready', 60_000)).url;
  await materializer.next('ready', 60_000);
  if (!url) throw new Error('the gateway worker sent no URL');
  const client = probeClient(url);
  const load = new LoadGenerator(ctx.producer, topic, options);

  // Warm-up: load and probes through the materializer, and the prober's query path through the gateway.
  log(`freshness: warming up (gateway at ${url})`);
  await materializer.progressAtLeast(await load.warmUp(), 30_000);
  for (let i = 0; i < 300; i++) await client.count();
  const warmProbes = load.probeSeq;
  const seen = await client.count();
  if (seen !== warmProbes) throw new Error(`after warm-up the gateway reads ${seen} probe events, expected ${warmProbes}`);

  // The measured run: load at a fixed rate, a probe every probeEveryMs, the prober polling throughout.
  log(`freshness: ${options.rate} events/s for ${options.durationS} s, a probe every ${options.probeEveryMs} ms, polled every ${options.pollEveryMs} ms`);
  const prober = startProber(client, options.pollEveryMs, warmProbes);
  const redisBefore = await redisSnapshot(ctx.redis);
  const kafkaBefore = processCpuMs(kafkaPid());
  const gatewayBefore = processCpuMs(gateway.pid);
  const materializerBefore = processCpuMs(materializer.pid);
  const start = performance.now();
  const run = await load.run();
  // Drain: every probe readable (or 10 s more).
  const drainDeadline = performance.now() + 10_000;
  while (prober.lastSeen() < run.lastProbe && performance.now() < drainDeadline) await sleep(10);
  const probed = await prober.stop();
  const wallMs = performance.now() - start;
  const redisAfter = await redisSnapshot(ctx.redis);
  const kafkaAfter = processCpuMs(kafkaPid());
  const gatewayAfter = processCpuMs(gateway.pid);
  const materializerAfter = processCpuMs(materializer.pid);
  client.close();
  materializer.child.send({ type: 'stop' });
  const report = await materializer.next('freshness', 30_000);
  await materializer.stop();
  await gateway.stop();
  if (profile) ctx.profiles.push({ label: 'materializer (freshness)', file: profile });
  await deletePrefix(ctx.redis, prefix);

  const legs = probeLegs(run, load.sentAt, probed, report.probes);
  const e2e = summarize(legs.endToEnd);
  emitFreshness('freshness', options.rate, run, e2e, legs.missed, {
    probe_every_ms: options.probeEveryMs,
    poll_every_ms: options.pollEveryMs,
    // Probe send until the prober read the new count through GraphQL.
    latency_ms: { ...brief(e2e), goal_p99: 100, meets_goal: e2e.p99 <= 100 && legs.missed === 0 },
    // The same probes through a bare kafkajs consumer, measured just before (freshness-bare-consumer).
    baseline_latency_ms: baseline ? brief(baseline) : null,
    // Where a probe's time went: producer send -> its batch handed to the materializer (kafka) -> every
    // write of that batch applied in Redis (batch_apply) -> seen by the prober (visible; can be below 0,
    // since the probe's own write may finish before the rest of its batch).
    legs_ms: { kafka: brief(summarize(legs.kafka)), batch_apply: brief(summarize(legs.apply)), visible: brief(summarize(legs.visible)) },
    // Every event: the producer's CreateTime (ms precision) until its batch was applied.
    all_events_applied_ms: { count: report.appliedLagMs.count, ...brief(report.appliedLagMs) },
    poll_rtt_ms: brief(summarize(probed.pollRtt)),
    poll_errors: probed.pollErrors,
    send_errors: load.sendErrors,
    producer_skipped_ticks: load.skippedTicks,
    materializer_batches: report.report.batches,
    materializer_handle_ms: report.report.handleMs ? brief(report.report.handleMs) : null,
    materializer_stats: report.report.stats,
    materializer_failed_batches: report.report.failedBatches ?? 0,
    materializer_cpu: cpuShare(materializerBefore, materializerAfter, wallMs),
    gateway_cpu: cpuShare(gatewayBefore, gatewayAfter, wallMs),
    kafka_cpu: cpuShare(kafkaBefore, kafkaAfter, wallMs),
    ...redisDelta(redisBefore, redisAfter, wallMs),
    write_timeout_ms: options.writeTimeoutMs ?? 'store default',
    chunk_size: options.tuning.chunkSize,
    partitions_consumed_concurrently: options.tuning.partitionsConsumedConcurrently,
    event_spread_ms: eventSpreadMs,
  });
}

/** Each probe of the run: send until the prober saw it, and its legs through the materializer (as the worker timed them). */
function probeLegs(run: LoadRun, sentAt: ReadonlyMap<number, number>, probed: Probed, byMaterializer: readonly ProbeTimes[]) {
  const byWorker = new Map<number, ProbeTimes>();
  for (const p of byMaterializer) byWorker.set(p.seq, p);
  const legs = { endToEnd: [] as number[], kafka: [] as number[], apply: [] as number[], visible: [] as number[], missed: 0 };
  for (let seq = run.firstProbe; seq <= run.lastProbe; seq++) {
    const sent = sentAt.get(seq) as number;
    const seenAt = probed.observed.get(seq);
    if (seenAt === undefined) {
      legs.missed++;
      continue;
    }
    legs.endToEnd.push(seenAt - sent);
    const w = byWorker.get(seq);
    if (w) {
      legs.kafka.push(w.receivedAt - sent);
      legs.apply.push(w.appliedAt - w.receivedAt);
      legs.visible.push(seenAt - w.appliedAt);
    }
  }
  return legs;
}
