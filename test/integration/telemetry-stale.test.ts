// Issue 17's end-to-end promise on the real services: a dead stream pipeline is seen three ways. With
// Kafka, Redis, Prometheus and Jaeger from the harness, a gateway (traces to Jaeger, /metrics scraped by
// Prometheus, which evaluates the rules `featuregraph alerts` generated) and a `featuregraph materialize`
// child serve a view with a 3 s freshness SLA while orders keep coming. The materializer is killed:
// the FeatureViewStale alert of the view fires, featureMeta says STALE, and the trace of a query made
// then names the stale feature. The materializer starts again: all three clear.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { Partitioners } from 'kafkajs';
import { requireEndpoint } from '../services/endpoints.js';
import { CliProcess, freePort } from '../fixtures/cli-process.js';
import { createTopic, deleteTopics, kafkaClient } from '../fixtures/stream.js';
import { sleep, waitUntil } from '../fixtures/wait.js';
import { waitFor } from '../services/harness.js';
import { addTarget, getJson, promtool, query, reload } from '../fixtures/prometheus.js';

const repo = 'test/fixtures/freshness-repo';
const view = 'restaurant_order_activity';
const freshnessMs = 3000;

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

interface RuleGroups {
  data: { groups: { file: string; rules: { name: string; alerts?: Alert[] }[] }[] };
}

interface JaegerSpan {
  operationName: string;
  tags: { key: string; value: unknown }[];
  logs: { fields: { key: string; value: unknown }[] }[];
}

async function postJson<T>(url: string, headers: Record<string, string>, body: unknown): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

