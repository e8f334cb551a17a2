// What a failing online store costs the gateway: the same request (1,000 entities x 10 features by
// default) answered while the store is healthy, then while every read fails, on each serving path.
//
//   node --import tsx bench/online/outage.ts [--entities N] [--features N] [--concurrency N] [--duration S] [--warmup S]
//
// The gateway runs in this process over the services harness's Redis (test/services/up redis), behind
// a switch that makes reads fail as a stopped Redis makes them fail: at once, with a coded error. The
// load generator runs in this process too: absolute figures are lower than a separate process would
// give; the ratio (outage rps / healthy rps, same path, same run) is the number to compare. One JSON
// line per (path, state) on stdout. Reads get a 5 s timeout: a healthy read of 1,000 values on a busy
// machine must not turn into the failure this bench sets up on purpose.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { loadFeatureRepo } from '../../schema/load.js';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import { requireEndpoint } from '../../test/services/endpoints.js';
import { createGateway } from '../../gateway/server.js';
import { loadConfig } from '../../gateway/config.js';
import { FailingReadsStore } from '../../test/fixtures/failing-store.js';
import { runLoad } from './load.js';
import { allFeatures, entityKey, viewName } from './shapes.js';

const { values: flags } = parseArgs({
  options: {
    entities: { type: 'string', default: '1000' },
    features: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '4' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
  },
  strict: true,
});

function positive(name: string, raw: string, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`--${name} must be an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

const entities = positive('entities', flags.entities, 1000);
const featureCount = positive('features', flags.features, allFeatures.length);
const concurrency = positive('concurrency', flags.concurrency);
const durationMs = positive('duration', flags.duration) * 1000;
const warmupMs = Number(flags.warmup) * 1000;

const log = (message: string) => process.stderr.write(`[bench:outage-errors] ${message}\n`);

async function main(): Promise<void> {
  const registry = await loadFeatureRepo('bench/online/repo');
  const inner = new RedisOnlineStore({ mode: 'standalone', url: requireEndpoint('redis').url, keyPrefix: `bench-outage:${process.pid}:`, commandTimeoutMs: 5000 });
  await inner.connect();
  const now = Date.now();
  const ids = Array.from({ length: entities }, (_, i) => `i${i + 1}`);
  await inner.writeValues(ids.map((key) => ({ view: viewName, key, eventTime: now, availableTime: now, values: Object.fromEntries(allFeatures.map((f) => [f, Math.random() * 1000])), retentionMs: 3600_000 })));
  const store = new FailingReadsStore(inner);
  const query = `query Items($ids: [ID!]!) { items(itemIds: $ids) { ${entityKey} ${allFeatures.slice(0, featureCount).join(' ')} } }`;
  const body = Buffer.from(JSON.stringify({ query, variables: { ids } }));
  const git = spawnSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8' });
  const machine = { node: process.version, cpus: cpus().length, commit: git.status === 0 ? git.stdout.trim() : undefined };

  try {
    for (const fastPath of [true, false]) await measure(fastPath);
  } finally {
    await inner.delete(ids.map((key) => ({ view: viewName, key })));
    await inner.close();
  }

  async function measure(fastPath: boolean): Promise<void> {
    const variant = fastPath ? 'fast-path' : 'apollo';
    const config = loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1', production: true } });
    const gateway = await createGateway({ config, registry, store, fastPath });
    const url = new URL(await gateway.listen());
    let healthyRps = 0;
    try {
      for (const state of ['healthy', 'outage'] as const) {
        if (state === 'outage') store.fail('read: connect ECONNREFUSED');
        else store.heal();
        // One answer first: its size, its errors, and the length every answer under load must have.
        const started = performance.now();
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const text = await response.text();
        const singleMs = performance.now() - started;
        const parsed = JSON.parse(text) as { errors?: unknown[] };
        const reads = store.reads;
        for (let i = 0; i < 3; i++) await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).text();
        const readsPerRequest = (store.reads - reads) / 3;
        const result = await runLoad({ host: url.hostname, port: Number(url.port), path: url.pathname, bodies: [body], expectedLengths: [Buffer.byteLength(text)] }, { concurrency, warmupMs, durationMs });
        if (state === 'healthy') healthyRps = result.rps;
        const line = {
          bench: 'online-outage',
          variant,
          state,
          entities,
          features: featureCount,
          concurrency,
          duration_s: durationMs / 1000,
          ...machine,
          bytes: Buffer.byteLength(text),
          graphql_errors: parsed.errors?.length ?? 0,
          single_ms: Math.round(singleMs * 10) / 10,
          rps: Math.round(result.rps * 10) / 10,
          p50_ms: Math.round(result.p50Ms * 1000) / 1000,
          p99_ms: Math.round(result.p99Ms * 1000) / 1000,
          // Throughput during the outage over throughput while healthy, same path and run.
          ratio: Math.round((result.rps / healthyRps) * 1000) / 1000,
          errors: result.errors,
          store_reads_per_request: Math.round(readsPerRequest * 100) / 100,
        };
        process.stdout.write(`${JSON.stringify(line)}\n`);
        log(`${variant} ${state}: ${line.bytes} bytes, ${line.graphql_errors} GraphQL errors, one request alone ${line.single_ms} ms; ${line.rps} rps (ratio ${line.ratio}), p50 ${line.p50_ms} ms; ${line.store_reads_per_request} store reads per request`);
      }
    } finally {
      store.heal();
      await gateway.close();
    }
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
