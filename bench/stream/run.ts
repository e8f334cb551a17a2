// The stream benchmark: featuregraph's stream materializer against a bare kafkajs consumer measured in
// the same run (throughput), and how soon an event is readable through GraphQL (freshness).
//
//   npm run bench:stream [-- --events N] [--rate R] [--duration S] [--rounds N] [--profile] ...
//
// One JSON line per result on stdout; progress, the services' CPU and (with --profile) where the
// materializer's time went on stderr. See bench/stream/README.md for what each number means.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import { readEndpoints, type Endpoints } from '../../test/services/harness.js';
import { pingRedis } from '../../test/services/redis.js';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import {
  defaultTuning,
  entityId,
  orderEvent,
  preciseNow,
  probeKey,
  root,
  round,
  summarize,
  topicEnv,
  workerEnv,
  type ConsumerTuning,
  type ProbeTimes,
  type Summary,
  type WorkerConfig,
  type WorkerMessage,
} from './common.js';
import { formatProfile, summarizeProfile, type ProfileSummary } from './profile.js';

const help = `npm run bench:stream -- [options]

throughput (materializer vs a bare kafkajs consumer, same topic, same group settings):
  --events N              events produced to a fresh 3-partition topic (default 200000)
  --entities N            restaurants the events are keyed over (default 1000)
  --rounds N              bare, materializer pairs over that topic (default 2)
  --chunk-size N          KafkaStreamSource chunkSize (default ${defaultTuning.chunkSize})
  --chunks-in-flight N    KafkaStreamSource chunksInFlight (default ${defaultTuning.chunksInFlight})
  --concurrency N         partitionsConsumedConcurrently, both consumers (default ${defaultTuning.partitionsConsumedConcurrently})
  --write-timeout MS      the materializer's RedisOnlineStore writeTimeoutMs (default: the store's own,
                          which is what \`featuregraph materialize\` runs with)
freshness (producer send -> readable through GraphQL):
  --rate R                events/s produced (default 5000)
  --duration S            seconds of load (default 20)
  --probe-every MS        one probe event every MS ms among the load (default 50)
  --poll-every MS         the prober asks the gateway every MS ms (default 3)
general:
  --only NAME             throughput or freshness (default: both)
  --profile               CPU-profile the measured part of the last throughput round (bare consumer and
                          materializer) and of the freshness materializer; prints where the time went
  --help`;

function log(message: string): void {
  process.stderr.write(`[bench:stream] ${message}\n`);
}

function positiveInt(values: Record<string, string | boolean | undefined>, flag: string, fallback: number): number {
  const raw = values[flag];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(value) || value <= 0) throw new Error(`--${flag} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

function parseOptions() {
  const parsed = parseArgs({
    options: {
      events: { type: 'string' },
      entities: { type: 'string' },
      rounds: { type: 'string' },
      'chunk-size': { type: 'string' },
      'chunks-in-flight': { type: 'string' },
      concurrency: { type: 'string' },
      'write-timeout': { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      'probe-every': { type: 'string' },
      'poll-every': { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const flags = parsed.values;
  if (flags.help) {
    process.stdout.write(`${help}\n`);
    process.exit(0);
  }
  if (flags.only !== undefined && flags.only !== 'throughput' && flags.only !== 'freshness') throw new Error(`--only must be throughput or freshness, got ${JSON.stringify(flags.only)}`);
  return {
    events: Math.round(positiveInt(flags, 'events', 200_000)),
    entities: Math.round(positiveInt(flags, 'entities', 1000)),
    rounds: Math.round(positiveInt(flags, 'rounds', 2)),
    tuning: {
      ...defaultTuning,
      chunkSize: Math.round(positiveInt(flags, 'chunk-size', defaultTuning.chunkSize)),
      chunksInFlight: flags['chunks-in-flight'] === '0' ? 0 : Math.round(positiveInt(flags, 'chunks-in-flight', defaultTuning.chunksInFlight)),
      partitionsConsumedConcurrently: Math.round(positiveInt(flags, 'concurrency', defaultTuning.partitionsConsumedConcurrently)),
    } satisfies ConsumerTuning,
    writeTimeoutMs: flags['write-timeout'] === undefined ? null : Math.round(positiveInt(flags, 'write-timeout', 10_000)),
    rate: positiveInt(flags, 'rate', 5000),
    durationS: positiveInt(flags, 'duration', 20),
    probeEveryMs: positiveInt(flags, 'probe-every', 50),
    pollEveryMs: positiveInt(flags, 'poll-every', 3),
    only: flags.only,
    profile: flags.profile === true,
  };
}

let options: ReturnType<typeof parseOptions>;
try {
  options = parseOptions();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${help}\n`);
  process.exit(2);
}

