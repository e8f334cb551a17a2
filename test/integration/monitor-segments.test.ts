// Issue 18's end-to-end promise on the real services: a breakage or a shift in one population segment
// is seen in that segment alone. With Kafka, Redis and Prometheus from the harness, a gateway logs what
// it serves (every request, to a Kafka topic), a materializer fills the store from three topics, and
// `featuregraph monitor` turns the log into per-feature, per-city metrics that Prometheus scrapes and
// judges with the rules `featuregraph alerts` generated. Shops are in three cities; orders, payments
// and queries keep coming, each shop alike, so that every city looks the same until one is broken:
// - Berlin's orders stop: exactly one alert fires, the missing rate of ordersLast10s in city=Berlin,
//   and featureHealth says so; the orders resume and it clears.
// - Munich's payments triple: `featuregraph health` against the quiet period as its baseline finds the
//   PSI of avgBasket in city=Munich above the drift threshold, and the other cities below (ordersLast10s,
//   whose level follows the machine's pace, may shift, but alike in every city).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { Partitioners, type Producer } from 'kafkajs';
import { requireEndpoint } from '../services/endpoints.js';
import { CliProcess, freePort } from '../fixtures/cli-process.js';
import { createTopic, deleteTopics, kafkaClient } from '../fixtures/stream.js';
import { sleep, waitUntil } from '../fixtures/wait.js';
import { addTarget, getJson, promtool, query, reload } from '../fixtures/prometheus.js';
import type { HealthRow } from '../../schema/health.js';
import { ruleGroupNames } from '../../gateway/alert-rules.js';

const repo = 'test/fixtures/segments-repo';
const cities = ['Berlin', 'Hamburg', 'Munich'] as const;
type City = (typeof cities)[number];
const shops = Array.from({ length: 12 }, (_, i) => ({ id: `s${i + 1}`, city: cities[i % cities.length] as City, amount: 10 + i }));
const driftThreshold = 0.2;

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

interface RuleGroups {
  data: { groups: { file: string; name: string; rules: { name: string; alerts?: Alert[] }[] }[] };
}

function featuregraph(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((done, fail) => {
    execFile(process.execPath, [resolve('bin/featuregraph.mjs'), ...args], { env, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? fail(new Error(`featuregraph ${args.join(' ')}: ${error.message}\n${stdout}${stderr}`)) : done(stdout),
    );
  });
}

async function graphql<T>(port: number, body: unknown, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`graphql: ${response.status} ${text}`);
  const parsed = JSON.parse(text) as { data?: T; errors?: unknown[] };
  if (parsed.errors) throw new Error(`graphql errors: ${text}`);
  return parsed.data as T;
}

/** Sends `make(shop)` for each shop every `everyMs` while `on(shop)` holds, until stopped. */
function everyShop(producer: Producer, topic: string, everyMs: number, on: (shop: (typeof shops)[number]) => boolean, make: (shop: (typeof shops)[number], i: number, at: string) => Record<string, unknown>) {
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const at = new Date().toISOString();
      const messages = shops.filter(on).map((shop) => ({ key: shop.id, value: JSON.stringify({ shopId: shop.id, at, ...make(shop, i, at) }) }));
      if (messages.length > 0) await producer.send({ topic, messages });
      await sleep(everyMs);
    }
  })();
  return async () => {
    running = false;
    await done;
  };
}

