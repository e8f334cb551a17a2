// The worst requests the guards accept, and how long they hold the server:
//
//   npm run bench:guards -- [--runs N] [--limit COST] [--shape TEXT] [--unlimited]
//
// An in-process gateway over the food-delivery repo (memory stores, 1,000 restaurants with values in
// every view and a day of orders, the same data in the memory history store), once with the fast path
// and once without. For each request shape the bench scales the request to the largest one the cost
// limit accepts (checked: the guard must accept it), sends it `--runs` times to each gateway, and
// measures the time to the answer and the longest the event loop was held meanwhile (what /healthz
// would have waited). One JSON line per shape and path on stdout (`ratio`: the fast-path gateway's CPU
// time for the same request over this line's). `--unlimited` also sends the issue's request shapes to
// gateways without a cost limit (a minute or more on the Apollo path: the "before").
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { startFixture, T0, type Fixture } from '../../test/e2e/fixture.js';
import { createGateway, type Gateway } from '../../gateway/server.js';
import { loadConfig } from '../../gateway/config.js';
import type { OperationRequest } from '../../gateway/request-guard.js';

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '3' }, limit: { type: 'string' }, shape: { type: 'string' }, unlimited: { type: 'boolean', default: false } } });
const runs = Number(flags.runs);
const MIN = 60_000;
const entities = 1000;
const ids = Array.from({ length: entities }, (_, i) => `r${i + 1}`);

function log(message: string): void {
  process.stderr.write(`[bench:guards] ${message}\n`);
}

