// History when gateways and materializers run as separate processes (issue 14, item 5): `featuregraph
// materialize` and `featuregraph serve` started by the CLI, as a user would, on Kafka (a stream view),
// MongoDB (a collection view) and Redis, once with embedded history (both on one file; the owner is
// stopped and restarted in the middle, in both start orders) and once with Snowflake history. While
// events flow, online answers are recorded (with featureMeta: the instant of an answer is eventTime +
// ageMs); then SERVED asOf those instants, through the GraphQL training set, POST /training-set and
// `featuregraph training-set`, must give the same values and statuses. A view nothing materialized
// into the store answers AS_OF_UNAVAILABLE, never MISSING.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Partitioners, type Producer } from 'kafkajs';
import { MongoClient, type Collection } from 'mongodb';
import { changesByKey, pointInTimeReads } from '../../adapters/history/point-in-time.js';
import type { HistoryRecord } from '../../adapters/history/types.js';
import { loadFeatureRepo } from '../../schema/load.js';
import type { ResolvedFeature, ResolvedView } from '../../schema/registry.js';
import { loadConfig } from '../../gateway/config.js';
import { openHistoryStore } from '../../gateway/history.js';
import { requireEndpoint } from '../services/endpoints.js';
import { connectSnowflake, destroySnowflake, executeSql } from '../services/snowflake.js';
import { createTopic, deleteTopics, kafkaClient } from '../fixtures/stream.js';
import { readParquet } from '../fixtures/parquet.js';

const root = resolve('.');
const bin = join(root, 'bin/featuregraph.mjs');
const features = ['orders1m', 'revenue1m', 'rating', 'isOpen'] as const;
type Feature = (typeof features)[number];
const streamShops = ['s1', 's2', 's3', 's4'];
const docShops = ['s1', 's2', 's3', 's5'];
const shops = ['s1', 's2', 's3', 's4', 's5', 's6'];

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** A featuregraph command as a child process, its stderr and stdout kept line by line. */
class Cli {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private done = false;

  constructor(
    readonly name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, [bin, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    const onData = (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts.filter((line) => line.trim() !== ''));
    };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    this.exited = new Promise((done) =>
      this.child.once('exit', (code) => {
        this.done = true;
        done(code);
      }),
    );
    cleanups.push(() => this.stop('SIGKILL'));
  }

  /** The first line matching `pattern` (from line `after` on), once logged; the deadline only guards against a hang. */
  async waitFor(pattern: RegExp, timeoutMs = 90_000, after = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.lines.slice(after)) {
        const match = pattern.exec(line);
        if (match) return match;
      }
      if (this.done) throw new Error(`${this.name} exited before logging ${pattern}:\n${this.lines.slice(-30).join('\n')}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not log ${pattern}:\n${this.lines.slice(-30).join('\n')}`);
      await sleep(50);
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.done) this.child.kill(signal);
    return this.exited;
  }
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

interface Read {
  value: unknown;
  status: string;
}

/** One online answer: its instant, and each shop's features (value and status). */
interface Observation {
  at: number;
  reads: Map<string, Record<Feature, Read>>;
}

type Meta = Record<Feature, { status: string; eventTime: string | null; ageMs: number | null; value: unknown }>;
type ShopAnswer = Record<Feature, unknown> & { shopId: string; featureMeta: Meta };

const selection = `shopId ${features.join(' ')} featureMeta { ${features.map((f) => `${f} { status value eventTime ageMs }`).join(' ')} }`;

async function graphql<T>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: T; errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[] }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as never;
}

/** Asks the gateway for every shop now; null when no value says at which instant it answered. */
async function observe(url: string): Promise<Observation | null> {
  const { data, errors } = await graphql<{ shops: ShopAnswer[] }>(url, `query($ids: [ID!]!) { shops(shopIds: $ids) { ${selection} } }`, { ids: shops });
  // A read the online store did not answer in time (the machine is shared) is no online answer.
  if (errors !== undefined && errors.every((e) => e.extensions?.code === 'ONLINE_STORE_TIMEOUT')) return null;
  assert.equal(errors, undefined, JSON.stringify(errors));
  const instants = new Set<number>();
  const reads = new Map<string, Record<Feature, Read>>();
  for (const shop of data?.shops ?? []) {
    const byFeature = {} as Record<Feature, Read>;
    for (const feature of features) {
      const meta = shop.featureMeta[feature];
      byFeature[feature] = { value: shop[feature], status: meta.status };
      // ageMs is now - eventTime, floored at 0 (an event stamped ahead of the clock): only a positive one gives now.
      if (meta.eventTime !== null && meta.ageMs !== null && meta.ageMs > 0) instants.add(Date.parse(meta.eventTime) + meta.ageMs);
    }
    reads.set(shop.shopId, byFeature);
  }
  assert.ok(instants.size <= 1, `one response, one instant: ${[...instants].join(', ')}`);
  const [at] = instants;
  return at === undefined ? null : { at, reads };
}