test('a breakage in one city fires one alert naming feature and city; a shift in one city is drift there alone', { timeout: 600_000 }, async (t: TestContext) => {
  const { brokers } = requireEndpoint('kafka');
  const { url: redisUrl } = requireEndpoint('redis');
  const prometheus = requireEndpoint('prometheus');
  const runId = `seg_${Date.now().toString(36)}_${process.pid}`;
  const prefix = `fg-${runId}`;
  const topics = { profiles: `${prefix}-profiles`, orders: `${prefix}-orders`, payments: `${prefix}-payments`, served: `${prefix}-served` };
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
  });

  const kafka = kafkaClient(brokers, runId);
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  for (const topic of Object.values(topics)) await createTopic(admin, topic);
  cleanups.push(() => deleteTopics(admin, [...Object.values(topics), ...Object.values(topics).map((topic) => `${topic}.dead-letter`)]));
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  cleanups.push(() => producer.disconnect());

  const dir = mkdtempSync(join(tmpdir(), 'fg-seg-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'featuregraph.json');
  const [port, materializerPort, monitorPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    config,
    JSON.stringify({
      host: '127.0.0.1',
      // The shared Redis is busy while other suites run: a longer read limit than the gateway's default.
      onlineStore: { type: 'redis', url: redisUrl, keyPrefix: `fg-test:${runId}:`, commandTimeoutMs: 1000 },
      kafka: { brokers, sessionTimeoutMs: 6000 },
      materializer: { groupId: prefix, progressEveryMs: 1000 },
      servedLog: { sampleRate: 1, flushEveryMs: 200, sink: { type: 'kafka', topic: topics.served } },
    }),
  );
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, FEATUREGRAPH_FIXTURE_TOPIC: prefix };
  const jobs = { gateway: runId, materializer: `${runId}-materialize`, monitor: `${runId}-monitor` };

  // The rules, as a user would install them: generated from the repo, checked, loaded. Alerts fire as
  // soon as their condition holds (the monitor's rules have no `for`: its window already smooths).
  const rules = join(prometheus.rulesDir, `${runId}.yml`);
  await featuregraph(['alerts', '--repo', repo, '--out', `${rules}.tmp`, '--gateway-job', jobs.gateway, '--materializer-job', jobs.materializer, '--monitor-job', jobs.monitor], env);
  const checked = await promtool(prometheus.promtool, ['check', 'rules', `${rules}.tmp`]);
  assert.equal(checked.code, 0, checked.output);
  renameSync(`${rules}.tmp`, rules);
  cleanups.push(async () => {
    rmSync(rules, { force: true });
    await reload(prometheus.url);
  });
  await reload(prometheus.url);

  // The pipeline: profiles once a few seconds, an order and a payment per shop every 500 ms.
  let berlinOrders = true;
  let munichFactor = 1;
  const stops = [
    everyShop(producer, topics.profiles, 5000, () => true, (shop) => ({ city: shop.city })),
    everyShop(producer, topics.orders, 500, (shop) => berlinOrders || shop.city !== 'Berlin', (shop, i) => ({ orderId: `${shop.id}-o${i}` })),
    everyShop(producer, topics.payments, 500, () => true, (shop, i) => ({ paymentId: `${shop.id}-p${i}`, amount: shop.amount * (shop.city === 'Munich' ? munichFactor : 1) })),
  ];
  cleanups.push(() => Promise.all(stops.map((stop) => stop())));

  const gateway = new CliProcess(['serve', '--repo', repo, '--config', config, '--port', String(port)], env);
  cleanups.push(() => gateway.stop('SIGTERM'));
  await gateway.waitFor(/featuregraph serving /);
  const materializer = new CliProcess(['materialize', '--repo', repo, '--config', config, '--metrics-port', String(materializerPort)], env);
  cleanups.push(() => materializer.stop('SIGTERM'));
  const monitor = new CliProcess(['monitor', '--repo', repo, '--config', config, '--interval', '10s', '--every', '1s', '--metrics-port', String(monitorPort)], env);
  cleanups.push(() => monitor.stop('SIGTERM'));
  const targets = [
    addTarget(prometheus.targetsDir, jobs.gateway, `127.0.0.1:${port}`, jobs.gateway),
    addTarget(prometheus.targetsDir, jobs.materializer, `127.0.0.1:${materializerPort}`, jobs.materializer),
    addTarget(prometheus.targetsDir, jobs.monitor, `127.0.0.1:${monitorPort}`, jobs.monitor),
  ];
  cleanups.push(() => targets.forEach((file) => rmSync(file, { force: true })));

  // Queries keep coming: every shop, four times a second, each logged.
  const ids = shops.map((shop) => shop.id);
  type Served = { shops: ({ shopId: string; ordersLast10s: number | null; avgBasket: number | null } | null)[] };
  let querying = true;
  const queries = (async () => {
    while (querying) {
      await graphql<Served>(port, { query: 'query Shops($ids: [ID!]!) { shops(shopIds: $ids) { shopId ordersLast10s avgBasket } }', variables: { ids } }).catch(() => undefined);
      await sleep(250);
    }
  })();
  cleanups.push(async () => {
    querying = false;
    await queries;
  });

  // The monitor's alerts, found by the rule file named for the run (other suites load rules of the same
  // names). The views' and pipeline's rules of the same file watch other things (a dead letter, a job down).
  const firing = async (): Promise<(Alert & { rule: string })[]> => {
    const reply = await getJson<RuleGroups>(`${prometheus.url}/api/v1/rules?type=alert`);
    return reply.data.groups
      .filter((group) => basename(group.file) === basename(rules) && group.name === ruleGroupNames.monitor)
      .flatMap((group) => group.rules.flatMap((rule) => (rule.alerts ?? []).filter((alert) => alert.state === 'firing').map((alert) => ({ ...alert, rule: rule.name }))));
  };
  const describe = (alerts: (Alert & { rule: string })[]) => JSON.stringify(alerts.map((a) => ({ rule: a.rule, ...a.labels })));

  // Steady: every shop served both features, and Prometheus holds the monitor's ratios for every city.
  await waitUntil(
    async () => {
      const served = await graphql<Served>(port, { query: '{ shops(shopIds: ["s1","s2","s3"]) { shopId ordersLast10s avgBasket } }' });
      return served.shops.every((s) => s !== null && s.ordersLast10s !== null && s.avgBasket !== null);
    },
    120_000,
    () => `the shops were never served:\ngateway: ${gateway.lines.slice(-10).join('\n')}\nmaterializer: ${materializer.lines.slice(-15).join('\n')}`,
  );
  await waitUntil(
    async () => (await query(prometheus.url, `featuregraph_monitor_missing_ratio{job="${jobs.monitor}",feature="ordersLast10s",direction="served",segment=~"city=.+"}`)).length === cities.length,
    120_000,
    () => `Prometheus never held the monitor's missing ratio for every city; monitor:\n${monitor.lines.slice(-15).join('\n')}`,
  );
  await waitUntil(async () => (await query(prometheus.url, `up{job=~"${runId}.*"} == 1`)).length === 3, 60_000, () => 'Prometheus never scraped the three processes');
  // Windows of 10 s are full, and every city looks alike: nothing fires. This quiet period is the baseline.
  await sleep(12_000);
  assert.equal(describe(await firing()), '[]', 'no alert while every city is served alike');
  const baselineFrom = Date.now();
  await sleep(20_000);
  const baselineTo = Date.now();
  assert.equal(describe(await firing()), '[]', 'no alert during the baseline period');

  // Berlin's orders stop: its shops' ordersLast10s expire, and that alone fires.
  berlinOrders = false;
  const brokenAt = Date.now();
  await waitUntil(async () => (await firing()).length > 0, 90_000, () => 'no alert fired after Berlin stopped ordering');
  t.diagnostic(`first alert ${Date.now() - brokenAt} ms after the breakage`);
  // Let the other rules have their evaluations too before counting.
  await sleep(5_000);
  const alerts = await firing();
  assert.equal(alerts.length, 1, `exactly one alert: ${describe(alerts)}`);
  const [alert] = alerts as [Alert & { rule: string }];
  assert.equal(alert.rule, 'FeatureMissingRate');
  assert.equal(alert.labels.feature, 'ordersLast10s');
  assert.equal(alert.labels.segment, 'city=Berlin');
  assert.equal(alert.labels.owner, 'orders-team');

  // featureHealth says the same, Berlin alone.
  const health = await graphql<{ featureHealth: { segment: string; missingRate: number; values: number }[] }>(port, {
    query: 'query H($from: DateTime!, $to: DateTime!) { featureHealth(feature: "ordersLast10s", entity: "Shop", direction: SERVED, from: $from, to: $to) { segment missingRate values } }',
    variables: { from: new Date(Date.now() - 8_000).toISOString(), to: new Date().toISOString() },
  });
  const bySegment = new Map(health.featureHealth.map((row) => [row.segment, row]));
  assert.ok((bySegment.get('city=Berlin')?.missingRate ?? 0) > 0.5, JSON.stringify(health));
  for (const city of ['Hamburg', 'Munich']) assert.ok((bySegment.get(`city=${city}`)?.missingRate ?? 1) < 0.1, JSON.stringify(health));

  // The orders resume: the alert clears once the monitor's window holds no expired value.
  berlinOrders = true;
  await waitUntil(async () => (await firing()).length === 0, 90_000, async () => `still firing after Berlin ordered again: ${describe(await firing())}`);

  // Munich's payments triple: drift there alone, against the quiet period as the baseline.
  munichFactor = 3;
  await sleep(12_000);
  const driftFrom = Date.now();
  await sleep(15_000);
  const driftTo = Date.now();
  const out = await featuregraph(
    ['health', '--repo', repo, '--config', config, '--from', new Date(driftFrom).toISOString(), '--to', new Date(driftTo).toISOString(), '--baseline-from', new Date(baselineFrom).toISOString(), '--baseline-to', new Date(baselineTo).toISOString(), '--direction', 'served', '--json'],
    env,
  );
  const rows = out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as HealthRow);
  const segmentRows = rows.filter((row) => row.segment !== '*');
  const psiOf = (feature: string, city: City) => segmentRows.find((row) => row.feature === feature && row.segment === `city=${city}`)?.psi;
  t.diagnostic(`PSI: ${JSON.stringify(segmentRows.map((row) => [row.feature, row.segment, row.psi]))}`);
  assert.ok((psiOf('avgBasket', 'Munich') ?? 0) > driftThreshold, `avgBasket drifted in Munich: ${psiOf('avgBasket', 'Munich')}`);
  for (const city of ['Berlin', 'Hamburg'] as const) {
    const psi = psiOf('avgBasket', city);
    assert.ok(psi !== undefined && psi !== null && psi < driftThreshold, `avgBasket in ${city}: PSI ${psi} should stay below ${driftThreshold}`);
  }
  // ordersLast10s follows the pace the producers keep, which a busy machine slows for every city at
  // once: its PSI may move, but alike in every city, so no city is singled out.
  const orderPsis = cities.map((city) => psiOf('ordersLast10s', city));
  assert.ok(orderPsis.every((psi) => typeof psi === 'number'), `ordersLast10s PSI in every city: ${JSON.stringify(orderPsis)}`);
  const spread = Math.max(...(orderPsis as number[])) - Math.min(...(orderPsis as number[]));
  assert.ok(spread < driftThreshold, `ordersLast10s drifts alike in every city: PSIs ${JSON.stringify(orderPsis)}`);
});