/** Event times spread over the last 20 minutes: inside the 30-minute window, so every event counts. */
const eventSpreadMs = 20 * 60_000;
const partitions = 3;
const runId = `${Date.now().toString(36)}-${process.pid}`;
const profileDir = join(root, '.cache', 'profiles', 'stream');
const host = { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', platform: `${process.platform}-${process.arch}` };

function emit(variant: string, fields: { rps: number | null; p50_ms: number | null; p99_ms: number | null; ratio: number | null }, metrics: Record<string, unknown>): void {
  // The load average says how busy the (shared) machine was: other benchmarks and tests may run beside this one.
  const load = loadavg().map((l) => round(l, 2));
  process.stdout.write(`${JSON.stringify({ bench: 'stream', variant, ...fields, metrics, ...host, loadavg: load })}\n`);
}

// ---------------------------------------------------------------------------------------------
// Services

async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({ clientId: 'featuregraph-bench-probe', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function servicesUp(): Promise<{ redis: NonNullable<Endpoints['redis']>; brokers: string[] }> {
  const current = readEndpoints();
  const ok = current.redis !== undefined && current.kafka !== undefined && (await pingRedis(current.redis.port)) && (await kafkaAnswers(current.kafka.brokers));
  if (!ok) {
    log('redis or kafka is not answering: running test/services/up redis kafka');
    const result = spawnSync(join(root, 'test', 'services', 'up'), ['redis', 'kafka'], { cwd: root, stdio: ['ignore', 2, 2] });
    if (result.status !== 0) throw new Error(`test/services/up redis kafka exited with ${result.status ?? result.signal}`);
  }
  const endpoints = readEndpoints();
  if (!endpoints.redis || !endpoints.kafka) throw new Error('the services harness wrote no redis or kafka endpoint');
  return { redis: endpoints.redis, brokers: endpoints.kafka.brokers };
}

/** CPU seconds a process has used so far, from /proc (Linux); null elsewhere or when it is gone. */
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
function processCpuMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3, utime 14 and stime 15 (1-based, counting pid and comm).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
  } catch {
    return null;
  }
}

function kafkaPid(): number | null {
  const file = join(root, '.cache', 'services', 'kafka', 'kafka.pid');
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

interface RedisSnapshot {
  byCommand: Map<string, number>;
  evalshaCalls: number;
  evalshaUsec: number;
  calls: number;
  usec: number;
  cpuMs: number;
}

async function redisSnapshot(redis: Redis): Promise<RedisSnapshot> {
  const [commandstats, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')]);
  const out: RedisSnapshot = { byCommand: new Map(), evalshaCalls: 0, evalshaUsec: 0, calls: 0, usec: 0, cpuMs: 0 };
  for (const line of commandstats.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (!match) continue;
    const calls = Number(match[2]);
    const usec = Number(match[3]);
    out.calls += calls;
    out.usec += usec;
    out.byCommand.set(match[1] as string, calls);
    if (match[1] === 'evalsha') {
      out.evalshaCalls = calls;
      out.evalshaUsec = usec;
    }
  }
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  out.cpuMs = (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
  return out;
}

function redisDelta(before: RedisSnapshot, after: RedisSnapshot, wallMs: number): Record<string, number | null | Record<string, number>> {
  if (after.calls < before.calls || after.evalshaCalls < before.evalshaCalls) {
    // Someone ran CONFIG RESETSTAT meanwhile (Redis is shared): the deltas mean nothing.
    return { redis_evalsha_calls: null, redis_evalsha_usec_per_call: null, redis_commands: null, redis_command_ms: null, redis_cpu: round((after.cpuMs - before.cpuMs) / Math.max(1, wallMs), 3), redis_stats_reset: 1 };
  }
  const calls = after.evalshaCalls - before.evalshaCalls;
  const usec = after.evalshaUsec - before.evalshaUsec;
  // Redis is shared: commands of anything else that ran meanwhile show up here too.
  const top = [...after.byCommand]
    .map(([name, n]) => [name, n - (before.byCommand.get(name) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5);
  return {
    redis_top_commands: Object.fromEntries(top),
    redis_evalsha_calls: calls,
    redis_evalsha_usec_per_call: round(calls > 0 ? usec / calls : 0),
    redis_commands: after.calls - before.calls,
    redis_command_ms: round((after.usec - before.usec) / 1000, 0),
    // Share of one core Redis used over the measured time (it is single-threaded: 1 means saturated).
    redis_cpu: round((after.cpuMs - before.cpuMs) / Math.max(1, wallMs), 3),
  };
}

// ---------------------------------------------------------------------------------------------
// Workers (bench/stream/worker.ts): every child is tracked, so that any way out of here stops them.

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping the workers`);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    process.exit(130);
  });
}

type MessageOf<T extends WorkerMessage['type']> = Extract<WorkerMessage, { type: T }>;

class Worker {
  readonly child: ChildProcess;
  progress = 0;
  private readonly inbox: WorkerMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly tailLines: string[] = [];
  private exited = false;
  readonly exit: Promise<void>;

  constructor(
    readonly label: string,
    config: WorkerConfig,
  ) {
    const env = { ...process.env, [workerEnv]: JSON.stringify(config), [topicEnv]: config.topic };
    this.child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'stream', 'worker.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    children.add(this.child);
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        this.tailLines.push(line);
        if (this.tailLines.length > 30) this.tailLines.shift();
        process.stderr.write(`[${label}] ${line}\n`);
      }
    };
    this.child.stdout?.on('data', forward);
    this.child.stderr?.on('data', forward);
    this.child.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') this.progress = message.events;
      else this.inbox.push(message);
      for (const wake of this.waiters) wake();
    });
    this.exit = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.exited = true;
        children.delete(this.child);
        for (const wake of this.waiters) wake();
        resolve();
      });
    });
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  private tail(): string {
    return this.tailLines.slice(-15).join('\n');
  }

  /** The next message of this type (messages of other types stay queued); rejects on error, exit or timeout. */
  async next<T extends WorkerMessage['type']>(type: T, timeoutMs: number): Promise<MessageOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const failure = this.inbox.find((m): m is MessageOf<'error'> => m.type === 'error');
      if (failure) throw new Error(`${this.label} failed: ${failure.message}`);
      const index = this.inbox.findIndex((m) => m.type === type);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as MessageOf<T>;
      if (this.exited) throw new Error(`${this.label} exited (code ${this.child.exitCode}, signal ${this.child.signalCode}) before sending "${type}":\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: no "${type}" within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 1000));
        const waiters = this.waiters;
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }

  /** Waits until the worker reports at least `events` (progress messages come every 100 ms). */
  async progressAtLeast(events: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.progress < events) {
      if (this.exited) throw new Error(`${this.label} exited at ${this.progress} of ${events} events:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.label}: only ${this.progress} of ${events} events within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Asks it to stop (it disconnects cleanly); kills it after the grace. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.exited) return;
    if (this.child.connected) this.child.send({ type: 'stop' });
    const timer = setTimeout(() => {
      log(`${this.label} did not stop within ${graceMs} ms: killing it`);
      this.child.kill('SIGKILL');
    }, graceMs);
    await this.exit;
    clearTimeout(timer);
  }
}

/** Where a worker writes the CPU profile of its measured part (the inspector's profiler, in the worker). */
function profileFile(name: string): string {
  mkdirSync(profileDir, { recursive: true });
  return join(profileDir, `${name}-${runId}.cpuprofile`);
}

// ---------------------------------------------------------------------------------------------
// Kafka: topics and producing

class Topics {
  private readonly created: string[] = [];
  private readonly groups: string[] = [];
  constructor(private readonly admin: Admin) {}

  async create(topic: string): Promise<void> {
    const ok = await this.admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
    if (!ok) throw new Error(`topic ${topic} already exists: topics of this benchmark are meant to be fresh`);
    this.created.push(topic);
  }

  group(name: string): string {
    const id = `bench-stream-${runId}-${name}`;
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

/** Produces `count` load events in sends of `perSend`, `inFlight` at a time. */
async function produceBacklog(producer: Producer, topic: string, count: number, entities: number): Promise<{ ms: number; revenue: number }> {
  const perSend = 1000;
  const inFlight = 4;
  const start = performance.now();
  const now = Date.now();
  let next = 0;
  let revenue = 0;
  const sender = async () => {
    while (next < count) {
      const n = Math.min(perSend, count - next);
      next += n;
      const messages = new Array<{ key: string; value: string }>(n);
      for (let i = 0; i < n; i++) {
        const event = orderEvent(entityId(Math.floor(Math.random() * entities)), now, eventSpreadMs, 0);
        revenue += (JSON.parse(event.value) as { totalPrice: number }).totalPrice;
        messages[i] = event;
      }
      await producer.send({ topic, messages });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, sender));
  return { ms: performance.now() - start, revenue };
}

// ---------------------------------------------------------------------------------------------
// Redis: what the materializer wrote

const viewName = 'bench_order_activity';

/** Sums the count and sum tiles of every key under the prefix (all events are inside both windows), read through the store. */
async function storedTotals(redisUrl: string, prefix: string, keys: string[]): Promise<{ keys: number; orders: number; revenue: number }> {
  const store = new RedisOnlineStore({ mode: 'standalone', url: redisUrl, keyPrefix: prefix, commandTimeoutMs: 10_000 });
  await store.connect();
  const out = { keys: 0, orders: 0, revenue: 0 };
  try {
    for (let i = 0; i < keys.length; i += 500) {
      for (const state of await store.read(keys.slice(i, i + 500).map((key) => ({ view: viewName, key })))) {
        if (state === null) continue;
        out.keys++;
        for (const cell of Object.values(state.tiles?.ordersLast30m ?? {})) out.orders += cell as number;
        for (const cell of Object.values(state.tiles?.revenueLast24h ?? {})) out.revenue += cell as number;
      }
    }
  } finally {
    await store.close();
  }
  return out;
}

async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

// ---------------------------------------------------------------------------------------------
// Throughput

interface Context {
  brokers: string[];
  redisUrl: string;
  redis: Redis;
  topics: Topics;
  producer: Producer;
  profiles: { label: string; file: string }[];
}

const perSecond = (events: number, ms: number) => (events * 1000) / Math.max(1e-9, ms);

async function throughput(ctx: Context): Promise<void> {
  const topic = `bench.stream.${runId}.throughput`;
  await ctx.topics.create(topic);
  log(`throughput: producing ${options.events} events over ${options.entities} restaurants to ${topic} (${partitions} partitions)`);
  const produced = await produceBacklog(ctx.producer, topic, options.events, options.entities);
  const onTopic = await ctx.topics.highWatermarks(topic);
  if (onTopic !== options.events) throw new Error(`topic ${topic} holds ${onTopic} events, expected ${options.events}`);
  log(`throughput: produced in ${Math.round(produced.ms)} ms (${Math.round(perSecond(options.events, produced.ms))}/s)`);
  const entities = Array.from({ length: options.entities }, (_, i) => entityId(i));
  const timeoutMs = Math.max(120_000, options.events); // 1 ms per event at worst, 2 minutes at least

  for (let r = 1; r <= options.rounds; r++) {
    // The baseline: a bare consumer with the same group settings, on a fresh group.
    const profiled = options.profile && r === options.rounds;
    const bareProfile = profiled ? profileFile('bare-throughput') : null;
    const bare = new Worker(`bare#${r}`, { mode: 'bare', brokers: ctx.brokers, topic, groupId: ctx.topics.group(`bare-${r}`), expected: options.events, tuning: options.tuning, profileFile: bareProfile });
    const kafkaBefore = processCpuMs(kafkaPid());
    const bareDone = (await bare.next('done', timeoutMs)).report;
    const kafkaAfter = processCpuMs(kafkaPid());
    await bare.stop();
    if (bareProfile) ctx.profiles.push({ label: `bare consumer (throughput round ${r})`, file: bareProfile });
    const bareRps = perSecond(bareDone.events, bareDone.startToLastMs);
    emit('bare-consumer', { rps: round(bareRps, 0), p50_ms: null, p99_ms: null, ratio: 1 }, {
      round: r,
      events: bareDone.events,
      events_per_s: round(bareRps, 0),
      start_to_last_ms: round(bareDone.startToLastMs, 1),
      join_ms: bareDone.joinMs === undefined ? null : round(bareDone.joinMs, 0),
      first_batch_ms: round(bareDone.firstBatchMs, 0),
      // The same events over the time after the group was joined (connect and join left out).
      joined_to_last_events_per_s: bareDone.joinMs === undefined ? null : round(perSecond(bareDone.events, bareDone.startToLastMs - bareDone.joinMs), 0),
      batches: bareDone.batches,
      worker_cpu: round(bareDone.cpuMs / Math.max(1, bareDone.startToLastMs), 3),
      worker_elu: round(bareDone.elu, 3),
      worker_gc: bareDone.gc,
      kafka_cpu: kafkaBefore === null || kafkaAfter === null ? null : round((kafkaAfter - kafkaBefore) / Math.max(1, bareDone.startToLastMs), 3),
      partitions_consumed_concurrently: options.tuning.partitionsConsumedConcurrently,
    });

    // featuregraph: KafkaStreamSource + StreamMaterializer (startMaterializers) into Redis, fresh prefix.
    const prefix = `fgbench:${runId}:${r}:`;
    const profile = profiled ? profileFile('materializer-throughput') : null;
    const redisBefore = await redisSnapshot(ctx.redis);
    const kafkaBefore2 = processCpuMs(kafkaPid());
    const materializer = new Worker(
      `materializer#${r}`,
      { mode: 'materialize', brokers: ctx.brokers, topic, groupId: ctx.topics.group(`materializer-${r}`), expected: options.events, tuning: options.tuning, redisUrl: ctx.redisUrl, keyPrefix: prefix, writeTimeoutMs: options.writeTimeoutMs, profileFile: profile },
    );
    const done = (await materializer.next('done', timeoutMs)).report;
    const redisAfter = await redisSnapshot(ctx.redis);
    const kafkaAfter2 = processCpuMs(kafkaPid());
    await materializer.stop();
    if (profile) ctx.profiles.push({ label: `materializer (throughput round ${r})`, file: profile });
    const stored = await storedTotals(ctx.redisUrl, prefix, entities);
    const deleted = await deletePrefix(ctx.redis, prefix);
    const rps = perSecond(done.events, done.startToLastMs);
    const correct = stored.orders === options.events && Math.abs(stored.revenue - produced.revenue) < 1e-6 * Math.max(1, produced.revenue);
    if (!correct) log(`materializer#${r}: Redis holds ${stored.orders} orders and revenue ${stored.revenue}, expected ${options.events} and ${produced.revenue}`);
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
      after_first_batch_ratio: round(perSecond(done.events, done.startToLastMs - done.firstBatchMs) / perSecond(bareDone.events, bareDone.startToLastMs - bareDone.firstBatchMs), 3),
      batches: done.batches,
      handle_ms: done.handleMs ? { p50: round(done.handleMs.p50), p99: round(done.handleMs.p99), max: round(done.handleMs.max), mean: round(done.handleMs.mean) } : null,
      stats: done.stats,
      failed_batches: done.failedBatches ?? 0,
      events_per_write: done.stats && done.stats.writes > 0 ? round(done.stats.events / done.stats.writes, 2) : null,
      verified: correct,
      redis_keys: stored.keys,
      redis_keys_deleted: deleted,
      worker_cpu: round(done.cpuMs / Math.max(1, done.startToLastMs), 3),
      worker_elu: round(done.elu, 3),
      worker_gc: done.gc,
      kafka_cpu: kafkaBefore2 === null || kafkaAfter2 === null ? null : round((kafkaAfter2 - kafkaBefore2) / Math.max(1, done.startToLastMs), 3),
      ...redisDelta(redisBefore, redisAfter, done.startToLastMs),
      write_timeout_ms: options.writeTimeoutMs ?? 'store default',
      chunk_size: options.tuning.chunkSize,
      chunks_in_flight: options.tuning.chunksInFlight,
      partitions_consumed_concurrently: options.tuning.partitionsConsumedConcurrently,
      profiled: profile !== null,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Freshness

/** A keep-alive GraphQL client for the probe entity's count. */
function probeClient(url: string): { count(): Promise<number | null>; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(url);
  const body = JSON.stringify({ query: 'query Probe($id: ID!) { restaurant(restaurantId: $id) { ordersLast30m } }', variables: { id: probeKey } });
  return {
    count: () =>
      new Promise((resolve, reject) => {
        const req = request(
          { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              try {
                const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: { restaurant?: { ordersLast30m?: number | null } | null }; errors?: { message: string }[] };
                if (parsed.errors?.length) return reject(new Error(`gateway: ${parsed.errors.map((e) => e.message).join('; ')}`));
                resolve(parsed.data?.restaurant?.ordersLast30m ?? null);
              } catch (error) {
                reject(error instanceof Error ? error : new Error(String(error)));
              }
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Load at a fixed rate with a probe event every probeEveryMs among it, on one topic. */
class LoadGenerator {
  /** Probe sequence number -> when it was sent (preciseNow). */
  readonly sentAt = new Map<number, number>();
  probeSeq = 0;
  loadSent = 0;
  loadAcked = 0;
  sendErrors = 0;
  inFlight = 0;
  skippedTicks = 0;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  probe(): void {
    const seq = ++this.probeSeq;
    const at = preciseNow();
    this.sentAt.set(seq, at);
    const value = JSON.stringify({ orderId: `probe-${seq}`, restaurantId: probeKey, createdAt: new Date(at).toISOString(), totalPrice: 1, sentAt: at });
    this.producer.send({ topic: this.topic, messages: [{ key: probeKey, value }] }).catch(() => this.sendErrors++);
  }

  load(n: number): void {
    const now = Date.now();
    const at = preciseNow();
    const messages = new Array<{ key: string; value: string }>(n);
    for (let i = 0; i < n; i++) messages[i] = orderEvent(entityId(Math.floor(Math.random() * options.entities)), now, eventSpreadMs, at);
    this.inFlight++;
    this.loadSent += n;
    this.producer
      .send({ topic: this.topic, messages })
      .then(() => {
        this.loadAcked += n;
      })
      .catch(() => this.sendErrors++)
      .finally(() => this.inFlight--);
  }

  /** A second of load at a fifth of the rate, with probes; returns how many events that was. */
  async warmUp(): Promise<number> {
    for (let i = 0; i < 10; i++) {
      this.load(Math.max(1, Math.round(options.rate / 50)));
      this.probe();
      await sleep(100);
    }
    while (this.inFlight > 0) await sleep(5);
    return this.loadSent + this.probeSeq;
  }

  /** options.rate events/s for options.durationS, a probe every options.probeEveryMs; resolves when the last send is acknowledged. */
  async run(): Promise<{ loadMs: number; events: number; firstProbe: number; lastProbe: number }> {
    this.loadSent = 0;
    this.loadAcked = 0;
    const firstProbe = this.probeSeq + 1;
    const start = performance.now();
    const durationMs = options.durationS * 1000;
    const maxInFlight = 50;
    let nextProbe = start;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const elapsed = now - start;
        if (elapsed >= durationMs) return resolve();
        if (now >= nextProbe) {
          this.probe();
          nextProbe += options.probeEveryMs;
        }
        const due = Math.floor((elapsed * options.rate) / 1000) - this.loadSent;
        if (due > 0) {
          if (this.inFlight < maxInFlight) this.load(due);
          else this.skippedTicks++;
        }
        setTimeout(tick, 2);
      };
      tick();
    });
    const loadMs = performance.now() - start;
    const deadline = performance.now() + 10_000;
    while (this.inFlight > 0 && performance.now() < deadline) await sleep(5);
    return { loadMs, events: this.loadAcked, firstProbe, lastProbe: this.probeSeq };
  }
}

const brief = (x: Summary) => ({ p50: round(x.p50), p99: round(x.p99), max: round(x.max), mean: round(x.mean) });

/**
 * The freshness baseline: the same load on a fresh topic, read by a bare kafkajs consumer (same group
 * settings); a probe counts as seen when its batch reaches eachBatch. The floor Kafka and kafkajs set.
 */
async function freshnessBaseline(ctx: Context): Promise<Summary> {
  const topic = `bench.stream.${runId}.freshness-bare`;
  await ctx.topics.create(topic);
  const bare = new Worker('bare', { mode: 'bare', brokers: ctx.brokers, topic, groupId: ctx.topics.group('freshness-bare'), expected: null, tuning: options.tuning, profileFile: null });
  await bare.next('ready', 60_000);
  const load = new LoadGenerator(ctx.producer, topic);
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
  const achieved = perSecond(run.events, run.loadMs);
  const cpu = (before: number | null, after: number | null) => (before === null || after === null ? null : round((after - before) / Math.max(1, wallMs), 3));
  emit('freshness-bare-consumer', { rps: round(achieved, 0), p50_ms: round(latency.p50), p99_ms: round(latency.p99), ratio: null }, {
    target_events_per_s: options.rate,
    achieved_events_per_s: round(achieved, 0),
    duration_s: round(run.loadMs / 1000, 2),
    probes: run.lastProbe - run.firstProbe + 1,
    probes_missed: missed,
    // Probe send (preciseNow in this process) until its batch reached eachBatch (preciseNow in the worker).
    latency_ms: brief(latency),
    // Every event: the producer's CreateTime (ms precision) until it reached eachBatch.
    all_events_received_ms: { count: report.appliedLagMs.count, ...brief(report.appliedLagMs) },
    batches: report.report.batches,
    send_errors: load.sendErrors,
    producer_skipped_ticks: load.skippedTicks,
    consumer_cpu: cpu(consumerBefore, consumerAfter),
    kafka_cpu: cpu(kafkaBefore, kafkaAfter),
    partitions_consumed_concurrently: options.tuning.partitionsConsumedConcurrently,
  });
  return latency;
}

async function freshness(ctx: Context, baseline: Summary | null): Promise<void> {
  const topic = `bench.stream.${runId}.freshness`;
  await ctx.topics.create(topic);
  const prefix = `fgbench:${runId}:fresh:`;
  const profile = options.profile ? profileFile('materializer-freshness') : null;
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
  const load = new LoadGenerator(ctx.producer, topic);

  // Warm-up: load and probes through the materializer, and the prober's query path through the gateway.
  log(`freshness: warming up (gateway at ${url})`);
  await materializer.progressAtLeast(await load.warmUp(), 30_000);
  for (let i = 0; i < 300; i++) await client.count();
  const warmProbes = load.probeSeq;
  const seen = await client.count();
  if (seen !== warmProbes) throw new Error(`after warm-up the gateway reads ${seen} probe events, expected ${warmProbes}`);

  // The measured run: load at a fixed rate, a probe every probeEveryMs, the prober polling throughout.
  log(`freshness: ${options.rate} events/s for ${options.durationS} s, a probe every ${options.probeEveryMs} ms, polled every ${options.pollEveryMs} ms`);
  const observed = new Map<number, number>();
  const pollRtt: number[] = [];
  let pollErrors = 0;
  let lastSeen = warmProbes;
  let polling = true;
  const prober = (async () => {
    while (polling) {
      const t0 = preciseNow();
      try {
        const count = (await client.count()) ?? 0;
        const t1 = preciseNow();
        pollRtt.push(t1 - t0);
        for (let seq = lastSeen + 1; seq <= count; seq++) observed.set(seq, t1);
        lastSeen = Math.max(lastSeen, count);
      } catch {
        pollErrors++;
      }
      await sleep(options.pollEveryMs);
    }
  })();

  const redisBefore = await redisSnapshot(ctx.redis);
  const kafkaBefore = processCpuMs(kafkaPid());
  const gatewayBefore = processCpuMs(gateway.pid);
  const materializerBefore = processCpuMs(materializer.pid);
  const start = performance.now();
  const run = await load.run();
  // Drain: every probe readable (or 10 s more).
  const drainDeadline = performance.now() + 10_000;
  while (lastSeen < run.lastProbe && performance.now() < drainDeadline) await sleep(10);
  polling = false;
  await prober;
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

  const byWorker = new Map<number, ProbeTimes>();
  for (const p of report.probes) byWorker.set(p.seq, p);
  const endToEnd: number[] = [];
  const kafkaLeg: number[] = [];
  const applyLeg: number[] = [];
  const visibleLeg: number[] = [];
  let missed = 0;
  for (let seq = run.firstProbe; seq <= run.lastProbe; seq++) {
    const sent = load.sentAt.get(seq) as number;
    const seenAt = observed.get(seq);
    if (seenAt === undefined) {
      missed++;
      continue;
    }
    endToEnd.push(seenAt - sent);
    const w = byWorker.get(seq);
    if (w) {
      kafkaLeg.push(w.receivedAt - sent);
      applyLeg.push(w.appliedAt - w.receivedAt);
      visibleLeg.push(seenAt - w.appliedAt);
    }
  }
  const e2e = summarize(endToEnd);
  const achieved = perSecond(run.events, run.loadMs);
  const cpu = (before: number | null, after: number | null) => (before === null || after === null ? null : round((after - before) / wallMs, 3));
  emit('freshness', { rps: round(achieved, 0), p50_ms: round(e2e.p50), p99_ms: round(e2e.p99), ratio: null }, {
    target_events_per_s: options.rate,
    achieved_events_per_s: round(achieved, 0),
    duration_s: round(run.loadMs / 1000, 2),
    probes: run.lastProbe - run.firstProbe + 1,
    probes_missed: missed,
    probe_every_ms: options.probeEveryMs,
    poll_every_ms: options.pollEveryMs,
    // Probe send until the prober read the new count through GraphQL.
    latency_ms: { ...brief(e2e), goal_p99: 100, meets_goal: e2e.p99 <= 100 && missed === 0 },
    // The same probes through a bare kafkajs consumer, measured just before (freshness-bare-consumer).
    baseline_latency_ms: baseline ? brief(baseline) : null,
    // Where a probe's time went: producer send -> its batch handed to the materializer (kafka) -> every
    // write of that batch applied in Redis (batch_apply) -> seen by the prober (visible; can be below 0,
    // since the probe's own write may finish before the rest of its batch).
    legs_ms: { kafka: brief(summarize(kafkaLeg)), batch_apply: brief(summarize(applyLeg)), visible: brief(summarize(visibleLeg)) },
    // Every event: the producer's CreateTime (ms precision) until its batch was applied.
    all_events_applied_ms: { count: report.appliedLagMs.count, ...brief(report.appliedLagMs) },
    poll_rtt_ms: brief(summarize(pollRtt)),
    poll_errors: pollErrors,
    send_errors: load.sendErrors,
    producer_skipped_ticks: load.skippedTicks,
    materializer_batches: report.report.batches,
    materializer_handle_ms: report.report.handleMs ? brief(report.report.handleMs) : null,
    materializer_stats: report.report.stats,
    materializer_failed_batches: report.report.failedBatches ?? 0,
    materializer_cpu: cpu(materializerBefore, materializerAfter),
    gateway_cpu: cpu(gatewayBefore, gatewayAfter),
    kafka_cpu: cpu(kafkaBefore, kafkaAfter),
    ...redisDelta(redisBefore, redisAfter, wallMs),
    write_timeout_ms: options.writeTimeoutMs ?? 'store default',
    chunk_size: options.tuning.chunkSize,
    partitions_consumed_concurrently: options.tuning.partitionsConsumedConcurrently,
    event_spread_ms: eventSpreadMs,
  });
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const services = await servicesUp();
  log(`node ${host.node}, ${host.cpus} cpus (${host.cpu}); redis ${services.redis.url}, kafka ${services.brokers.join(',')}; run ${runId}`);
  const kafka = new Kafka({ clientId: 'featuregraph-bench-stream', brokers: services.brokers, logLevel: logLevel.ERROR, retry: { initialRetryTime: 100, retries: 8 } });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  const redis = new Redis(services.redis.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await Promise.all([admin.connect(), producer.connect(), redis.connect()]);
  const topics = new Topics(admin);
  const ctx: Context = { brokers: services.brokers, redisUrl: services.redis.url, redis, topics, producer, profiles: [] };
  let failure: unknown = null;
  try {
    if (options.only !== 'freshness') await throughput(ctx);
    if (options.only !== 'throughput') await freshness(ctx, await freshnessBaseline(ctx));
  } catch (error) {
    failure = error;
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await topics.cleanup().catch((error: unknown) => log(`cleanup: ${String(error)}`));
    // Whatever a failed phase left in Redis (phases that finish delete their own keys).
    await deletePrefix(redis, `fgbench:${runId}:`).catch((error: unknown) => log(`cleanup: ${String(error)}`));
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    redis.disconnect();
  }
  if (failure) throw failure;
  for (const { label, file } of ctx.profiles) {
    if (!existsSync(file)) {
      log(`no profile at ${file}`);
      continue;
    }
    const summary: ProfileSummary = summarizeProfile(file, 25);
    log(`profile of the ${label}: ${file}\n${formatProfile(summary)}`);
    emit('profile', { rps: null, p50_ms: null, p99_ms: null, ratio: null }, { of: label, file, busy_ms: summary.busyMs, areas: summary.areas.slice(0, 12), top: summary.functions.slice(0, 15) });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