function featureRepo(dir: string, u: string): void {
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
  writeFileSync(
    join(dir, 'shops.ts'),
    `import { column, count, entity, featureView, kafkaTopic, mongoCollection, sum } from '${join(root, 'index.ts')}';
export const shop = entity({ name: 'Shop', key: 'shopId', description: 'a shop (two-process history test)' });
export const orders = featureView({
  name: 'tp_orders_${u}', entity: shop, owner: 'tests', description: 'orders of a shop, from Kafka',
  source: kafkaTopic({ name: 'orders', topic: 'fg-two-process-${u}', keyField: 'shopId', eventTimeField: 'at', fields: { shopId: 'string', at: 'timestamp', amount: 'number' } }),
  features: { orders1m: count({ window: '1m' }), revenue1m: sum({ field: 'amount', window: '1m' }) },
  freshness: '30s', ttl: '1h',
});
export const profile = featureView({
  name: 'tp_profile_${u}', entity: shop, owner: 'tests', description: 'a shop document, from MongoDB',
  source: mongoCollection({ name: 'profiles', collection: 'profiles_${u}', keyField: 'shopId', updatedAtField: 'updatedAt' }),
  features: { rating: column({ type: 'Float' }), isOpen: column({ type: 'Boolean' }) },
  freshness: '3s', ttl: '1h',
});
// Nothing is ever written to its collection: asOf reads of it must say the history holds nothing of it.
export const loyalty = featureView({
  name: 'tp_loyalty_${u}', entity: shop, owner: 'tests', description: 'never materialized',
  source: mongoCollection({ name: 'loyalty', collection: 'loyalty_${u}', keyField: 'shopId', updatedAtField: 'updatedAt' }),
  features: { points: column({ type: 'Int' }) },
  freshness: '1m', ttl: '1h',
});
`,
  );
}

interface Run {
  u: string;
  dir: string;
  config: string;
  env: NodeJS.ProcessEnv;
  loyaltyView: string;
  /** Starts producing events and updating documents until stopped. */
  traffic(): { stop(): Promise<void>; events: number };
}

async function setUp(label: string, history: (u: string, dir: string) => Promise<Record<string, unknown>>): Promise<Run> {
  const u = randomUUID().replaceAll('-', '').slice(0, 10);
  const dir = mkdtempSync(join(tmpdir(), `fg-two-process-${label}-`));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  featureRepo(repo, u);
  const { brokers } = requireEndpoint('kafka');
  const { url: redisUrl } = requireEndpoint('redis');
  const { url: mongoUrl } = requireEndpoint('mongodb');
  const topic = `fg-two-process-${u}`;
  const kafka = kafkaClient(brokers, `two-process-${u}`);
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  cleanups.push(() => deleteTopics(admin, [topic, `${topic}.dead-letter`]));
  await createTopic(admin, topic);
  const mongo = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 5000 });
  cleanups.push(() => mongo.close());
  const database = `fg_two_process_${u}`;
  cleanups.push(() => mongo.db(database).dropDatabase());
  const profiles: Collection = mongo.db(database).collection(`profiles_${u}`);
  const config = join(dir, 'featuregraph.json');
  writeFileSync(
    config,
    JSON.stringify({
      repo,
      onlineStore: { type: 'redis', url: redisUrl, keyPrefix: `fg-test:two-process:${u}:`, commandTimeoutMs: 1000 },
      kafka: { brokers },
      sources: { document: { type: 'mongodb', url: mongoUrl, database } },
      history: await history(u, dir),
      // Documents are re-read 1 s before the watermark, not 5 minutes: the overlap only costs time here.
      scheduler: { overlapMs: 1000 },
      materializer: { groupId: `fg-two-process-${u}`, progressEveryMs: 2000 },
    }),
  );
  // Only our variables: FEATUREGRAPH_REDIS_URL and friends from the caller's shell would override the file.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, FEATUREGRAPH_SNOWFLAKE_PASSWORD: 'fg' };
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  return {
    u,
    dir,
    config,
    env,
    loyaltyView: `tp_loyalty_${u}`,
    traffic() {
      let stopped = false;
      let n = 0;
      const state = { events: 0 };
      const loop = (async () => {
        while (!stopped) {
          n++;
          const shop = streamShops[n % streamShops.length] as string;
          await producer.send({ topic, messages: [{ key: shop, value: JSON.stringify({ shopId: shop, at: new Date().toISOString(), amount: (n % 37) / 4 }) }] });
          state.events++;
          if (n % 5 === 0) {
            const doc = docShops[(n / 5) % docShops.length] as string;
            await profiles.updateOne({ shopId: doc }, { $set: { shopId: doc, updatedAt: new Date(), rating: (n % 20) / 4, isOpen: n % 3 !== 0 } }, { upsert: true });
          }
          await sleep(120);
        }
      })();
      return {
        get events() {
          return state.events;
        },
        async stop() {
          stopped = true;
          await loop;
        },
      };
    },
  };
}