async function seed(f: Fixture): Promise<void> {
  for (const id of ids) {
    f.rows.restaurants.upsert({ key: id, eventTime: T0 - 3 * MIN, values: { isOpen: true, menuSize: 40, cuisineTags: ['thai', 'noodles', 'soup'] } });
    f.rows.restaurant_prep_stats.upsert({ key: id, eventTime: T0 - 30 * MIN, values: { AVG_PREP_SECONDS_7D: 600 } });
  }
  await f.refreshRows();
  // 24 orders per restaurant over the last 22 hours, so that every window has tiles to combine.
  const orders = ids.flatMap((id, r) =>
    Array.from({ length: 24 }, (_, k) => ({ key: id, value: JSON.stringify({ orderId: `o${r}-${k}`, restaurantId: id, userId: `u${k}`, createdAt: new Date(T0 - (k * 55 + (r % 50)) * MIN).toISOString(), totalPrice: 10 + k, cuisine: 'thai' }) })),
  );
  await f.stream.produce('orders', orders);
  // The last order of the last restaurant materialized: its 24-hour revenue is the sum of all 24.
  const last = ids[ids.length - 1] as string;
  for (;;) {
    const { body } = await f.query<{ restaurant: { revenueLast24h: number | null } }>(`{ restaurant(restaurantId: "${last}") { revenueLast24h } }`);
    if (body.data?.restaurant.revenueLast24h === 24 * 10 + (23 * 24) / 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Body = OperationRequest | OperationRequest[];

interface Shape {
  name: string;
  /** The request with `n` repetitions (aliases, characters, operations...). */
  build(n: number): Body;
  /** Largest n to try. */
  maxN: number;
}

const aliases = (n: number, field: string) => Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ');
const stored = 'restaurantId ordersLast30m revenueLast24h avgPrepSeconds7d isOpen menuSize cuisineTags';
const meta = `featureMeta { ${['ordersLast30m', 'revenueLast24h', 'avgPrepSeconds7d', 'isOpen', 'menuSize', 'cuisineTags'].map((f) => `${f} { status eventTime availableTime ageMs value }`).join(' ')} }`;
const asOf = new Date(T0 - 10 * MIN).toISOString();
const rows = ids.map((id) => ({ restaurantId: id, asOf, inputs: { etaMinutes: { distanceKm: 3 } } }));

const shapes: Shape[] = [
  { name: 'stored features, aliases of 1,000 ids', maxN: 30, build: (n) => ({ query: `query($ids: [ID!]!) { ${aliases(n, `restaurants(restaurantIds: $ids) { ${stored} }`)} }`, variables: { ids } }) },
  { name: 'windowed features, aliases of 1,000 ids', maxN: 30, build: (n) => ({ query: `query($ids: [ID!]!) { ${aliases(n, 'restaurants(restaurantIds: $ids) { ordersLast30m revenueLast24h }')} }`, variables: { ids } }) },
  { name: 'request-time etaMinutes, aliases of 1,000 ids', maxN: 30, build: (n) => ({ query: `query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { ${aliases(n, 'etaMinutes(distanceKm: 3)')} } }`, variables: { ids } }) },
  { name: 'queryMatch over a long search text, 1,000 ids', maxN: 2_000_000, build: (n) => ({ query: 'query($ids: [ID!]!, $q: String!) { restaurants(restaurantIds: $ids) { queryMatch(query: $q) } }', variables: { ids, q: 'thai noodle soup '.repeat(Math.ceil(n / 17)).slice(0, n) } }) },
  { name: 'featureMeta of 1,000 ids', maxN: 30, build: (n) => ({ query: `query($ids: [ID!]!) { ${aliases(n, `restaurants(restaurantIds: $ids) { ${meta} }`)} }`, variables: { ids } }) },
  { name: 'batch of 10 operations, stored features', maxN: entities, build: (n) => Array.from({ length: 10 }, () => ({ query: `query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { ${stored} } }`, variables: { ids: ids.slice(0, n) } })) },
  { name: '_entities of 1,000 representations', maxN: 30, build: (n) => ({ query: `query($r: [_Any!]!) { ${aliases(n, `_entities(representations: $r) { ... on Restaurant { ${stored} } }`)} }`, variables: { r: ids.map((restaurantId) => ({ __typename: 'Restaurant', restaurantId })) } }) },
  { name: 'training set of 1,000 rows', maxN: 30, build: (n) => ({ query: `query($rows: [RestaurantAsOfInput!]!) { ${aliases(n, `restaurantTrainingSet(rows: $rows) { ${stored} etaMinutes(distanceKm: 1) }`)} }`, variables: { rows } }) },
  { name: 'catalog search over a long text', maxN: 2_000_000, build: (n) => ({ query: 'query($s: String) { featureCatalog(search: $s) { id owner description } }', variables: { s: 'orders '.repeat(Math.ceil(n / 7)).slice(0, n) } }) },
  { name: 'nested introspection, aliases', maxN: 30, build: (n) => ({ query: `{ ${aliases(n, '__schema { types { name fields { name args { name } type { name fields { name type { name } } } } } }')} }` }) },
];

/** The largest n the guard accepts, by bisection over n (costs grow with n). */
function largestAccepted(gateway: Gateway, shape: Shape, limit: number): { n: number; cost: number } | null {
  const costOf = (n: number) => gateway.guard.costOf(([] as OperationRequest[]).concat(shape.build(n)));
  if (costOf(1) > limit) return null;
  let low = 1;
  let high = shape.maxN;
  if (costOf(high) <= limit) return { n: high, cost: costOf(high) };
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (costOf(mid) <= limit) low = mid;
    else high = mid;
  }
  return { n: low, cost: costOf(low) };
}

/**
 * One request: wall time to the whole answer, CPU time of this process meanwhile (server and client
 * share it; on a loaded machine CPU time is the steadier figure), and the longest event-loop delay.
 */
async function measure(url: string, body: Body): Promise<{ ms: number; cpuMs: number; loopMs: number; status: number; bytes: number; errors: number }> {
  const payload = JSON.stringify(body);
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
  const text = await response.text();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  histogram.disable();
  const parsed = JSON.parse(text) as { errors?: unknown[] } | { errors?: unknown[] }[];
  const errors = ([] as { errors?: unknown[] }[]).concat(parsed).reduce((n, r) => n + (r.errors?.length ?? 0), 0);
  return { ms, cpuMs: (used.user + used.system) / 1000, loopMs: histogram.max / 1e6, status: response.status, bytes: text.length, errors };
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))] as number;

