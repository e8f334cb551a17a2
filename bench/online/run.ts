// The online-serving benchmark: the gateway against a raw baseline measured in the same run.
//
//   npm run bench:online [-- --shape 1x10|100x50] [--concurrency N] [--duration S] [--warmup S] [--rounds N] [--redis URL] [--telemetry | --served-log] [--profile]
//
// Both servers read the same packed values from the same Redis and answer the same JSON (checked
// before measuring). With --telemetry, the gateway runs four times over: telemetry off, as by default
// (metrics), every request traced to Jaeger, and 10% of them; with --served-log, twice: without and
// with served-feature logging at its default rate. One JSON line per result on stdout; progress and a
// summary on stderr.
// See bench/README.md for what each number means.
import { spawnSync } from 'node:child_process';
import { deepStrictEqual } from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import { killChildren, killChildrenOnExit } from '../common/children.js';
import { ensureJaeger, ensureRedis } from '../common/services.js';
import type { LoadResult, LoadTarget } from './load.js';
import { measure, pool, type Measured, type Pooled } from './measure.js';
import { startServer, stopServer, type Server } from './servers.js';
import { comparisons, isGateway, servedLogRate, telemetryEnv, type Comparison, type GatewayVariant, type Variant } from './variants.js';
import { allFeatures, isShapeName, itemIds, shapeNames, shapes, viewName, type Shape, type ShapeName } from './shapes.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The gateway's default key prefix: the bench writes where a default-configured gateway reads.
const keyPrefix = 'fg:';
const profileDir = join(root, '.cache', 'profiles');
const benchCacheDir = join(root, '.cache', 'bench');

const help = `npm run bench:online -- [options]

  --shape NAME          run one shape: ${shapeNames.join(' or ')} (default: both)
  --concurrency N       requests in flight (default ${shapeNames.map((s) => `${shapes[s].defaultConcurrency} for ${s}`).join(', ')})
  --duration S          measured seconds per run (default 10)
  --warmup S            unmeasured seconds before a variant's first run of a shape (default 3;
                        its later rounds, already warm, get at most 1 s to reopen connections)
  --rounds N            raw, gateway pairs per shape (default 2)
  --redis URL           read a Redis of your own (redis://127.0.0.1:PORT) instead of the services
                        harness's, which other work on the machine shares: another client's long
                        scripts hold every reader up, and the gateway's reads then time out
  --store-timeout-ms N  give the gateway this Redis command timeout instead of its default (75 ms);
                        it counts only time the gateway waited for Redis, so its own load does not
                        trip it; a Redis slowed by the machine's load can
  --telemetry           run the gateway four times over (see bench/README.md): telemetry off, as by
                        default (metrics), every request traced to the harness's Jaeger (started
                        with test/services/up jaeger when not running), 10% traced; each line's
                        vs_off is its throughput over the telemetry-off gateway's of the same round
  --served-log          run the gateway twice over (see bench/README.md): without served-feature
                        logging, and logging ${servedLogRate * 100}% of requests into memory; vs_off is the
                        logging gateway's throughput over the other's
  --profile             start the gateway with --cpu-prof (with --telemetry, the fully traced one;
                        with --served-log, the logging one);
                        prints the .cpuprofile path at the end (read it with: node --import tsx bench/online/top.ts FILE)
  --profile-variant V   with --profile, the gateway variant to profile instead`;

/** The pause after the fully traced gateway's run: longer than its batch processor's export delay (5 s). */
const traceSettleMs = 8000;

function log(message: string): void {
  process.stderr.write(`[bench:online] ${message}\n`);
}

/** A bad flag: reported with the usage text, without a stack. */
class UsageError extends Error {}

