// One process of the stream benchmark, started by bench/stream/run.ts with its configuration as JSON
// in FEATUREGRAPH_BENCH_STREAM_WORKER and talking back over the IPC channel:
//   bare         a bare kafkajs consumer that drains the topic and only counts (the baseline);
//   materialize  featuregraph's stream materializer (KafkaStreamSource + startMaterializers) into Redis;
//   gateway      the GraphQL gateway over the same Redis, for the freshness prober.
// Runs in its own process so that each side gets the same event loop to itself, and so that it can
// be profiled alone (--cpu-prof).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { constants as perfConstants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { loadFeatureRepo } from '../../schema/load.js';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import { KafkaStreamSource } from '../../adapters/sources/kafka/index.js';
import type { StreamBatch, StreamConsumer, StreamConsumerOptions, StreamSource } from '../../adapters/sources/types.js';
import { startMaterializers } from '../../materializers/runtime.js';
import { loadConfig } from '../../gateway/config.js';
import { createGateway } from '../../gateway/server.js';
import {
  preciseNow,
  probeKey,
  repoDir,
  summarize,
  workerEnv,
  type ConsumeReport,
  type GcCounts,
  type ParentMessage,
  type ProbeTimes,
  type WorkerConfig,
  type WorkerMessage,
} from './common.js';

function send(message: WorkerMessage): void {
  if (process.send) process.send(message);
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function readConfig(): WorkerConfig {
  const raw = process.env[workerEnv];
  if (!raw) throw new Error(`${workerEnv} is not set: this worker is started by bench/stream/run.ts`);
  return JSON.parse(raw) as WorkerConfig;
}

/** Resolves when the parent asks to stop (or goes away). */
function stopRequested(): Promise<void> {
  return new Promise((resolve) => {
    process.on('message', (message: ParentMessage) => {
      if (message.type === 'stop') resolve();
    });
    process.on('disconnect', () => resolve());
  });
}

/**
 * A CPU profile of the measured part only (not of loading modules through tsx, which --cpu-prof would
 * also catch): started with the meter, written when the run is done.
 */
class Profiler {
  private session: Session | null = null;
  constructor(private readonly file: string | null) {}

  async start(): Promise<void> {
    if (!this.file) return;
    this.session = new Session();
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 200 });
    await this.session.post('Profiler.start');
  }

  async stop(): Promise<void> {
    if (!this.session || !this.file) return;
    const session = this.session;
    this.session = null;
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(this.file, JSON.stringify(profile));
    session.disconnect();
  }
}

/** Measures the worker from start (just before the consumer connects) to the moment `report` is called. */
class Meter {
  private gc: GcCounts = { scavenges: 0, scavengeMs: 0, markCompacts: 0, markCompactMs: 0 };
  private readonly gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.countGc(entry);
  });
  private startedAt = performance.now();
  private cpuAtStart = process.cpuUsage();
  private eluAtStart = performance.eventLoopUtilization();
  firstAt: number | null = null;
  events = 0;
  batches = 0;

  private countGc(entry: PerformanceEntry): void {
    if (entry.startTime < this.startedAt) return;
    const kind = ((entry as PerformanceEntry & { detail?: { kind?: number } | null }).detail)?.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) {
      this.gc.scavenges++;
      this.gc.scavengeMs += entry.duration;
    } else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
      this.gc.markCompacts++;
      this.gc.markCompactMs += entry.duration;
    }
  }

  start(): void {
    this.gc = { scavenges: 0, scavengeMs: 0, markCompacts: 0, markCompactMs: 0 };
    this.gcObserver.observe({ entryTypes: ['gc'] });
    this.startedAt = performance.now();
    this.cpuAtStart = process.cpuUsage();
    this.eluAtStart = performance.eventLoopUtilization();
  }

  /** Milliseconds since start. */
  since(): number {
    return performance.now() - this.startedAt;
  }

  first(): void {
    if (this.firstAt === null) this.firstAt = performance.now();
  }

  report(extra: Partial<ConsumeReport> = {}): ConsumeReport {
    const now = performance.now();
    const cpu = process.cpuUsage(this.cpuAtStart);
    return {
      events: this.events,
      startToLastMs: now - this.startedAt,
      firstBatchMs: (this.firstAt ?? now) - this.startedAt,
      cpuMs: (cpu.user + cpu.system) / 1000,
      elu: performance.eventLoopUtilization(this.eluAtStart).utilization,
      // Entries are delivered asynchronously: the last few milliseconds' collections may be missing.
      gc: { ...this.gc, scavengeMs: Math.round(this.gc.scavengeMs), markCompactMs: Math.round(this.gc.markCompactMs) },
      batches: this.batches,
      ...extra,
    };
  }
}