async function main(): Promise<void> {
  const f = await startFixture(flags.limit ? { config: { limits: { maxCost: Number(flags.limit) } } } : {});
  log('seeding 1,000 restaurants and 24,000 orders');
  await seed(f);
  const config = loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1', ...(flags.limit ? { limits: { maxCost: Number(flags.limit) } } : {}) } });
  const plain = await createGateway({ config, registry: f.registry, store: f.store, history: f.history ?? undefined, now: () => f.clock.now, fastPath: false });
  const plainUrl = await plain.listen();
  const limit = config.limits.maxCost;
  const machine = { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', load_1m: Math.round((loadavg()[0] ?? 0) * 10) / 10 };
  try {
    for (const shape of shapes.filter((s) => !flags.shape || s.name.includes(flags.shape))) {
      const accepted = largestAccepted(f.gateway, shape, limit);
      if (!accepted) {
        log(`${shape.name}: even the smallest request is over the limit`);
        continue;
      }
      const body = shape.build(accepted.n);
      let baselineCpuMs = 0;
      for (const [path, url] of [['fast path', f.url], ['apollo', plainUrl]] as const) {
        const before = f.gateway.fastPath?.stats.answered ?? 0;
        const results = [];
        for (let i = 0; i < runs; i++) results.push(await measure(url, body));
        const answeredBy = path === 'fast path' && (f.gateway.fastPath?.stats.answered ?? 0) > before ? 'fast path' : 'apollo';
        const cpuMs = percentile(results.map((r) => r.cpuMs), 0.5);
        if (path === 'fast path') baselineCpuMs = cpuMs;
        const line = {
          bench: 'guards',
          variant: shape.name,
          path,
          answered_by: answeredBy,
          n: accepted.n,
          cost: Math.ceil(accepted.cost),
          limit,
          status: results[0]?.status,
          errors: results[0]?.errors,
          response_bytes: results[0]?.bytes,
          p50_ms: Math.round(percentile(results.map((r) => r.ms), 0.5)),
          max_ms: Math.round(Math.max(...results.map((r) => r.ms))),
          cpu_p50_ms: Math.round(cpuMs),
          loop_block_max_ms: Math.round(Math.max(...results.map((r) => r.loopMs))),
          cpu_us_per_cost: Math.round(((cpuMs * 1000) / accepted.cost) * 100) / 100,
          ratio: Math.round((baselineCpuMs / cpuMs) * 100) / 100,
          runs,
          ...machine,
        };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      }
    }
    if (flags.unlimited) {
      const open = loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1', limits: { maxCost: Number.MAX_SAFE_INTEGER } } });
      const before = await Promise.all([true, false].map((fastPath) => createGateway({ config: open, registry: f.registry, store: f.store, history: f.history ?? undefined, now: () => f.clock.now, fastPath })));
      try {
        const urls = await Promise.all(before.map((g) => g.listen()));
        const query = `query($ids: [ID!]!) { ${aliases(29, 'restaurants(restaurantIds: $ids) { isOpen }')} }`;
        const issue = [
          { variant: "the issue's operation (29 aliases x 1,000 ids), no cost limit", body: { query, variables: { ids } } },
          { variant: "the issue's batch (10 x 29 aliases x 1,000 ids), no cost limit", body: Array.from({ length: 10 }, () => ({ query, variables: { ids } })) },
        ];
        for (const { variant, body } of issue) {
          for (const [i, url] of urls.entries()) {
            const result = await measure(url, body);
            process.stdout.write(`${JSON.stringify({ bench: 'guards', variant, path: i === 0 ? 'fast path' : 'apollo', cost: Math.ceil(f.gateway.guard.costOf(([] as OperationRequest[]).concat(body))), limit: null, status: result.status, p50_ms: Math.round(result.ms), max_ms: Math.round(result.ms), cpu_p50_ms: Math.round(result.cpuMs), loop_block_max_ms: Math.round(result.loopMs), runs: 1, ...machine })}\n`);
          }
        }
      } finally {
        await Promise.all(before.map((g) => g.close()));
      }
    }
  } finally {
    await plain.close();
    await f.close();
  }
}

await main();