function positiveNumber(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${flag} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

// The servers are child processes (servers.ts); none outlives the bench.
killChildrenOnExit(log, 'servers');

// ---------------------------------------------------------------------------------------------
// Redis and data.

/** Writes items i1..i100 with 50 random floats and a bucket each, through the store the gateway itself uses. */
async function loadItems(url: string): Promise<void> {
  const store = new RedisOnlineStore({ mode: 'standalone', url, keyPrefix, commandTimeoutMs: 5000 });
  await store.connect();
  try {
    const now = Date.now();
    await store.writeValues(
      itemIds.map((key, i) => ({
        view: viewName,
        key,
        eventTime: now,
        availableTime: now,
        values: { ...Object.fromEntries(allFeatures.map((f) => [f, Math.random() * 1000])), bucket: i % 10 },
        // Far beyond the view's 7-day ttl, so a long session of runs never loses its data.
        retentionMs: 30 * 24 * 3600 * 1000,
      })),
    );
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Equal work: both servers must answer each request with the same data.

async function postOnce(server: Server, body: Buffer): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://${server.host}:${server.port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, text: await response.text() };
}

interface Prepared {
  bodies: Buffer[];
  expectedLengths: Record<Variant, number[]>;
}

/**
 * Asks every server every request of the shape once and checks that the parsed answers are equal and
 * complete (no errors, no null field), so that the comparison is of equal work. Returns the bodies and
 * each server's answer length, which the load generator uses to spot a wrong answer under load.
 */
async function prepare(shape: Shape, variants: readonly Variant[], servers: Partial<Record<Variant, Server>>): Promise<Prepared> {
  const bodies = shape.variableSets.map((variables) => Buffer.from(JSON.stringify({ query: shape.query, variables })));
  const expectedLengths = Object.fromEntries(variants.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  for (const body of bodies) {
    const answers = await Promise.all(variants.map((v) => postOnce(servers[v] as Server, body)));
    const parsed = answers.map((answer, i) => {
      if (answer.status !== 200) throw new Error(`${variants[i]} answered HTTP ${answer.status} to ${shape.name}: ${answer.text.slice(0, 500)}`);
      expectedLengths[variants[i] as Variant].push(Buffer.byteLength(answer.text));
      return JSON.parse(answer.text) as { data?: Record<string, unknown>; errors?: unknown };
    });
    const [raw, ...gateways] = parsed as [{ data?: Record<string, unknown>; errors?: unknown }, ...{ data?: Record<string, unknown>; errors?: unknown }[]];
    gateways.forEach((gateway, i) => {
      const variant = variants[i + 1] as Variant;
      if (gateway.errors !== undefined) throw new Error(`${variant} answered errors to ${shape.name}: ${JSON.stringify(gateway.errors).slice(0, 500)}`);
      deepStrictEqual(gateway, raw, `${variant} and raw answers differ for ${shape.name}`);
    });
    // Equal but empty would prove nothing: every asked field must hold a stored value.
    const rows = ([] as unknown[]).concat(raw.data?.[shape.root] ?? []);
    const expectedRows = shape.root === 'item' ? 1 : itemIds.length;
    if (rows.length !== expectedRows) throw new Error(`${shape.name}: expected ${expectedRows} rows, got ${rows.length}`);
    for (const row of rows as Record<string, unknown>[]) {
      for (const field of shape.fields) if (typeof row[field] !== 'number') throw new Error(`${shape.name}: ${String(row.itemId)}.${field} is ${JSON.stringify(row[field])}, not a stored number (was the data loaded?)`);
    }
  }
  return { bodies, expectedLengths };
}

// ---------------------------------------------------------------------------------------------
// Results.

interface Machine {
  node: string;
  cpus: number;
  cpu_model: string;
  commit?: string;
}

function machine(): Machine {
  const info: Machine = { node: process.version, cpus: cpus().length, cpu_model: cpus()[0]?.model.trim() ?? 'unknown' };
  const git = spawnSync('git', ['describe', '--always', '--dirty'], { cwd: root, encoding: 'utf8' });
  // Which gateway code was measured; "-dirty" marks uncommitted changes in the tree.
  if (git.status === 0) info.commit = git.stdout.trim();
  return info;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

function line(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(fields)}\n`);
}

// ---------------------------------------------------------------------------------------------

function parseArgsOrUsage<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

async function main(): Promise<void> {
  const { values: flags } = parseArgsOrUsage({
    options: {
      shape: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      'store-timeout-ms': { type: 'string' },
      redis: { type: 'string' },
      telemetry: { type: 'boolean', default: false },
      'served-log': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'profile-variant': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (flags.help) {
    process.stdout.write(`${help}\n`);
    return;
  }
  if (flags.shape !== undefined && !isShapeName(flags.shape)) throw new UsageError(`--shape must be one of ${shapeNames.join(', ')}, got ${JSON.stringify(flags.shape)}`);
  const selected: ShapeName[] = flags.shape !== undefined && isShapeName(flags.shape) ? [flags.shape] : shapeNames;
  const durationS = positiveNumber('duration', flags.duration, 10);
  const warmupS = flags.warmup === '0' ? 0 : positiveNumber('warmup', flags.warmup, 3);
  const rounds = Math.round(positiveNumber('rounds', flags.rounds, 2));
  const concurrencyFlag = flags.concurrency === undefined ? undefined : Math.round(positiveNumber('concurrency', flags.concurrency, 1));
  const profile = flags.profile === true;
  const telemetry = flags.telemetry === true;
  if (telemetry && flags['served-log'] === true) throw new UsageError('--telemetry and --served-log are two comparisons: run one at a time');
  const comparison: Comparison | null = telemetry ? comparisons.telemetry : flags['served-log'] === true ? comparisons['served-log'] : null;
  const variants: readonly Variant[] = ['raw', ...(comparison?.variants ?? ['gateway'])];
  const gatewayVariants = variants.filter(isGateway);
  // The gateway whose CPU --profile records: by default the one that does the most (a comparison's last).
  const profiled = (flags['profile-variant'] ?? comparison?.variants.at(-1) ?? 'gateway') as GatewayVariant;
  if (!gatewayVariants.includes(profiled)) throw new UsageError(`--profile-variant must be one of ${gatewayVariants.join(', ')}, got ${JSON.stringify(flags['profile-variant'])}`);
  if (flags.redis !== undefined && !/^redis:\/\/[^/\s]+(\/\d+)?$/.test(flags.redis)) throw new UsageError(`--redis must be a URL like redis://127.0.0.1:6379, got ${JSON.stringify(flags.redis)}`);
  const storeTimeoutMs = flags['store-timeout-ms'] === undefined ? undefined : Math.round(positiveNumber('store-timeout-ms', flags['store-timeout-ms'], 75));
  const info = machine();
  log(`node ${info.node}, ${info.cpus} cpus (${info.cpu_model}), commit ${info.commit ?? 'unknown'}`);

  const redisUrl = flags.redis ?? (await ensureRedis(log));
  const jaeger = telemetry ? await ensureJaeger(log) : null;
  await loadItems(redisUrl);
  // Host and port only: a URL given with --redis may carry a password.
  log(`loaded ${itemIds.length} items x ${allFeatures.length} features into Redis at ${new URL(redisUrl).host} (prefix ${keyPrefix})`);

  const gatewayEnv: NodeJS.ProcessEnv = { ...process.env, FEATUREGRAPH_PRODUCTION: 'true', FEATUREGRAPH_HOST: '127.0.0.1' };
  // Nothing from the caller's shell may pick another store or config than the one loaded above.
  delete gatewayEnv.FEATUREGRAPH_CONFIG;
  delete gatewayEnv.FEATUREGRAPH_REDIS_CLUSTER_NODES;
  delete gatewayEnv.FEATUREGRAPH_REDIS_URL;
  delete gatewayEnv.FEATUREGRAPH_REPO;
  // Telemetry is what each variant says it is (telemetryEnv), never the caller's shell's.
  for (const name of Object.keys(gatewayEnv)) if (name.startsWith('OTEL_')) delete gatewayEnv[name];
  const configArgs: string[] = [];
  // One per run: .cache may be shared by several checkouts, whose benches would read each other's Redis.
  const configFile = join(benchCacheDir, `online-gateway-${process.pid}.json`);
  if (storeTimeoutMs === undefined) {
    gatewayEnv.FEATUREGRAPH_REDIS_URL = redisUrl;
  } else {
    // The environment can only name the store's URL; tuning it takes a config file.
    mkdirSync(benchCacheDir, { recursive: true });
    writeFileSync(configFile, JSON.stringify({ onlineStore: { type: 'redis', url: redisUrl, keyPrefix, commandTimeoutMs: storeTimeoutMs } }, null, 2));
    configArgs.push('--config', configFile);
  }
  if (profile) mkdirSync(profileDir, { recursive: true });
  /** featuregraph serve, or the gateway of --served-log's variants (serve's, with or without a served log). */
  const entry = (variant: GatewayVariant) =>
    variant === 'gateway-unlogged' || variant === 'gateway-logged'
      ? ['--import', 'tsx', join(root, 'bench', 'online', 'served-log-gateway.ts'), ...(variant === 'gateway-logged' ? ['--served-log-rate', String(servedLogRate)] : [])]
      : [join(root, 'bin', 'featuregraph.mjs'), 'serve'];
  const gatewayArgs = (variant: GatewayVariant) => [
    ...(profile && variant === profiled ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    // Bounds the gateway's shutdown, so that the profile gets written and no server outlives the bench.
    '--import',
    pathToFileURL(join(root, 'bench', 'online', 'exit-after-signal.mjs')).href,
    ...entry(variant),
    '--repo',
    'bench/online/repo',
    '--port',
    '0',
    ...configArgs,
  ];

  const started: Server[] = [];
  let gatewayPid: number | undefined;
  // When the gateway was spawned and when load first reached it, to tell top.ts to skip its start-up.
  let gatewaySpawnedAt = 0;
  let gatewayLoadedAt: number | undefined;
  try {
    // Started one after the other: both compile TypeScript at start, and the machine has few cores.
    const raw = await startServer('raw', ['--import', 'tsx', join(root, 'bench', 'online', 'raw-server.ts'), '--redis', redisUrl, '--prefix', keyPrefix, '--port', '0'], process.env, root);
    started.push(raw);
    const servers: Partial<Record<Variant, Server>> = { raw };
    for (const variant of gatewayVariants) {
      if (variant === profiled) gatewaySpawnedAt = performance.now();
      const gateway = await startServer(variant, gatewayArgs(variant), { ...gatewayEnv, ...telemetryEnv(variant, jaeger?.otlpHttp ?? null) }, root);
      started.push(gateway);
      servers[variant] = gateway;
      if (variant === profiled) gatewayPid = gateway.child.pid;
    }
    log(`raw baseline at ${raw.host}:${raw.port}, ${gatewayVariants.map((v) => `${v} at ${servers[v]?.host}:${servers[v]?.port}`).join(', ')}${profile ? ` (CPU profiling ${profiled}: its numbers are lower than usual)` : ''}${jaeger ? `; traces to ${jaeger.otlpHttp}` : ''}`);

    const summaries: string[] = [];
    for (const name of selected) {
      const shape = shapes[name];
      const concurrency = concurrencyFlag ?? shape.defaultConcurrency;
      const prepared = await prepare(shape, variants, servers);
      log(`${name}: all servers give equal answers to all ${prepared.bodies.length} request bodies; measuring ${rounds} round(s) of ${variants.join(' then ')}, ${durationS} s each after ${warmupS} s of warm-up (later rounds ${Math.min(warmupS, 1)} s), concurrency ${concurrency}`);
      // store_timeout_ms null: the gateway ran with its own default.
      const common = { bench: 'online', shape: name, concurrency, duration_s: durationS, warmup_s: warmupS, ...info, profile, store_timeout_ms: storeTimeoutMs ?? null };
      const perVariant = Object.fromEntries(variants.map((v) => [v, [] as Measured[]])) as Record<Variant, Measured[]>;
      const together = Object.fromEntries(gatewayVariants.map((v) => [v, [] as Measured[]])) as Record<GatewayVariant, Measured[]>;
      /** With a comparison, a gateway's throughput over its baseline's. */
      const vsOff = (variant: Variant, rps: number, off: LoadResult | undefined) => (comparison && isGateway(variant) && off ? { vs_off: round3(rps / off.rps) } : {});
      for (let round = 1; round <= rounds; round++) {
        // Alternating the variants within each round spreads slow drifts of a shared machine over all.
        const results = {} as Record<Variant, LoadResult>;
        for (const variant of variants) {
          const server = servers[variant] as Server;
          const target: LoadTarget = { host: server.host, port: server.port, path: '/graphql', bodies: prepared.bodies, expectedLengths: prepared.expectedLengths[variant] };
          if (variant === profiled) gatewayLoadedAt ??= performance.now();
          // The server's code is warm after its first run of the shape; later runs only reopen connections.
          const warmupMs = (round === 1 ? warmupS : Math.min(warmupS, 1)) * 1000;
          const [{ result, cpuUs }] = (await measure([{ server, target }], { concurrency, warmupMs, durationMs: durationS * 1000 })) as [Measured];
          if (result.errors > 0) {
            log(`${name} ${variant} round ${round}: ${result.errors} failed requests (first: ${result.firstError})`);
            if (isGateway(variant) && storeTimeoutMs === undefined && /ONLINE_STORE_UNAVAILABLE/.test(result.firstError ?? '')) {
              log('  the gateway\'s store reads failed under this load (Redis was late by the gateway\'s timeout, or refused) and its breaker opened; ' +
                '--store-timeout-ms 1000 measures its throughput without that fail-fast limit');
            }
          }
          if (variant === 'gateway-traced') await new Promise((resolve) => setTimeout(resolve, traceSettleMs));
          results[variant] = result;
          perVariant[variant].push({ result, cpuUs });
          line({
            ...common,
            variant,
            round,
            warmup_s: warmupMs / 1000,
            rps: Math.round(result.rps * 10) / 10,
            p50_ms: round3(result.p50Ms),
            p99_ms: round3(result.p99Ms),
            ratio: round3(result.rps / results.raw.rps),
            ...vsOff(variant, result.rps, comparison ? results[comparison.baseline] : undefined),
            cpu_us_per_request: cpuUs === null ? null : Math.round(cpuUs),
            requests: result.requests,
            errors: result.errors,
          });
        }
        if (comparison) {
          // The compared gateways loaded at once: whatever else the machine does then falls on all of
          // them alike, and its scheduler shares the cores between them, so that their throughputs
          // compare as their costs per request do. The baseline of these lines is the comparison's.
          const all = gatewayVariants.map((variant) => ({ variant, server: servers[variant] as Server }));
          const measured = await measure(
            all.map(({ variant, server }) => ({ server, target: { host: server.host, port: server.port, path: '/graphql', bodies: prepared.bodies, expectedLengths: prepared.expectedLengths[variant] } })),
            { concurrency, warmupMs: Math.min(warmupS, 1) * 1000, durationMs: durationS * 1000 },
          );
          const off = (measured[gatewayVariants.indexOf(comparison.baseline)] as Measured).result;
          measured.forEach(({ result, cpuUs }, i) => {
            const variant = (all[i] as { variant: GatewayVariant }).variant;
            together[variant].push({ result, cpuUs });
            if (result.errors > 0) log(`${name} ${variant} together, round ${round}: ${result.errors} failed requests (first: ${result.firstError})`);
            line({ ...common, variant, round, together: true, baseline: comparison.baseline, rps: Math.round(result.rps * 10) / 10, p50_ms: round3(result.p50Ms), p99_ms: round3(result.p99Ms), ratio: round3(result.rps / off.rps), cpu_us_per_request: cpuUs === null ? null : Math.round(cpuUs), requests: result.requests, errors: result.errors });
          });
          if (telemetry) await new Promise((resolve) => setTimeout(resolve, traceSettleMs));
        }
      }
      const durationMs = durationS * 1000;
      const pooled = Object.fromEntries(variants.map((v) => [v, pool(perVariant[v], durationMs)])) as Record<Variant, Pooled>;
      const off = comparison ? pooled[comparison.baseline] : undefined;
      /** With a comparison, a gateway's throughput and CPU per request over its baseline's. */
      const againstOff = (variant: Variant, own: Pooled, base: Pooled | undefined): { vs_off?: number; cpu_vs_off?: number } =>
        comparison && isGateway(variant) && base ? { vs_off: round3(own.result.rps / base.result.rps), ...(own.cpuUs !== null && base.cpuUs !== null ? { cpu_vs_off: round3(own.cpuUs / base.cpuUs) } : {}) } : {};
      const fields = ({ result, cpuUs }: Pooled) => ({ rps: Math.round(result.rps * 10) / 10, p50_ms: round3(result.p50Ms), p99_ms: round3(result.p99Ms), cpu_us_per_request: cpuUs === null ? null : Math.round(cpuUs), requests: result.requests, errors: result.errors });
      if (rounds > 1) {
        for (const variant of variants) line({ ...common, variant, round: 'all', ...fields(pooled[variant]), ratio: round3(pooled[variant].result.rps / pooled.raw.result.rps), ...againstOff(variant, pooled[variant], off) });
      }
      for (const variant of gatewayVariants) {
        const g = pooled[variant].result;
        const raw = pooled.raw.result;
        const ratios = perVariant[variant].map((r, i) => (r.result.rps / (perVariant.raw[i] as Measured).result.rps).toFixed(2)).join(', ');
        const versus = againstOff(variant, pooled[variant], off);
        const offText = comparison && versus.vs_off !== undefined && variant !== comparison.baseline ? `, ${versus.vs_off.toFixed(3)} of ${comparison.label} rps, ${versus.cpu_vs_off?.toFixed(3) ?? 'unknown'} of its CPU per request` : '';
        summaries.push(`${name.padEnd(6)} ${variant}/raw = ${(g.rps / raw.rps).toFixed(2)}${offText} (${Math.round(g.rps)} vs ${Math.round(raw.rps)} rps; p50 ${g.p50Ms.toFixed(2)} vs ${raw.p50Ms.toFixed(2)} ms, p99 ${g.p99Ms.toFixed(2)} vs ${raw.p99Ms.toFixed(2)} ms; per round ${ratios})`);
      }
      if (comparison) {
        const alike = Object.fromEntries(gatewayVariants.map((v) => [v, pool(together[v], durationMs)])) as Record<GatewayVariant, Pooled>;
        const base = alike[comparison.baseline];
        for (const variant of gatewayVariants) {
          const own = alike[variant];
          line({ ...common, variant, round: 'all', together: true, baseline: comparison.baseline, ...fields(own), ratio: round3(own.result.rps / base.result.rps), ...(own.cpuUs !== null && base.cpuUs !== null ? { cpu_vs_off: round3(own.cpuUs / base.cpuUs) } : {}) });
        }
        summaries.push(
          `${name.padEnd(6)} together, of ${comparison.label} rps (CPU per request): ${gatewayVariants
            .filter((v) => v !== comparison.baseline)
            .map((v) => `${v} ${(alike[v].result.rps / base.result.rps).toFixed(3)} (${alike[v].cpuUs !== null && base.cpuUs !== null ? (alike[v].cpuUs / base.cpuUs).toFixed(3) : 'unknown'})`)
            .join(', ')}`,
        );
      }
    }
    for (const summary of summaries) log(summary);
  } finally {
    rmSync(configFile, { force: true });
    await Promise.all(started.map((server) => stopServer(server, log)));
    killChildren();
    for (const server of started) {
      if (server.tail().includes('bench: the gateway was still running')) log(`note: the ${server.name} server did not exit by itself on SIGTERM; the bench ended it with process.exit`);
    }
  }

  if (profile) {
    // Node writes one profile per thread when the gateway exits, named CPU.<date>.<time>.<pid>.<thread>.<seq>:
    // thread 0 is the main thread that serves requests (the other is the TypeScript loader's thread).
    const pid = gatewayPid;
    const written = readdirSync(profileDir)
      .filter((f) => f.endsWith('.cpuprofile') && pid !== undefined && f.includes(`.${pid}.`))
      .sort((a, b) => Number(b.includes(`.${pid}.0.`)) - Number(a.includes(`.${pid}.0.`)))
      .map((f) => join(profileDir, f));
    const since = gatewayLoadedAt === undefined ? 0 : Math.floor(gatewayLoadedAt - gatewaySpawnedAt);
    if (written[0]) log(`gateway CPU profile: ${written[0]}\n  top functions: node --import tsx bench/online/top.ts ${written[0]} --since-ms ${since}`);
    else log(`no CPU profile of the gateway was written to ${profileDir} (did it exit cleanly?)`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof UsageError) log(`${error.message}\n\n${help}`);
    else log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    killChildren();
    process.exit(1);
  },
);