async function runBare(config: Extract<WorkerConfig, { mode: 'bare' }>): Promise<void> {
  // The same client settings as KafkaStreamSource, and the same group settings as its consumers.
  const kafka = new Kafka({ clientId: 'featuregraph-bench-bare', brokers: config.brokers, logLevel: logLevel.ERROR, retry: { initialRetryTime: 100, retries: 8 } });
  const consumer = kafka.consumer({ groupId: config.groupId, sessionTimeout: config.tuning.sessionTimeoutMs, heartbeatInterval: 1000, allowAutoTopicCreation: false });
  const meter = new Meter();
  let finished = false;
  let joinMs: number | undefined;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joinMs ??= meter.since();
  });
  // Freshness baseline only (expected null): when each event reached the consumer.
  const receivedLagMs: number[] = [];
  const probes: ProbeTimes[] = [];
  const profiler = new Profiler(config.profileFile);
  await profiler.start();
  meter.start();
  await consumer.connect();
  await consumer.subscribe({ topics: [config.topic], fromBeginning: true });
  send({ type: 'ready' });
  const stopping = stopRequested();
  const progress = setInterval(() => send({ type: 'progress', events: meter.events }), 100);
  await consumer.run({
    autoCommit: true,
    autoCommitInterval: 1000,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: config.tuning.partitionsConsumedConcurrently,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
      meter.first();
      meter.batches++;
      meter.events += batch.messages.length;
      if (config.expected === null) {
        const receivedAt = preciseNow();
        for (const message of batch.messages) {
          receivedLagMs.push(receivedAt - Number(message.timestamp));
          if (message.key !== null && message.key.toString('utf8') === probeKey && message.value !== null) {
            const event = JSON.parse(message.value.toString('utf8')) as { orderId: string; sentAt: number };
            probes.push({ seq: Number(event.orderId.slice('probe-'.length)), sentAt: event.sentAt, receivedAt, appliedAt: receivedAt });
          }
        }
      }
      const last = batch.messages[batch.messages.length - 1];
      if (last) resolveOffset(last.offset);
      if (!finished && config.expected !== null && meter.events >= config.expected) {
        finished = true;
        const report = meter.report({ joinMs });
        await profiler.stop();
        send({ type: 'done', report });
      }
      await commitOffsetsIfNecessary();
      await heartbeat();
    },
  });
  await stopping;
  clearInterval(progress);
  if (config.expected === null) {
    await profiler.stop();
    send({ type: 'freshness', report: meter.report({ joinMs }), probes, appliedLagMs: summarize(receivedLagMs) });
  }
  await consumer.disconnect();
}

/** A StreamSource in front of another that sees every batch before and after the materializer handles it. */
class ObservedSource implements StreamSource {
  readonly name: string;
  constructor(
    private readonly inner: StreamSource,
    private readonly observer: { before(batch: StreamBatch): void; after(batch: StreamBatch, receivedAt: number, handleMs: number): void; failed(): void },
  ) {
    this.name = inner.name;
  }

  consume(options: StreamConsumerOptions): Promise<StreamConsumer> {
    return this.inner.consume({
      ...options,
      handle: async (batch) => {
        this.observer.before(batch);
        const receivedAt = preciseNow();
        const t0 = performance.now();
        try {
          await options.handle(batch);
        } catch (error) {
          this.observer.failed();
          throw error;
        }
        this.observer.after(batch, receivedAt, performance.now() - t0);
      },
    });
  }

  produce(topic: string, messages: { key: string | null; value: string }[]): Promise<void> {
    return this.inner.produce(topic, messages);
  }

