// The gateway's telemetry reaching the real backends: the SDK started from OTEL_* variables exports a
// query's trace to Jaeger by OTLP/HTTP, where a search by service and feature finds it with the
// missing feature (an entity deleted at its source, and one never known) counted and named with its
// view; and Prometheus scrapes the gateway's /metrics, where the same reads are counted MISSING.
// The service name, job and entity keys carry a per-run name, so runs sharing the servers never see
// each other's data; the target file is removed afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireEndpoint } from '../services/endpoints.js';
import { waitFor } from '../services/harness.js';
import { startFixture, T0, type Fixture } from '../e2e/fixture.js';
import { startTelemetry, type Telemetry } from '../../gateway/telemetry/sdk.js';
import { attributeNames, eventNames, metricNames } from '../../schema/telemetry.js';

const run = randomUUID().replaceAll('-', '').slice(0, 12);
const serviceName = `featuregraph-it-${run}`;
const job = `featuregraph_it_${run}`;
const MIN = 60_000;

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
  logs: { fields: { key: string; value: unknown }[] }[];
}

let telemetry: Telemetry;
let f: Fixture;
const variables: Record<string, string> = {};

before(async () => {
  const { otlpHttp } = requireEndpoint('jaeger');
  // The exporters read their endpoint from process.env, as the SDK's specification says.
  Object.assign(variables, { OTEL_EXPORTER_OTLP_ENDPOINT: otlpHttp, OTEL_SERVICE_NAME: serviceName, OTEL_BSP_SCHEDULE_DELAY: '200' });
  Object.assign(process.env, variables);
  telemetry = await startTelemetry({ serviceName: 'featuregraph-gateway' });
  f = await startFixture({ telemetry });
  f.rows.restaurants.upsert({ key: `r1-${run}`, eventTime: T0 - 2 * MIN, values: { isOpen: true, menuSize: 3, cuisineTags: [] } });
  f.rows.restaurants.upsert({ key: `r2-${run}`, eventTime: T0 - 2 * MIN, values: { isOpen: true, menuSize: 4, cuisineTags: [] } });
  await f.refreshRows();
  f.rows.restaurants.upsert({ key: `r2-${run}`, eventTime: T0 - MIN, values: {}, deleted: true });
  await f.refreshRows();
});

after(async () => {
  await f?.close();
  await telemetry?.shutdown();
  for (const key of Object.keys(variables)) delete process.env[key];
});

test("a query's trace reaches Jaeger, found by service and feature, with the deleted and the unknown entity's feature named MISSING", async () => {
  const { queryUrl } = requireEndpoint('jaeger');
  const { body } = await f.query(`query Profile${run}($ids: [ID!]!) { restaurants(restaurantIds: $ids) { isOpen } }`, { ids: [`r1-${run}`, `r2-${run}`, `never-${run}`] });
  assert.deepEqual(body, { data: { restaurants: [{ isOpen: true }, { isOpen: null }, { isOpen: null }] } });

  const search = new URL('/api/traces', queryUrl);
  search.searchParams.set('service', serviceName);
  search.searchParams.set('tags', JSON.stringify({ [attributeNames.feature]: 'isOpen' }));
  const traces = await waitFor('jaeger', `the trace of service ${serviceName} with a value of isOpen named`, async () => {
    const response = await fetch(search);
    if (!response.ok) return null;
    const { data } = (await response.json()) as { data: { spans: JaegerSpan[] }[] | null };
    // The whole trace: the HTTP span ends after the operation, and may come in a later export.
    return data?.length === 1 && data[0]?.spans.some((s) => s.operationName === 'POST /graphql') && data[0].spans.length >= 3 ? data : null;
  });
  const spans = traces[0]?.spans ?? [];
  const byName = (name: string) => spans.find((s) => s.operationName === name) as JaegerSpan;
  const tags = (span: JaegerSpan) => Object.fromEntries(span.tags.map((t) => [t.key, t.value]));
  const http = byName('POST /graphql');
  const operation = byName(`query Profile${run}`);
  const read = byName('featuregraph.online.read');
  assert.ok(http && operation && read, `spans: ${spans.map((s) => s.operationName).join(', ')}`);
  assert.equal(tags(http)['span.kind'], 'server');
  assert.equal(tags(http)['http.response.status_code'], 200);
  assert.deepEqual(operation.references.map((r) => r.spanID), [http.spanID]);
  assert.deepEqual(read.references.map((r) => r.spanID), [operation.spanID]);
  const op = tags(operation);
  assert.equal(op[attributeNames.path], 'fast');
  assert.equal(op[attributeNames.present], 1);
  assert.equal(op[attributeNames.missing], 2);
  assert.deepEqual(JSON.parse(String(op[attributeNames.missingFeatures])), ['isOpen']);
  const events = operation.logs.map((log) => Object.fromEntries(log.fields.map((field) => [field.key, field.value])));
  assert.deepEqual(events, [{ event: eventNames.MISSING, [attributeNames.feature]: 'isOpen', [attributeNames.view]: 'restaurant_profile', [attributeNames.entity]: 'Restaurant', [attributeNames.values]: 2 }]);
});

test("Prometheus scrapes the gateway's /metrics: the missing reads counted by feature, view and status", async () => {
  const { url, targetsDir } = requireEndpoint('prometheus');
  await f.query(`{ restaurant(restaurantId: "never-${run}") { menuSize } }`);
  const file = join(targetsDir, `${job}.json`);
  try {
    // Renamed into place: Prometheus watches the folder and must never read a half-written file.
    writeFileSync(`${file}.tmp`, JSON.stringify([{ targets: [new URL(f.url).host], labels: { job } }]));
    renameSync(`${file}.tmp`, file);
    const selector = `${metricNames.featureReads}{job="${job}",feature="menuSize",status="MISSING"}`;
    const samples = await waitFor('prometheus', `a scrape of job ${job} with ${selector}`, async () => {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(selector)}`);
      if (!response.ok) return null;
      const { data } = (await response.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      return data.result.length > 0 ? data.result : null;
    });
    assert.deepEqual(
      samples.map((s) => [s.metric.view, s.metric.entity, s.metric.path, s.value[1]]),
      [['restaurant_profile', 'Restaurant', 'fast', '1']],
    );
  } finally {
    rmSync(file, { force: true });
  }
});
