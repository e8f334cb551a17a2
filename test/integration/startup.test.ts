// How `serve` and `materialize` start, wait, fail and report (issue 15, items 3 and 4), as a user runs
// them: child processes on unique ports, topics, key prefixes and temp dirs, never touching the shared
// services (an unreachable server is a free port; one "started later" is a TCP forwarder put on that
// port, in front of the shared one).
//   - What cannot work stops the start: one line naming the setting, exit 1, every connection closed
//     (the process really exits).
//   - What is not reachable yet is waited for with backoff, named in the log when its state changes
//     and in /readyz (503, each dependency's state and cause, never a secret); the process serves what
//     it can meanwhile, and carries on once it answers.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { Partitioners } from 'kafkajs';
import { loadFeatureRepo } from '../../schema/load.js';
import { readFeature } from '../../schema/snapshot.js';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import { EmbeddedSql } from '../../adapters/sources/embedded/index.js';
import { requireEndpoint } from '../services/endpoints.js';
import { testSchema } from '../services/snowflake.js';
import { createTopic, deleteTopics, kafkaClient } from '../fixtures/stream.js';
import { CliProcess, freePort, TcpForwarder } from '../fixtures/cli-process.js';
import { sleep, waitUntil } from '../fixtures/wait.js';

const root = resolve('.');
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Only the variables a test gives: FEATUREGRAPH_* of the caller's shell would change what is tested. */
const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, PORT: '' });

function cli(args: string[], env: NodeJS.ProcessEnv): CliProcess {
  const process = new CliProcess(args, env);
  cleanups.push(() => process.stop('SIGKILL'));
  return process;
}

interface Setup {
  u: string;
  dir: string;
  repo: string;
  topic: string;
  streamView: string;
  batchView: string;
  keyPrefix: string;
  write(config: Record<string, unknown>): string;
}

/** A temp dir with a feature repo of one stream view (a topic of its own) and one view of an embedded table. */
function setUp(label: string): Setup {
  const u = randomUUID().replaceAll('-', '').slice(0, 10);
  const dir = mkdtempSync(join(tmpdir(), `fg-startup-${label}-`));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  const topic = `fg-startup-${label}-${u}`;
  writeFileSync(join(repo, 'package.json'), '{ "type": "module" }');
  writeFileSync(
    join(repo, 'shops.ts'),
    `import { column, count, entity, featureView, kafkaTopic, snowflakeTable } from '${join(root, 'index.ts')}';
export const shop = entity({ name: 'Shop', key: 'shopId', description: 'a shop (start-up test)' });
export const orders = featureView({
  name: 'su_orders_${u}', entity: shop, owner: 'tests', description: 'orders of a shop, from Kafka',
  source: kafkaTopic({ name: 'orders', topic: '${topic}', keyField: 'shopId', eventTimeField: 'at', fields: { shopId: 'string', at: 'timestamp' } }),
  features: { ordersLastHour: count({ window: '1h' }) }, freshness: '30s', ttl: '1d',
});
export const ratings = featureView({
  name: 'su_ratings_${u}', entity: shop, owner: 'tests', description: 'a shop rating, from a table',
  source: snowflakeTable({ name: 'ratings', table: 'ratings', keyColumn: 'shopId', eventTimeColumn: 'ratedAt' }),
  features: { rating: column({ type: 'Float' }) }, freshness: '10s', ttl: '1d',
});
`,
  );
  return {
    u,
    dir,
    repo,
    topic,
    streamView: `su_orders_${u}`,
    batchView: `su_ratings_${u}`,
    keyPrefix: `fg-test:startup:${u}:`,
    write(config) {
      const path = join(dir, `featuregraph-${randomUUID().slice(0, 8)}.json`);
      writeFileSync(path, JSON.stringify({ repo, ...config }));
      return path;
    },
  };
}

interface Readiness {
  status: number;
  body: { status: string; dependencies: Record<string, { state: string; target: string; cause?: string }> };
  text: string;
}

async function readyz(base: string): Promise<Readiness> {
  const response = await fetch(`${base}/readyz`);
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Readiness['body'], text };
}