const iso = (ms: number) => new Date(ms).toISOString();

function materialize(run: Run, name: string): Cli {
  return new Cli(name, ['materialize', '--config', run.config], run.env);
}

function serve(run: Run, name: string): Cli {
  return new Cli(name, ['serve', '--config', run.config, '--port', '0'], { ...run.env, PORT: '' });
}

async function gatewayUrl(gateway: Cli): Promise<string> {
  return (await gateway.waitFor(/serving .* at (http:\/\/\S+)/))[1] as string;
}

/** Records online answers until `count` more of them carry their instant. */
async function record(url: string, observations: Observation[], count: number): Promise<void> {
  const target = observations.length + count;
  const deadline = Date.now() + 120_000;
  while (observations.length < target) {
    if (Date.now() > deadline) throw new Error(`only ${observations.length} of ${target} online answers carried their instant`);
    const observation = await observe(url);
    if (observation !== null) observations.push(observation);
    await sleep(150);
  }
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What a Parquet column holds for an online read: null where the read was MISSING or EXPIRED. */
const exported = (read: Read) => (read.status === 'MISSING' || read.status === 'EXPIRED' ? null : read.value);

function rowsOf(observations: readonly Observation[]): { shopId: string; asOf: string; observation: Observation }[] {
  return observations.flatMap((observation) => shops.map((shopId) => ({ shopId, asOf: iso(observation.at), observation })));
}

/** A place where a SERVED read and the online answer it should equal disagree. */
interface Difference {
  via: string;
  shopId: string;
  at: number;
  feature: Feature;
  online: Read;
  served: unknown;
}

const describeDifference = (d: Difference) => `${d.via}: ${d.shopId} ${d.feature} at ${iso(d.at)}: online ${JSON.stringify(d.online)}, SERVED ${JSON.stringify(d.served)}`;

/** SERVED asOf each instant through the GraphQL training set, against the online answers. */
async function servedByGraphql(url: string, observations: readonly Observation[]): Promise<Difference[]> {
  const rows = rowsOf(observations);
  const differences: Difference[] = [];
  for (let start = 0; start < rows.length; start += 1000) {
    const chunk = rows.slice(start, start + 1000);
    const { data, errors } = await graphql<{ shopTrainingSet: ShopAnswer[] }>(url, `query($rows: [ShopAsOfInput!]!) { shopTrainingSet(rows: $rows, mode: SERVED) { ${selection} } }`, { rows: chunk.map(({ shopId, asOf }) => ({ shopId, asOf })) });
    assert.equal(errors, undefined, JSON.stringify(errors));
    chunk.forEach((row, i) => {
      const got = data?.shopTrainingSet[i] as ShopAnswer;
      const online = row.observation.reads.get(row.shopId) as Record<Feature, Read>;
      for (const feature of features) {
        const served = { value: got[feature], status: got.featureMeta[feature].status };
        if (!sameValue(served, online[feature])) differences.push({ via: 'GraphQL training set', shopId: row.shopId, at: row.observation.at, feature, online: online[feature], served });
      }
    });
  }
  return differences;
}


/** A training-set file against the online answers. */
function parquetDifferences(via: string, got: readonly Record<string, unknown>[], observations: readonly Observation[]): Difference[] {
  const rows = rowsOf(observations);
  assert.equal(got.length, rows.length, via);
  const differences: Difference[] = [];
  rows.forEach((row, i) => {
    const line = got[i] as Record<string, unknown>;
    assert.equal(line.shopId, row.shopId, via);
    const online = row.observation.reads.get(row.shopId) as Record<Feature, Read>;
    for (const feature of features) {
      const value = typeof line[feature] === 'bigint' ? Number(line[feature]) : line[feature];
      if (!sameValue(value, exported(online[feature]))) differences.push({ via, shopId: row.shopId, at: row.observation.at, feature, online: online[feature], served: value });
    }
  });
  return differences;
}

async function servedByHttp(url: string, observations: readonly Observation[], dir: string): Promise<Difference[]> {
  const rows = rowsOf(observations).map(({ shopId, asOf }) => ({ shopId, asOf }));
  const response = await fetch(url.replace(/\/graphql$/, '/training-set'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features, mode: 'SERVED', rows }) });
  assert.equal(response.status, 200, await response.clone().text());
  const path = join(dir, `http-${randomUUID()}.parquet`);
  writeFileSync(path, Buffer.from(await response.arrayBuffer()));
  return parquetDifferences('POST /training-set', await readParquet(path), observations);
}

