// The freshness baseline: the same load on a fresh topic, read by a bare kafkajs consumer (same group
// settings); a probe counts as seen when its batch reaches eachBatch. The floor Kafka and kafkajs set.
import { summarize, type Summary } from './common.js';
import type { Context } from './context.js';
import { LoadGenerator } from './load.js';
import { brief, emitFreshness, log } from './report.js';
import { cpuShare, kafkaPid } from './usage.js';
import { processCpuMs } from '../common/process-cpu.js';
import { Worker } from './workers.js';

/** Runs the baseline and prints its line; the probes' latency is the freshness line's baseline. */
export async function freshnessBaseline(ctx: Context): Promise<Summary> {
  const { options } = ctx;
  const topic = `bench.stream.${ctx.runId}.freshness-bare`;
  await ctx.topics.create(topic);
  const bare = new Worker('bare', { mode: 'bare', brokers: ctx.brokers, topic, groupId: ctx.topics.group('freshness-bare'), expected: null, tuning: options.tuning, profileFile: null });
  await bare.next('ready', 60_000);
  const load = new LoadGenerator(ctx.producer, topic, options);
  log('freshness baseline: warming up the bare consumer');
  const warm = await load.warmUp();
  await bare.progressAtLeast(warm, 30_000);
  log(`freshness baseline: ${options.rate} events/s for ${options.durationS} s, a probe every ${options.probeEveryMs} ms`);
  const kafkaBefore = processCpuMs(kafkaPid());
  const consumerBefore = processCpuMs(bare.pid);
  const start = performance.now();
  const run = await load.run();
  // Drain: everything sent has reached the consumer (or 10 s more; missing probes are reported).
  await bare.progressAtLeast(warm + load.loadSent + (run.lastProbe - run.firstProbe + 1), 10_000).catch((error: unknown) => log(String(error)));
  const wallMs = performance.now() - start;
  const kafkaAfter = processCpuMs(kafkaPid());
  const consumerAfter = processCpuMs(bare.pid);
  bare.child.send({ type: 'stop' });
  const report = await bare.next('freshness', 30_000);
  await bare.stop();
  const latencies: number[] = [];
  let missed = 0;
  const bySeq = new Map(report.probes.map((p) => [p.seq, p]));
  for (let seq = run.firstProbe; seq <= run.lastProbe; seq++) {
    const p = bySeq.get(seq);
    if (p) latencies.push(p.receivedAt - (load.sentAt.get(seq) as number));
    else missed++;
  }
  const latency = summarize(latencies);
  emitFreshness('freshness-bare-consumer', options.rate, run, latency, missed, {
    // Probe send (preciseNow in this process) until its batch reached eachBatch (preciseNow in the worker).
    latency_ms: brief(latency),
    // Every event: the producer's CreateTime (ms precision) until it reached eachBatch.
    all_events_received_ms: { count: report.appliedLagMs.count, ...brief(report.appliedLagMs) },
    batches: report.report.batches,
    send_errors: load.sendErrors,
    producer_skipped_ticks: load.skippedTicks,
    consumer_cpu: cpuShare(consumerBefore, consumerAfter, wallMs),
    kafka_cpu: cpuShare(kafkaBefore, kafkaAfter, wallMs),
    partitions_consumed_concurrently: options.tuning.partitionsConsumedConcurrently,
  });
  return latency;
}