  maxMessageBytes(topic: string): Promise<number> {
    return this.inner.maxMessageBytes(topic);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

async function runMaterialize(config: Extract<WorkerConfig, { mode: 'materialize' }>): Promise<void> {
  const registry = await loadFeatureRepo(repoDir);
  const store = new RedisOnlineStore({ mode: 'standalone', url: config.redisUrl, keyPrefix: config.keyPrefix, ...(config.writeTimeoutMs === null ? {} : { writeTimeoutMs: config.writeTimeoutMs }) });
  await store.connect();
  const kafka = new KafkaStreamSource({
    brokers: config.brokers,
    clientId: 'featuregraph-bench-materializer',
    chunkSize: config.tuning.chunkSize,
    chunksInFlight: config.tuning.chunksInFlight,
    partitionsConsumedConcurrently: config.tuning.partitionsConsumedConcurrently,
    sessionTimeoutMs: config.tuning.sessionTimeoutMs,
  });
  const meter = new Meter();
  const profiler = new Profiler(config.profileFile);
  const handleMs: number[] = [];
  const appliedLagMs: number[] = [];
  const probes: ProbeTimes[] = [];
  let failures = 0;
  let finished = false;
  let streams: { stats: { events: number; writes: number; duplicates: number; deadLetters: number; groupedBatches: number } }[] = [];
  const stats = () => {
    const total = { events: 0, writes: 0, duplicates: 0, deadLetters: 0, groupedBatches: 0 };
    for (const m of streams) {
      total.events += m.stats.events;
      total.writes += m.stats.writes;
      total.duplicates += m.stats.duplicates;
      total.deadLetters += m.stats.deadLetters;
      total.groupedBatches += m.stats.groupedBatches;
    }
    return total;
  };
  const source = new ObservedSource(kafka, {
    before: () => meter.first(),
    failed: () => failures++,
    after: (batch, receivedAt, ms) => {
      meter.batches++;
      meter.events += batch.payload?.count ?? batch.messages.length;
      handleMs.push(ms);
      const appliedAt = preciseNow();
      if (config.expected === null) {
        // Freshness run: producer timestamp (kafkajs stamps CreateTime at send) to applied, per event.
        for (const message of batch.messages) {
          appliedLagMs.push(appliedAt - message.timestampMs);
          if (message.key === probeKey && message.value !== null) {
            const event = JSON.parse(String(message.value)) as { orderId: string; sentAt: number };
            probes.push({ seq: Number(event.orderId.slice('probe-'.length)), sentAt: event.sentAt, receivedAt, appliedAt });
          }
        }
      } else if (!finished && meter.events >= config.expected) {
        finished = true;
        const report = meter.report({ stats: stats(), handleMs: summarize(handleMs), failedBatches: failures });
        void profiler.stop().then(() => send({ type: 'done', report }));
      }
    },
  });
  await profiler.start();
  meter.start();
  const runtime = await startMaterializers({
    registry,
    store,
    groupId: config.groupId,
    bindings: {
      stream: () => source,
      rows: () => {
        throw new Error('the stream benchmark repo has no table or collection views');
      },
    },
    log,
  });
  streams = runtime.streams;
  send({ type: 'ready' });
  const progress = setInterval(() => send({ type: 'progress', events: stats().events }), 100);
  await stopRequested();
  clearInterval(progress);
  if (config.expected === null) {
    await profiler.stop();
    send({ type: 'freshness', report: meter.report({ stats: stats(), handleMs: summarize(handleMs), failedBatches: failures }), probes, appliedLagMs: summarize(appliedLagMs) });
  }
  if (failures > 0) log(`materializer: ${failures} batches failed and were fetched again`);
  await runtime.stop();
  await kafka.close();
  await store.close();
}

async function runGateway(config: Extract<WorkerConfig, { mode: 'gateway' }>): Promise<void> {
  const registry = await loadFeatureRepo(repoDir);
  const store = new RedisOnlineStore({ mode: 'standalone', url: config.redisUrl, keyPrefix: config.keyPrefix });
  await store.connect();
  const gatewayConfig = loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1' } });
  const gateway = await createGateway({ config: gatewayConfig, registry, store, log });
  const url = await gateway.listen();
  send({ type: 'ready', url });
  await stopRequested();
  await gateway.close();
  await store.close();
}

async function main(): Promise<void> {
  const config = readConfig();
  if (config.mode === 'bare') await runBare(config);
  else if (config.mode === 'materialize') await runMaterialize(config);
  else await runGateway(config);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    send({ type: 'error', message });
    log(message);
    // Give the IPC message a moment to leave before exiting.
    setTimeout(() => process.exit(1), 100);
  },
);