async function servedByCli(run: Run, observations: readonly Observation[]): Promise<Difference[]> {
  const input = join(run.dir, `rows-${randomUUID()}.csv`);
  writeFileSync(input, `shopId,asOf\n${rowsOf(observations).map((r) => `${r.shopId},${r.asOf}`).join('\n')}\n`);
  const out = join(run.dir, `cli-${randomUUID()}.parquet`);
  const cli = new Cli('training-set', ['training-set', '--config', run.config, '--entities', input, '--features', features.join(','), '--mode', 'SERVED', '--out', out], run.env);
  const code = await cli.exited;
  assert.equal(code, 0, cli.lines.join('\n'));
  return parquetDifferences('featuregraph training-set', await readParquet(out), observations);
}

/** The view nothing materialized: AS_OF_UNAVAILABLE on GraphQL (its field only), POST /training-set and the CLI. */
async function assertEmptyViewRefused(run: Run, url: string, storeName: string, at: number): Promise<void> {
  const message = `history store ${storeName} holds no change of view ${run.loyaltyView}: nothing has materialized or backfilled it into this store`;
  const { data, errors } = await graphql<{ shop: { orders1m: number | null; points: number | null } }>(url, `{ shop(shopId: "s1", asOf: "${iso(at)}", mode: SERVED) { orders1m points } }`);
  assert.equal(typeof data?.shop.orders1m, 'number', 'the other view answers');
  assert.equal(data?.shop.points, null);
  assert.deepEqual(errors?.map((e) => [e.path?.join('.'), e.extensions?.code, e.message]), [['shop.points', 'AS_OF_UNAVAILABLE', message]]);
  const response = await fetch(url.replace(/\/graphql$/, '/training-set'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: ['orders1m', 'points'], rows: [{ shopId: 's1', asOf: iso(at) }] }) });
  assert.equal(response.status, 503);
  assert.deepEqual(((await response.json()) as { errors: unknown[] }).errors, [{ message, extensions: { code: 'AS_OF_UNAVAILABLE' } }]);
  const input = join(run.dir, 'loyalty-rows.csv');
  writeFileSync(input, `shopId,asOf\ns1,${iso(at)}\n`);
  const cli = new Cli('training-set (empty view)', ['training-set', '--config', run.config, '--entities', input, '--features', 'points', '--out', join(run.dir, 'loyalty.parquet')], run.env);
  assert.equal(await cli.exited, 1, cli.lines.join('\n'));
  assert.ok(cli.lines.includes(`featuregraph training-set: ${message}`), cli.lines.join('\n'));
}