/** Produces `count` orders of each shop, stamped now. */
async function produceOrders(brokers: string[], topic: string, perShop: Record<string, number>): Promise<void> {
  const producer = kafkaClient(brokers, `startup-producer-${randomUUID().slice(0, 8)}`).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const messages = Object.entries(perShop).flatMap(([shopId, n]) => Array.from({ length: n }, () => ({ key: shopId, value: JSON.stringify({ shopId, at: new Date().toISOString() }) })));
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Waits until the online store counts exactly `perShop` orders per shop (and says what it holds if not). */
async function waitForCounts(s: Setup, perShop: Record<string, number>, materialize: CliProcess): Promise<void> {
  const { url } = requireEndpoint('redis');
  const registry = await loadFeatureRepo(s.repo);
  const feature = registry.view(s.streamView).features.find((f) => f.name === 'ordersLastHour');
  assert.ok(feature);
  const store = new RedisOnlineStore({ mode: 'standalone', url, keyPrefix: s.keyPrefix, commandTimeoutMs: 2000 });
  const counts = async () => {
    const shops = Object.keys(perShop);
    const stored = await store.read(shops.map((key) => ({ view: s.streamView, key })));
    return Object.fromEntries(shops.map((shop, i) => [shop, readFeature(feature, stored[i] ?? null, Date.now(), null).value]));
  };
  try {
    await waitUntil(async () => {
      if (!materialize.running) throw new Error(`materialize exited: ${materialize.text()}`);
      return JSON.stringify(await counts()) === JSON.stringify(perShop);
    }, 90_000, async () => `counts ${JSON.stringify(await counts())}, expected ${JSON.stringify(perShop)}:\n${materialize.text()}`);
    // Counted once: nothing more arrives after a while (a replay would add to the count).
    await sleep(2000);
    assert.deepEqual(await counts(), perShop);
  } finally {
    await store.close();
  }
}

test('materialize waits for a topic that does not exist yet (logged once, /readyz 503 naming it), then counts its events once', { timeout: 240_000 }, async () => {
  const s = setUp('topic');
  const { brokers } = requireEndpoint('kafka');
  const { url: redisUrl } = requireEndpoint('redis');
  const admin = kafkaClient(brokers, `startup-admin-${s.u}`).admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  cleanups.push(() => deleteTopics(admin, [s.topic, `${s.topic}.dead-letter`]));
  const healthPort = await freePort();
  const metricsPort = await freePort();
  const config = s.write({ onlineStore: { type: 'redis', url: redisUrl, keyPrefix: s.keyPrefix }, kafka: { brokers }, materializer: { groupId: `fg-startup-${s.u}`, progressEveryMs: 1000 } });
  const materialize = cli(['materialize', '--config', config, '--health-port', String(healthPort), '--metrics-port', String(metricsPort)], baseEnv());
  // Before the fix: an uncaught KafkaJSProtocolError ("This server does not host this topic-partition"), exit 1.
  await materialize.waitFor(new RegExp(`waiting for topic:${s.topic} \\(kafka ${brokers[0]}\\): does not exist yet`));
  await materialize.waitFor(/not materializing views whose source is not configured: su_ratings_\w+ reads a table: set sources\.batch/);
  const base = `http://127.0.0.1:${healthPort}`;
  assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });
  const waiting = await readyz(base);
  assert.equal(waiting.status, 503, waiting.text);
  assert.equal(waiting.body.status, 'not ready');
  assert.deepEqual(
    { state: waiting.body.dependencies[`topic:${s.topic}`]?.state, cause: waiting.body.dependencies[`topic:${s.topic}`]?.cause },
    { state: 'waiting', cause: 'does not exist yet' },
  );
  assert.equal(waiting.body.dependencies.kafka?.state, 'ready');
  assert.equal(waiting.body.dependencies.onlineStore?.state, 'ready');
  // Metrics for Prometheus on a port of their own, from the start.
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.equal(metrics.status, 200);
  assert.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  assert.match(materialize.text(), new RegExp(`metrics at http://localhost:${metricsPort}/metrics`));
  // Checked again with backoff for a while: still alive, and the wait was logged once.
  await sleep(4000);
  assert.ok(materialize.running, materialize.text());
  assert.equal(materialize.lines.filter((line) => line.includes(`waiting for topic:${s.topic}`)).length, 1, materialize.text());

  await createTopic(admin, s.topic);
  const perShop = { s1: 3, s2: 5, s3: 1 };
  await produceOrders(brokers, s.topic, perShop);
  await materialize.waitFor(new RegExp(`topic:${s.topic} \\(kafka [^)]+\\) ready`));
  await waitForCounts(s, perShop, materialize);
  await waitUntil(async () => (await readyz(base)).status === 200, 30_000, async () => (await readyz(base)).text);
  assert.equal(await materialize.stop(), 0, materialize.text());
  assert.ok(!materialize.text().includes('KafkaJS'), materialize.text());
});