function featuregraph(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((done, fail) => {
    execFile(process.execPath, [resolve('bin/featuregraph.mjs'), ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => (error ? fail(new Error(`featuregraph ${args.join(' ')}: ${error.message}\n${stdout}${stderr}`)) : done(stdout)));
  });
}

test('a stopped stream materializer: the stale alert fires, featureMeta says STALE, the trace names the feature; all clear once it runs again', { timeout: 240_000 }, async (t: TestContext) => {
  const { brokers } = requireEndpoint('kafka');
  const { url: redisUrl } = requireEndpoint('redis');
  const prometheus = requireEndpoint('prometheus');
  const jaeger = requireEndpoint('jaeger');
  const runId = `fresh_${Date.now().toString(36)}_${process.pid}`;
  const topic = `fg-${runId}`;
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
  });

  const kafka = kafkaClient(brokers, runId);
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  await createTopic(admin, topic);
  cleanups.push(() => deleteTopics(admin, [topic, `${topic}.dead-letter`]));
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  cleanups.push(() => producer.disconnect());

  const dir = mkdtempSync(join(tmpdir(), 'fg-fresh-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'featuregraph.json');
  const port = await freePort();
  const metricsPort = await freePort();
  writeFileSync(
    config,
    JSON.stringify({
      host: '127.0.0.1',
      onlineStore: { type: 'redis', url: redisUrl, keyPrefix: `fg-test:${runId}:` },
      kafka: { brokers, sessionTimeoutMs: 6000 },
      materializer: { groupId: topic, progressEveryMs: 500 },
    }),
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    FEATUREGRAPH_FIXTURE_TOPIC: topic,
    FEATUREGRAPH_FIXTURE_FRESHNESS: `${freshnessMs / 1000}s`,
    OTEL_SERVICE_NAME: runId,
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttp,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    // Spans reach Jaeger within a fraction of a second, not the default 5 s.
    OTEL_BSP_SCHEDULE_DELAY: '200',
  };

  // The rules, as a user would install them: generated from the repo, checked, loaded.
  const rules = join(prometheus.rulesDir, `${runId}.yml`);
  await featuregraph(['alerts', '--repo', repo, '--out', `${rules}.tmp`, '--gateway-job', runId, '--materializer-job', `${runId}-materialize`], env);
  const checked = await promtool(prometheus.promtool, ['check', 'rules', `${rules}.tmp`]);
  assert.equal(checked.code, 0, checked.output);
  renameSync(`${rules}.tmp`, rules);
  cleanups.push(async () => {
    rmSync(rules, { force: true });
    await reload(prometheus.url);
  });
  await reload(prometheus.url);

  const gateway = new CliProcess(['serve', '--repo', repo, '--config', config, '--port', String(port)], env);
  cleanups.push(() => gateway.stop('SIGKILL'));
  await gateway.waitFor(/featuregraph serving /);
  const materializerArgs = ['materialize', '--repo', repo, '--config', config, '--metrics-port', String(metricsPort)];
  let materializer = new CliProcess(materializerArgs, env);
  cleanups.push(() => materializer.stop('SIGKILL'));

  // Prometheus scrapes the gateway, labelled with the run so that other suites' series never match.
  const targets = [addTarget(prometheus.targetsDir, runId, `127.0.0.1:${port}`, runId), addTarget(prometheus.targetsDir, `${runId}-materialize`, `127.0.0.1:${metricsPort}`, `${runId}-materialize`)];
  cleanups.push(() => targets.forEach((file) => rmSync(file, { force: true })));

  // Orders keep coming the whole time, one every 100 ms for restaurant r1.
  let producing = true;
  const orders = (async () => {
    for (let i = 0; producing; i++) {
      const now = Date.now();
      await producer.send({ topic, messages: [{ key: 'r1', value: JSON.stringify({ orderId: `o${i}`, restaurantId: 'r1', createdAt: new Date(now).toISOString(), totalPrice: 10 }) }] });
      await sleep(100);
    }
  })();
  cleanups.push(async () => {
    producing = false;
    await orders;
  });

  const graphql = async (traceId: string) => {
    const body = await postJson<{ data: { restaurant: { ordersLast30m: number | null; featureMeta: { ordersLast30m: { status: string; watermark: string | null } } } } }>(
      `http://127.0.0.1:${port}/graphql`,
      { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      { query: 'query FreshnessCheck { restaurant(restaurantId: "r1") { ordersLast30m featureMeta { ordersLast30m { status watermark } } } }', operationName: 'FreshnessCheck' },
    );
    return body.data.restaurant;
  };
  // Found by the rule file, named for the run: other suites may load rules of the same names for the
  // same view. By its name alone: Prometheus reports the path it was given, which can differ from ours
  // by a symlink (a .cache linked from another checkout).
  const firing = async (): Promise<Alert | undefined> => {
    const reply = await getJson<RuleGroups>(`${prometheus.url}/api/v1/rules?type=alert`);
    const ours = reply.data.groups.filter((group) => basename(group.file) === basename(rules)).flatMap((group) => group.rules);
    const stale = ours.find((rule) => rule.name === 'FeatureViewStale')?.alerts ?? [];
    return stale.find((alert) => alert.labels.view === view && alert.state === 'firing');
  };
  /** The spans of one trace from Jaeger, once the operation span has arrived. */
  const traceSpans = async (traceId: string): Promise<JaegerSpan[] | null> => {
    const response = await fetch(`${jaeger.queryUrl}/api/traces/${traceId}`);
    if (response.status !== 200) return null;
    const body = (await response.json()) as { data: { spans: JaegerSpan[] }[] };
    const spans = body.data[0]?.spans ?? [];
    return spans.some((span) => span.operationName === 'query FreshnessCheck') ? spans : null;
  };
  const staleNamed = (spans: JaegerSpan[]) =>
    spans.some((span) => span.operationName === 'query FreshnessCheck' && span.logs.some((log) => log.fields.some((field) => field.value === 'ordersLast30m')));

  // Running: PRESENT by a published watermark (a view without one is never STALE, so a kill before the
  // first publish would prove nothing), Prometheus holding its freshness, and no alert.
  const fresh = async () => {
    const meta = (await graphql(randomBytes(16).toString('hex'))).featureMeta.ordersLast30m;
    return meta.status === 'PRESENT' && meta.watermark !== null;
  };
  await waitUntil(fresh, 90_000, () => 'ordersLast30m never PRESENT with a watermark while the materializer runs');
  await waitUntil(async () => (await query(prometheus.url, `featuregraph_view_freshness_seconds{job="${runId}"}`)).length === 1, 60_000, () => "Prometheus never held the view's freshness");
  const scraped = `up{job=~"${runId}|${runId}-materialize"} == 1`;
  await waitUntil(async () => (await query(prometheus.url, scraped)).length === 2, 60_000, () => 'Prometheus never scraped the gateway and the materializer');
  assert.equal(await firing(), undefined, 'no stale alert while the pipeline runs');

  // Killed: a dead pipeline, orders still coming.
  const killedAt = Date.now();
  await materializer.stop('SIGKILL');
  const alert = await waitFor('prometheus', 'FeatureViewStale firing', firing, 60_000).catch(async (error: unknown) => {
    // What Prometheus had: the gateway's scrapes, the freshness it read, and the rule's state.
    const seen = await Promise.all([`up{job=~"${runId}.*"}`, `featuregraph_view_freshness_seconds{job="${runId}"}`].map(async (q) => `${q}: ${JSON.stringify(await query(prometheus.url, q))}`));
    const groups = await getJson<RuleGroups>(`${prometheus.url}/api/v1/rules?type=alert`);
    throw new Error(`${String(error)}\n${seen.join('\n')}\nrule files: ${JSON.stringify(groups.data.groups.map((g) => g.file))} (ours ${rules})\ngateway:\n${gateway.lines.slice(-10).join('\n')}`);
  });
  t.diagnostic(`FeatureViewStale firing ${Date.now() - killedAt} ms after the kill (SLA ${freshnessMs} ms, scrape and evaluation every 1 s); labels ${JSON.stringify(alert.labels)}`);
  assert.equal(alert.labels.owner, 'eta-team');
  const staleTrace = randomBytes(16).toString('hex');
  const stale = await graphql(staleTrace);
  assert.equal(stale.featureMeta.ordersLast30m.status, 'STALE');
  assert.ok(stale.ordersLast30m !== null, 'a stale value is still served');
  const spans = await waitFor('jaeger', `trace ${staleTrace}`, () => traceSpans(staleTrace), 30_000);
  assert.ok(staleNamed(spans), `the operation span names ordersLast30m: ${JSON.stringify(spans.map((s) => [s.operationName, s.tags, s.logs]))}`);

  // Running again: all three clear.
  materializer = new CliProcess(materializerArgs, env);
  await waitUntil(fresh, 90_000, () => 'ordersLast30m never PRESENT again');
  await waitUntil(async () => (await firing()) === undefined, 60_000, () => 'FeatureViewStale still firing after the restart');
  const freshTrace = randomBytes(16).toString('hex');
  assert.equal((await graphql(freshTrace)).featureMeta.ordersLast30m.status, 'PRESENT');
  const freshSpans = await waitFor('jaeger', `trace ${freshTrace}`, () => traceSpans(freshTrace), 30_000);
  assert.ok(!staleNamed(freshSpans), 'the trace after the restart names no stale feature');
});