/**
 * How long before an answer's instant a change's stamp may be and still count as a write in flight:
 * the materializer stamps a change, then writes it to Redis; the gateway's read may reach Redis in
 * between, and its instant (when Redis answered) comes after the stamp. Never a change stamped after
 * the instant: whatever the read saw was stamped before Redis answered (resolvers/context.ts,
 * OnlineRead). Measured: 2-16 ms (18 of 1,200 comparisons, embedded history; none with Snowflake
 * history, since the online write no longer waits for the history append: it waited for fakesnow's
 * MERGE, up to 5.3 s). The bound leaves room for a loaded machine's event loop.
 */
const inFlightMs = 5_000;

/**
 * Whether the online answer of a view at `at` is what SERVED gives when changes stamped just before
 * `at` are left out (their online write had not landed when the gateway's read reached the store):
 * the known disagreement of a write in flight, as opposed to any other. Computed by the reference
 * (point-in-time.ts) over the key's changes as the history store holds them.
 */
function inFlight(view: ResolvedView, changes: readonly HistoryRecord[], at: number, online: Record<Feature, Read>): number | null {
  // Nearest first: the smallest explanation (a STALE value may equal SERVED at several cuts).
  const cuts = [...new Set(changes.filter((c) => c.availableTime <= at && at - c.availableTime <= inFlightMs).map((c) => c.availableTime - 1))].sort((a, b) => b - a);
  for (const cut of cuts) {
    const visible = changes.filter((c) => c.availableTime <= cut);
    const [reads] = pointInTimeReads({ features: view.features, mode: 'SERVED' }, [{ key: (changes[0] as HistoryRecord).key, asOf: at }], () => changesByKey(visible));
    if (reads?.every((read) => sameValue({ value: read.value, status: read.status }, online[read.feature as Feature]))) return cut;
  }
  return null;
}

/** Every way of reading SERVED asOf the recorded instants gives the online answers. */
async function assertServedEqualsOnline(t: TestContext, run: Run, url: string, observations: readonly Observation[]): Promise<void> {
  // The recording must have seen values of both views, in more than one status, or it proves little.
  const statuses = new Set(observations.flatMap((o) => [...o.reads.values()].flatMap((r) => features.map((f) => `${f}:${r[f].status}`))));
  // (Whether documents were ever fresh, or ever STALE, depends on how loaded the machine is: either will do.)
  for (const expected of ['orders1m:PRESENT', 'orders1m:MISSING', 'rating:MISSING']) assert.ok(statuses.has(expected), `the recording has ${expected}: ${[...statuses].join(', ')}`);
  assert.ok(statuses.has('rating:PRESENT') || statuses.has('rating:STALE'), `the recording has document values: ${[...statuses].join(', ')}`);
  t.diagnostic(`statuses seen online: ${[...statuses].sort().join(', ')}`);
  const differences = [...(await servedByGraphql(url, observations)), ...(await servedByHttp(url, observations, run.dir)), ...(await servedByCli(run, observations))];
  const registry = await loadFeatureRepo(join(run.dir, 'repo'));
  const history = await openHistoryStore(loadConfig({ file: run.config, env: run.env }).history, { env: run.env });
  const explained: string[] = [];
  const unexplained: string[] = [];
  const lags: number[] = [];
  try {
    const cache = new Map<string, number | null>();
    for (const d of differences) {
      const view = (registry.entity('Shop').features.get(d.feature) as ResolvedFeature).view;
      const id = `${view.name} ${d.shopId} ${d.at}`;
      if (!cache.has(id)) {
        const changes: HistoryRecord[] = [];
        for await (const page of history.scan({ view: view.name, keys: [d.shopId] })) changes.push(...page);
        const online = observations.find((o) => o.at === d.at)?.reads.get(d.shopId) as Record<Feature, Read>;
        cache.set(id, changes.length === 0 ? null : inFlight(view, changes, d.at, online));
      }
      const cut = cache.get(id) ?? null;
      if (cut === null) {
        // What a reader of the failure needs: where the key's changes were stamped around the instant.
        const near: string[] = [];
        for await (const page of history.scan({ view: view.name, keys: [d.shopId] })) for (const c of page) if (Math.abs(c.availableTime - d.at) <= 60_000) near.push(`${c.id} event ${c.eventTime - d.at} available ${c.availableTime - d.at}`);
        unexplained.push(`${describeDifference(d)}; changes stamped within a minute (ms from the instant): ${near.join('; ')}`);
      } else {
        lags.push(cut - d.at);
        explained.push(`${describeDifference(d)}; online equals SERVED with changes stamped up to ${iso(cut)} (${cut - d.at} ms from the answer's instant)`);
      }
    }
  } finally {
    await history.close();
  }
  lags.sort((a, b) => a - b);
  const views = new Set(differences.map((d) => (registry.entity('Shop').features.get(d.feature) as ResolvedFeature).view.name));
  t.diagnostic(`${rowsOf(observations).length} rows x ${features.length} features from ${observations.length} online answers, read back three ways; ${explained.length} differences from writes in flight (views ${[...views].join(', ')}; stamp minus instant ${lags[0]}..${lags.at(-1)} ms, median ${lags[Math.floor(lags.length / 2)]}), ${unexplained.length} others`);
  assert.deepEqual(unexplained.slice(0, 20), [], `${unexplained.length} differences between online answers and SERVED reads of their instants`);
}