test('materialize waits for an unreachable broker as long as it takes (past kafkajs retries), then consumes once it answers', { timeout: 300_000 }, async () => {
  const s = setUp('broker');
  const { brokers } = requireEndpoint('kafka');
  const [sharedHost, sharedPort] = (brokers[0] as string).split(':') as [string, string];
  const { url: redisUrl } = requireEndpoint('redis');
  const admin = kafkaClient(brokers, `startup-admin-${s.u}`).admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  cleanups.push(() => deleteTopics(admin, [s.topic, `${s.topic}.dead-letter`]));
  await createTopic(admin, s.topic);
  const perShop = { s1: 2, s4: 4 };
  await produceOrders(brokers, s.topic, perShop);
  // The broker the materializer is given: nothing listens there yet.
  const port = await freePort();
  const healthPort = await freePort();
  const config = s.write({ onlineStore: { type: 'redis', url: redisUrl, keyPrefix: s.keyPrefix }, kafka: { brokers: [`127.0.0.1:${port}`] }, materializer: { groupId: `fg-startup-${s.u}`, progressEveryMs: 1000 } });
  const materialize = cli(['materialize', '--config', config, '--health-port', String(healthPort), '--views', s.streamView], baseEnv());
  await materialize.waitFor(new RegExp(`waiting for kafka \\(127\\.0\\.0\\.1:${port}\\): .*ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
  const base = `http://127.0.0.1:${healthPort}`;
  const waiting = await readyz(base);
  assert.equal(waiting.status, 503, waiting.text);
  assert.equal(waiting.body.dependencies.kafka?.state, 'waiting');
  assert.match(waiting.body.dependencies.kafka?.cause ?? '', new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
  // kafkajs gave up after its retries (about 20-40 s here; KafkaJSNumberOfRetriesExceeded before the fix):
  // the wait must outlast them.
  await sleep(45_000);
  assert.ok(materialize.running, `materialize gave up waiting:\n${materialize.text()}`);
  assert.equal(materialize.lines.filter((line) => line.includes('waiting for kafka')).length, 1, 'logged when the state changed, not on every retry');

  // The broker "starts": the port now leads to the shared broker (which then names itself in metadata).
  const forwarder = await TcpForwarder.start(port, { host: sharedHost, port: Number(sharedPort) });
  cleanups.push(() => forwarder.close());
  await materialize.waitFor(new RegExp(`kafka \\(127\\.0\\.0\\.1:${port}\\) ready`));
  await waitForCounts(s, perShop, materialize);
  assert.equal(await materialize.stop(), 0, materialize.text());
});

test('serve with a wrong Redis URL starts, says what it waits for, and /readyz names host and cause without the password; it is ready once Redis answers', { timeout: 120_000 }, async () => {
  const s = setUp('redis');
  const { port: redisPort } = requireEndpoint('redis');
  const port = await freePort();
  const config = s.write({ onlineStore: { type: 'redis', url: `redis://127.0.0.1:${port}/0`, keyPrefix: s.keyPrefix } });
  const serve = cli(['serve', '--config', config, '--port', '0'], { ...baseEnv(), FEATUREGRAPH_REDIS_PASSWORD: 'not-in-any-url' });
  // Before the fix: nothing was said, and /readyz answered "Stream isn't writeable and enableOfflineQueue options is false".
  await serve.waitFor(new RegExp(`waiting for onlineStore \\(redis 127\\.0\\.0\\.1:${port}, db 0\\): .*ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
  const url = (await serve.waitFor(/serving .* at (http:\/\/\S+)\/graphql/))[1] as string;
  const waiting = await readyz(url);
  assert.equal(waiting.status, 503, waiting.text);
  assert.equal(waiting.body.dependencies.onlineStore?.state, 'waiting');
  assert.equal(waiting.body.dependencies.onlineStore?.target, `redis 127.0.0.1:${port}, db 0`);
  assert.match(waiting.body.dependencies.onlineStore?.cause ?? '', new RegExp(`connect ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
  // Stored features answer a coded error meanwhile; the response arrives.
  const answer = (await (await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ shop(shopId: "s1") { shopId rating } }' }) })).json()) as { data: { shop: { shopId: string } }; errors: { extensions: { code: string } }[] };
  assert.equal(answer.data.shop.shopId, 's1');
  assert.equal(answer.errors[0]?.extensions.code, 'ONLINE_STORE_UNAVAILABLE');

  // Redis "comes back" on that port: logged, and ready.
  const forwarder = await TcpForwarder.start(port, { host: '127.0.0.1', port: redisPort });
  cleanups.push(() => forwarder.close());
  await serve.waitFor(new RegExp(`onlineStore \\(redis 127\\.0\\.0\\.1:${port}, db 0\\) ready`));
  const ready = await readyz(url);
  assert.equal(ready.status, 200, ready.text);
  assert.equal(await serve.stop(), 0, serve.text());
});

test('serve whose Redis URL holds a password never shows it, in the log or in /readyz', { timeout: 120_000 }, async () => {
  const s = setUp('secret');
  const port = await freePort();
  const config = s.write({ onlineStore: { type: 'redis', url: `redis://fg:pa55-w0rd-${s.u}@127.0.0.1:${port}`, keyPrefix: s.keyPrefix } });
  const serve = cli(['serve', '--config', config, '--port', '0'], baseEnv());
  const url = (await serve.waitFor(/serving .* at (http:\/\/\S+)\/graphql/))[1] as string;
  const waiting = await readyz(url);
  assert.equal(waiting.status, 503);
  assert.equal(waiting.body.dependencies.onlineStore?.target, `redis 127.0.0.1:${port}`);
  assert.ok(!waiting.text.includes(`pa55-w0rd-${s.u}`), waiting.text);
  assert.equal(await serve.stop(), 0);
  assert.ok(!serve.text().includes(`pa55-w0rd-${s.u}`), serve.text());
});

test('a port in use stops serve and materialize with one line naming the setting, exit 1, no stack trace', { timeout: 120_000 }, async () => {
  const s = setUp('port');
  const { url: redisUrl } = requireEndpoint('redis');
  const { brokers } = requireEndpoint('kafka');
  const holder = createServer();
  await new Promise<void>((done) => holder.listen(0, '0.0.0.0', done));
  cleanups.push(() => new Promise<void>((done) => holder.close(() => done())));
  const port = (holder.address() as { port: number }).port;
  const serve = cli(['serve', '--repo', s.repo, '--port', String(port)], baseEnv());
  assert.equal(await serve.exitCode(), 1, serve.text());
  assert.deepEqual(
    serve.stderrLines.filter((line) => !/^\d{4}-\d\d-\d\dT/.test(line)),
    [`featuregraph serve: port ${port} (--port, env PORT or the config's port) is already in use on 0.0.0.0: another process listens there; stop it or choose another port`],
  );
  const config = s.write({ onlineStore: { type: 'redis', url: redisUrl, keyPrefix: s.keyPrefix }, kafka: { brokers }, materializer: { groupId: `fg-startup-${s.u}`, healthPort: port } });
  const materialize = cli(['materialize', '--config', config], baseEnv());
  assert.equal(await materialize.exitCode(), 1, materialize.text());
  assert.deepEqual(
    materialize.stderrLines.filter((line) => !/^\d{4}-\d\d-\d\dT/.test(line)),
    [`featuregraph materialize: port ${port} (--health-port or the config's materializer.healthPort) is already in use on 0.0.0.0: another process listens there; stop it or choose another port`],
  );
});

test('a missing Snowflake password stops serve (history) and materialize (sources.batch) at start: exit 1, one line naming the setting and the variable', { timeout: 180_000 }, async () => {
  const s = setUp('password');
  const { url: redisUrl } = requireEndpoint('redis');
  const snowflake = requireEndpoint('snowflake');
  const connection = { account: snowflake.account, user: 'fg', database: 'FG_STARTUP', schema: 'S', host: snowflake.host, port: snowflake.port, protocol: snowflake.protocol };
  const online = { type: 'redis', url: redisUrl, keyPrefix: s.keyPrefix };
  const expected = (command: string, setting: string) => `featuregraph ${command}: ${setting} (snowflake): no password: set FEATUREGRAPH_SNOWFLAKE_PASSWORD (or FEATUREGRAPH_SNOWFLAKE_PRIVATE_KEY for key-pair authentication)`;
  const serve = cli(['serve', '--config', s.write({ onlineStore: online, history: { type: 'snowflake', ...connection } }), '--port', '0'], baseEnv());
  assert.equal(await serve.exitCode(), 1, serve.text());
  assert.ok(serve.stderrLines.includes(expected('serve', 'history')), serve.text());
  // Before the fix materialize started, and its scheduled runs failed on the password forever.
  const materialize = cli(['materialize', '--config', s.write({ onlineStore: online, sources: { batch: { type: 'snowflake', ...connection } }, materializer: { groupId: `fg-startup-${s.u}` } })], baseEnv());
  assert.equal(await materialize.exitCode(), 1, materialize.text());
  assert.ok(materialize.stderrLines.includes(expected('materialize', 'sources.batch')), materialize.text());
});

test('an unreachable Snowflake history: serve serves online reads and answers asOf with HISTORY_STORE_UNAVAILABLE, materialize waits; both carry on once it answers', { timeout: 240_000 }, async () => {
  const s = setUp('snowflake');
  const { url: redisUrl } = requireEndpoint('redis');
  const { brokers } = requireEndpoint('kafka');
  const endpoint = requireEndpoint('snowflake');
  const { schema, ready: schemaReady, drop } = testSchema(endpoint, 'FG_STARTUP', 'UP');
  await schemaReady;
  cleanups.push(drop);
  const admin = kafkaClient(brokers, `startup-admin-${s.u}`).admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  cleanups.push(() => deleteTopics(admin, [s.topic, `${s.topic}.dead-letter`]));
  await createTopic(admin, s.topic);
  const port = await freePort();
  const password = `pw-${s.u}`;
  const config = s.write({
    onlineStore: { type: 'redis', url: redisUrl, keyPrefix: s.keyPrefix },
    kafka: { brokers },
    history: { type: 'snowflake', account: endpoint.account, user: 'fg', database: 'FG_STARTUP', schema, host: '127.0.0.1', port, protocol: 'http', table: `H_${s.u.toUpperCase()}` },
    materializer: { groupId: `fg-startup-${s.u}`, progressEveryMs: 1000 },
  });
  const env = { ...baseEnv(), FEATUREGRAPH_SNOWFLAKE_PASSWORD: password };
  const serve = cli(['serve', '--config', config, '--port', '0'], env);
  const cause = `cannot reach 127.0.0.1:${port} (ECONNREFUSED)`;
  await serve.waitFor(new RegExp(`waiting for history \\(snowflake 127\\.0\\.0\\.1:${port}, table H_\\w+\\): .*${cause.replace(/[()]/g, '\\$&')}`));
  const url = (await serve.waitFor(/serving .* at (http:\/\/\S+)\/graphql/))[1] as string;
  const waiting = await readyz(url);
  assert.equal(waiting.status, 503, waiting.text);
  assert.equal(waiting.body.dependencies.history?.state, 'waiting');
  assert.ok(waiting.body.dependencies.history?.cause?.endsWith(cause), waiting.text);
  assert.equal(waiting.body.dependencies.onlineStore?.state, 'ready');
  const ask = async (query: string) => (await (await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) })).json()) as { data: unknown; errors?: { message: string; extensions: { code: string } }[] };
  const online = await ask('{ shop(shopId: "s1") { shopId ordersLastHour } }');
  assert.equal(online.errors, undefined, JSON.stringify(online.errors));
  const past = await ask(`{ shop(shopId: "s1", asOf: "${new Date(Date.now() - 60_000).toISOString()}") { ordersLastHour } }`);
  assert.equal(past.errors?.[0]?.extensions.code, 'HISTORY_STORE_UNAVAILABLE', JSON.stringify(past));
  assert.ok(past.errors?.[0]?.message.endsWith(cause), JSON.stringify(past));

  const healthPort = await freePort();
  const materialize = cli(['materialize', '--config', config, '--health-port', String(healthPort)], env);
  await materialize.waitFor(new RegExp(`waiting for history \\(snowflake 127\\.0\\.0\\.1:${port}, table H_\\w+\\): .*ECONNREFUSED.*meanwhile nothing is materialized`));
  const materializeWaiting = await readyz(`http://127.0.0.1:${healthPort}`);
  assert.equal(materializeWaiting.body.dependencies.history?.state, 'waiting', materializeWaiting.text);
  for (const text of [serve.text(), materialize.text(), waiting.text, materializeWaiting.text, JSON.stringify(past)]) assert.ok(!text.includes(password));

  // The warehouse "comes back" on that port.
  const forwarder = await TcpForwarder.start(port, { host: endpoint.host, port: endpoint.port });
  cleanups.push(() => forwarder.close());
  await serve.waitFor(/history \(snowflake [^)]+\) ready/);
  await materialize.waitFor(/history \(snowflake [^)]+\) ready/);
  await materialize.waitFor(new RegExp(`materializing ${s.streamView} from kafka topic ${s.topic}`));
  await waitUntil(async () => (await readyz(url)).status === 200, 60_000, async () => (await readyz(url)).text);
  // The store answers now: a view nothing materialized yet is the store's own answer, not unavailability.
  const answered = await ask(`{ shop(shopId: "s1", asOf: "${new Date(Date.now() - 60_000).toISOString()}") { ordersLastHour } }`);
  assert.equal(answered.errors?.[0]?.extensions.code, 'AS_OF_UNAVAILABLE', JSON.stringify(answered));
  assert.equal(await materialize.stop(), 0, materialize.text());
  assert.equal(await serve.stop(), 0, serve.text());
});

test('materialize without --views runs every view whose source is configured and names the others in one line; nothing configured, or --views of an unconfigured source, stops it naming the settings', { timeout: 180_000 }, async () => {
  const s = setUp('views');
  const { url: redisUrl } = requireEndpoint('redis');
  const table = join(s.dir, 'warehouse.duckdb');
  const db = await EmbeddedSql.open(table);
  await db.exec('CREATE TABLE ratings (shopId VARCHAR, ratedAt TIMESTAMP, rating DOUBLE)');
  await db.exec(`INSERT INTO ratings VALUES ('s1', now()::TIMESTAMP - INTERVAL 1 MINUTE, 4.5)`);
  await db.close();
  const online = { type: 'redis', url: redisUrl, keyPrefix: s.keyPrefix };

  // Nothing configured: before the fix, "stream views need kafka.brokers" only.
  const nothing = cli(['materialize', '--config', s.write({ onlineStore: online })], baseEnv());
  assert.equal(await nothing.exitCode(), 1, nothing.text());
  assert.deepEqual(nothing.stderrLines.filter((line) => line.startsWith('featuregraph materialize:')), [
    `featuregraph materialize: nothing to materialize: no view has a configured source (${s.streamView} reads a kafka topic: set kafka.brokers in the config (or env FEATUREGRAPH_KAFKA_BROKERS=host:port,...); ${s.batchView} reads a table: set sources.batch in the config (snowflake or embedded))`,
  ]);

  // A table source only: the stream view is skipped and named; before the fix the start stopped on it.
  const healthPort = await freePort();
  const config = s.write({ onlineStore: online, sources: { batch: { type: 'embedded', path: table } }, materializer: { groupId: `fg-startup-${s.u}`, healthPort }, scheduler: { overlapMs: 1000 } });
  const batchOnly = cli(['materialize', '--config', config], baseEnv());
  await batchOnly.waitFor(new RegExp(`not materializing views whose source is not configured: ${s.streamView} reads a kafka topic: set kafka\\.brokers`));
  await batchOnly.waitFor(new RegExp(`source:ratings \\(embedded ratings, views ${s.batchView}\\) ready`));
  const ready = await readyz(`http://127.0.0.1:${healthPort}`);
  assert.equal(ready.status, 200, ready.text);
  assert.deepEqual(Object.keys(ready.body.dependencies).sort(), ['onlineStore', 'source:ratings']);
  assert.equal(await batchOnly.stop(), 0, batchOnly.text());

  const asked = cli(['materialize', '--config', s.write({ onlineStore: online }), '--views', s.streamView], baseEnv());
  assert.equal(await asked.exitCode(), 1, asked.text());
  assert.ok(asked.stderrLines.includes(`featuregraph materialize: --views asks for views whose source is not configured: ${s.streamView} reads a kafka topic: set kafka.brokers in the config (or env FEATUREGRAPH_KAFKA_BROKERS=host:port,...)`), asked.text());
});