test('embedded history: materialize and serve as two processes on one file, owner stopped and restarted in both orders; SERVED equals what was served', { timeout: 900_000 }, async (t) => {
  const run = await setUp('embedded', async (_u, dir) => ({ type: 'embedded', path: join(dir, 'history.duckdb') }));
  const traffic = run.traffic();
  const observations: Observation[] = [];
  try {
    // Materialize first: it owns the file; the gateway reads through it.
    const m1 = materialize(run, 'materialize #1');
    await m1.waitFor(new RegExp(`this process \\(pid ${m1.child.pid}\\) owns the file`));
    await m1.waitFor(/materializing tp_orders_/);
    const s1 = serve(run, 'serve #1');
    const url1 = await gatewayUrl(s1);
    await s1.waitFor(new RegExp(`owned by pid ${m1.child.pid}; this process \\(pid ${s1.child.pid}\\) reads and appends through`));
    await record(url1, observations, 15);

    // The owner stops; the gateway goes on serving (values age, documents turn STALE) and takes the
    // file over at its next history read.
    assert.equal(await m1.stop(), 0, m1.lines.join('\n'));
    await record(url1, observations, 5);
    // A history read through the gateway makes it take the file over (SERVED is compared in full at the end).
    await servedByGraphql(url1, observations);
    await s1.waitFor(new RegExp(`this process \\(pid ${s1.child.pid}\\) owns the file`));

    // A materializer started now joins the gateway's file.
    const m2 = materialize(run, 'materialize #2');
    await m2.waitFor(new RegExp(`owned by pid ${s1.child.pid}; this process \\(pid ${m2.child.pid}\\) reads and appends through`));
    await m2.waitFor(/materializing tp_orders_/);
    await record(url1, observations, 15);

    // The gateway, now the owner, stops: the materializer takes the file over at its next append, and
    // a new gateway reads through it.
    assert.equal(await s1.stop(), 0, s1.lines.join('\n'));
    await m2.waitFor(new RegExp(`this process \\(pid ${m2.child.pid}\\) owns the file`));
    const s2 = serve(run, 'serve #2');
    const url2 = await gatewayUrl(s2);
    await s2.waitFor(new RegExp(`owned by pid ${m2.child.pid}; this process \\(pid ${s2.child.pid}\\) reads and appends through`));
    await record(url2, observations, 15);
    await traffic.stop();
    await m2.waitFor(/, lag 0 \(/, 120_000, m2.lines.length);

    await assertServedEqualsOnline(t, run, url2, observations);
    await assertEmptyViewRefused(run, url2, 'embedded', (observations.at(-1) as Observation).at);
    assert.equal(await s2.stop(), 0);
    assert.equal(await m2.stop(), 0);
    for (const process of [m1, s1, m2, s2]) assert.ok(!process.lines.some((line) => /Could not set lock|^\s+at /.test(line)), `${process.name} logged a raw lock error or a stack:\n${process.lines.join('\n')}`);
  } finally {
    await traffic.stop();
  }
});

test('snowflake history: materialize and serve as two processes, the materializer restarted; SERVED equals what was served', { timeout: 900_000 }, async (t) => {
  const endpoint = requireEndpoint('snowflake');
  const database = 'FG_TWO_PROCESS';
  const schema = `RUN_${randomUUID().replaceAll('-', '').slice(0, 12).toUpperCase()}`;
  const admin = await connectSnowflake(endpoint);
  cleanups.push(() => destroySnowflake(admin));
  await executeSql(admin, `CREATE DATABASE IF NOT EXISTS ${database}`);
  await executeSql(admin, `CREATE SCHEMA IF NOT EXISTS ${database}.${schema}`);
  cleanups.push(() => executeSql(admin, `DROP SCHEMA IF EXISTS ${database}.${schema} CASCADE`));
  const run = await setUp('snowflake', async () => ({ type: 'snowflake', account: endpoint.account, user: 'fg', database, schema, host: endpoint.host, port: endpoint.port, protocol: endpoint.protocol, table: 'HISTORY' }));
  const traffic = run.traffic();
  const observations: Observation[] = [];
  try {
    const m1 = materialize(run, 'materialize #1');
    await m1.waitFor(/appending every materialized change to the snowflake history store \(table HISTORY\)/);
    await m1.waitFor(/materializing tp_orders_/);
    const s1 = serve(run, 'serve #1');
    const url = await gatewayUrl(s1);
    await record(url, observations, 15);
    // A restarted materializer replays what its group had not committed: appended again, stored once.
    assert.equal(await m1.stop(), 0, m1.lines.join('\n'));
    await record(url, observations, 5);
    const m2 = materialize(run, 'materialize #2');
    await m2.waitFor(/materializing tp_orders_/);
    await record(url, observations, 15);
    await traffic.stop();
    // Read the past once the materializer is through: lag 0 means every batch committed, and a batch
    // commits once its history is appended (a warehouse MERGE may still be running when traffic stops).
    await m2.waitFor(/, lag 0 \(/, 120_000, m2.lines.length);

    await assertServedEqualsOnline(t, run, url, observations);
    await assertEmptyViewRefused(run, url, 'snowflake', (observations.at(-1) as Observation).at);
    const [counts] = await executeSql(admin, `SELECT COUNT(*) AS N, COUNT(DISTINCT "VIEW" || '/' || "ID") AS D FROM ${database}.${schema}."HISTORY"`);
    const [total, distinct] = [counts?.N, counts?.D];
    assert.ok(Number(total) >= traffic.events, `every event is in the history (${total} records, ${traffic.events} events)`);
    assert.equal(Number(total), Number(distinct), 'no change stored twice');
    assert.equal(await s1.stop(), 0);
    assert.equal(await m2.stop(), 0);
  } finally {
    await traffic.stop();
  }
});

test('serve and materialize whose history store cannot be reached yet say so and wait for it, and stop on SIGTERM instead of hanging on their other connections', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-two-process-unreachable-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'repo'));
  featureRepo(join(dir, 'repo'), 'unreachable');
  const { url: redisUrl } = requireEndpoint('redis');
  const { brokers } = requireEndpoint('kafka');
  const config = join(dir, 'featuregraph.json');
  // Redis answers (its connection would keep a process alive); the history store's port is closed.
  // Not reachable is not fatal (test/integration/startup.test.ts: serve serves online reads, asOf reads
  // answer HISTORY_STORE_UNAVAILABLE; materialize waits before materializing): a missing secret is.
  writeFileSync(config, JSON.stringify({ repo: join(dir, 'repo'), onlineStore: { type: 'redis', url: redisUrl, keyPrefix: 'fg-test:unreachable:' }, kafka: { brokers }, history: { type: 'snowflake', account: 'fakesnow', user: 'fg', database: 'D', schema: 'S', host: '127.0.0.1', port: 1, protocol: 'http' } }));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, FEATUREGRAPH_SNOWFLAKE_PASSWORD: 'not-this-one' };
  for (const command of [['serve', '--port', '0'], ['materialize']]) {
    const cli = new Cli(command[0] as string, [...command, '--config', config], { ...env, PORT: '' });
    await cli.waitFor(/^\S+ waiting for history \(snowflake 127\.0\.0\.1:1, table FEATUREGRAPH_HISTORY\): snowflake history store "FEATUREGRAPH_HISTORY": open failed: cannot reach 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    if (command[0] === 'serve') await cli.waitFor(/serving .* at http/);
    const exited = await Promise.race([cli.stop('SIGTERM'), sleep(90_000).then(() => 'still running' as const)]);
    assert.equal(exited, 0, `${command[0]}: ${cli.lines.join('\n')}`);
    assert.ok(!cli.lines.some((line) => line.includes('not-this-one')));
  }
});
