// The gateway's telemetry end to end, in process, with an in-memory tracer and meter: the request's
// trace (HTTP span, operation, store reads), continued from an incoming traceparent; a deleted entity
// counted MISSING and named on its operation; /metrics in Prometheus's text format; a batch; and a
// gateway without telemetry, which makes none and has no /metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { startFixture, T0, type Fixture } from './fixture.js';
import { memoryTelemetry, requestTrace, type SpanShape } from '../fixtures/telemetry.js';
import { attributeNames, eventNames, metricNames } from '../../schema/telemetry.js';
import { prometheusContentType } from '../../gateway/telemetry/metrics-endpoint.js';

const MIN = 60_000;
const m = memoryTelemetry();
let f: Fixture;

before(async () => {
  f = await startFixture({ telemetry: m.telemetry });
  await f.order('r1', 'u1', T0 - 5 * MIN, 12);
  f.rows.restaurants.upsert({ key: 'r1', eventTime: T0 - 2 * MIN, values: { isOpen: true, menuSize: 42, cuisineTags: ['thai'] } });
  f.rows.restaurants.upsert({ key: 'r2', eventTime: T0 - 3 * MIN, values: { isOpen: false, menuSize: 7, cuisineTags: [] } });
  await f.refreshRows();
});
after(async () => {
  await f.close();
  await m.close();
});

const post = (body: unknown, headers: Record<string, string> = {}) => fetch(f.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

async function traceOf(body: unknown, headers: Record<string, string> = {}): Promise<{ trace: SpanShape; text: string }> {
  m.clearSpans();
  const text = await (await post(body, headers)).text();
  return { trace: await requestTrace(m), text };
}

const child = (shape: SpanShape, name: string): SpanShape => {
  const found = shape.children.find((c) => c.name === name);
  assert.ok(found, `${shape.name} has no child ${name}: ${shape.children.map((c) => c.name).join(', ')}`);
  return found;
};

test('a query answered by the fast path: HTTP server span, its operation, the online read under it', async () => {
  const { trace } = await traceOf({ query: 'query Menu($id: ID!) { restaurant(restaurantId: $id) { isOpen menuSize ordersLast30m } }', variables: { id: 'r1' } });
  assert.equal(trace.name, 'POST /graphql');
  assert.equal(trace.kind, SpanKind.SERVER);
  assert.deepEqual(trace.attributes, { 'http.request.method': 'POST', 'url.path': '/graphql', 'url.scheme': 'http', 'http.route': '/graphql', 'http.response.status_code': 200 });
  const operation = child(trace, 'query Menu');
  assert.deepEqual(operation.attributes, {
    [attributeNames.path]: 'fast',
    'graphql.operation.type': 'query',
    'graphql.operation.name': 'Menu',
    [attributeNames.present]: 3,
    [attributeNames.missing]: 0,
    [attributeNames.stale]: 0,
    [attributeNames.expired]: 0,
    [attributeNames.oldestAgeMs]: 5 * MIN,
  });
  assert.deepEqual(operation.events, []);
  const read = child(operation, 'featuregraph.online.read');
  assert.equal(read.kind, SpanKind.CLIENT);
  assert.deepEqual(read.attributes, { 'db.system.name': 'memory', [attributeNames.views]: ['restaurant_order_activity', 'restaurant_profile'], 'db.operation.batch.size': 2 });
});

test('an incoming W3C traceparent is continued: same trace, the caller span as parent', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parentId = '00f067aa0ba902b7';
  m.clearSpans();
  await (await post({ query: '{ restaurant(restaurantId: "r1") { isOpen } }' }, { traceparent: `00-${traceId}-${parentId}-01` })).text();
  await requestTrace(m);
  const spans = m.spans();
  assert.ok(spans.length >= 3);
  for (const span of spans) assert.equal(span.spanContext().traceId, traceId);
  const http = spans.find((s) => s.name === 'POST /graphql');
  assert.equal(http?.parentSpanContext?.spanId, parentId);
  assert.equal(http?.parentSpanContext?.isRemote, true);
});

test('a deleted entity and an unknown one: counted MISSING in the metrics, named on the operation with their view', async () => {
  f.rows.restaurants.upsert({ key: 'r2', eventTime: T0 - MIN, values: {}, deleted: true });
  await f.refreshRows();
  const reads = async () => new Map((await m.points(metricNames.featureReads)).map((p) => [`${p.attributes.feature} ${p.attributes.status} ${p.attributes.path}`, p.value]));
  const before = await reads();
  const { trace, text } = await traceOf({ query: '{ restaurants(restaurantIds: ["r1", "r2", "gone"]) { isOpen } }' });
  assert.equal(text, '{"data":{"restaurants":[{"isOpen":true},{"isOpen":null},{"isOpen":null}]}}\n');
  const after = await reads();
  assert.equal((after.get('isOpen MISSING fast') ?? 0) - (before.get('isOpen MISSING fast') ?? 0), 2);
  assert.equal((after.get('isOpen PRESENT fast') ?? 0) - (before.get('isOpen PRESENT fast') ?? 0), 1);
  const operation = child(trace, 'query');
  assert.equal(operation.attributes[attributeNames.missing], 2);
  assert.deepEqual(operation.attributes[attributeNames.missingFeatures], ['isOpen']);
  assert.deepEqual(operation.events, [{ name: eventNames.MISSING, attributes: { [attributeNames.feature]: 'isOpen', [attributeNames.view]: 'restaurant_profile', [attributeNames.entity]: 'Restaurant', [attributeNames.values]: 2 } }]);
});

test('a view whose watermark is past its SLA: its values counted STALE and named; request-time features get their span', async () => {
  // restaurant_profile's source applied up to 10 minutes ago, against an SLA of 5 minutes.
  await f.store.publishWatermarks('restaurant_profile', { e2e: T0 - 10 * MIN }, T0);
  const { trace } = await traceOf({ query: '{ restaurant(restaurantId: "r1") { isOpen ordersLast30m etaMinutes(distanceKm: 2) } }' });
  const operation = child(trace, 'query');
  assert.equal(operation.attributes[attributeNames.stale], 1);
  assert.deepEqual(operation.attributes[attributeNames.staleFeatures], ['isOpen']);
  assert.deepEqual(operation.events.map((e) => [e.name, e.attributes[attributeNames.feature], e.attributes[attributeNames.view]]), [[eventNames.STALE, 'isOpen', 'restaurant_profile']]);
  assert.deepEqual(child(operation, 'featuregraph.request_features').attributes, { [attributeNames.features]: ['etaMinutes'], [attributeNames.values]: 1 });
});

test('view freshness at each collection, from the watermarks in the online store: views without one are left out', async () => {
  await f.store.publishWatermarks('restaurant_profile', { e2e: T0 - 10 * MIN }, T0);
  const byView = async (name: string) => Object.fromEntries((await m.points(name)).map((p) => [String(p.attributes.view), p.value]));
  const freshness = await byView(metricNames.viewFreshness);
  assert.deepEqual(freshness, { restaurant_profile: 600 });
  assert.deepEqual(await byView(metricNames.viewWatermark), { restaurant_profile: (T0 - 10 * MIN) / 1000 });
  assert.deepEqual(await byView(metricNames.viewFreshnessSla), Object.fromEntries([...f.registry.views.values()].map((v) => [v.name, v.freshnessMs / 1000])));
  f.clock.now = T0 + MIN;
  try {
    assert.deepEqual(await byView(metricNames.viewFreshness), { restaurant_profile: 660 }, 'read again at each collection, against the clock');
  } finally {
    f.clock.now = T0;
  }
});

test('asOf is answered by Apollo: its operation reads the history store, under the operation', async () => {
  const { trace } = await traceOf({ query: '{ restaurant(restaurantId: "r1", asOf: "2026-06-01T11:59:00Z") { isOpen } }' });
  const operation = child(trace, 'query');
  assert.equal(operation.attributes[attributeNames.path], 'apollo');
  assert.equal(operation.attributes[attributeNames.present], 1);
  assert.deepEqual(child(operation, 'featuregraph.history.read').attributes, { 'db.system.name': 'memory', [attributeNames.views]: ['restaurant_profile'], 'db.operation.batch.size': 1 });
});

test('a batch: one operation span each, their shared read under the request', async () => {
  const { trace } = await traceOf([{ query: 'query A { restaurant(restaurantId: "r1") { ordersLast30m } }' }, { query: 'query B { restaurant(restaurantId: "r1") { revenueLast24h } }' }]);
  assert.deepEqual(trace.children.map((c) => c.name), ['featuregraph.online.read', 'query A', 'query B']);
  for (const name of ['query A', 'query B']) assert.equal(child(trace, name).attributes[attributeNames.present], 1);
});

test('a document that does not parse: an operation span marked failed with its code', async () => {
  const { trace } = await traceOf({ query: '{ restaurant(' });
  const operation = child(trace, 'GraphQL Operation');
  assert.equal(operation.status, SpanStatusCode.ERROR);
  assert.equal(operation.attributes['error.type'], 'GRAPHQL_PARSE_FAILED');
  assert.equal(trace.attributes['http.response.status_code'], 400);
});

test('/metrics answers in the Prometheus text format, with the feature reads counter', async () => {
  await (await post({ query: '{ restaurant(restaurantId: "r1") { menuSize } }' })).text();
  const response = await fetch(f.url.replace('/graphql', '/metrics'));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), prometheusContentType);
  const text = await response.text();
  assert.match(text, new RegExp(`^# TYPE ${metricNames.featureReads} counter$`, 'm'));
  const sample = text.split('\n').find((line) => line.startsWith(`${metricNames.featureReads}{feature="menuSize",`));
  assert.match(sample ?? '', /^featuregraph_feature_reads_total\{feature="menuSize",view="restaurant_profile",entity="Restaurant",status="PRESENT",path="fast",otel_scope_name="featuregraph"\} \d+$/);
  assert.match(text, new RegExp(`^# TYPE ${metricNames.requestDuration} histogram$`, 'm'));
  assert.equal((await fetch(f.url.replace('/graphql', '/metrics'), { method: 'POST', headers: { 'content-type': 'application/json' } })).status, 405);
  assert.equal(m.spans().filter((s) => s.attributes['url.path'] === '/metrics').length, 0, 'scrapes make no spans');
});

test('a gateway without telemetry: no /metrics, and the same answers', async () => {
  const plain = await startFixture({});
  try {
    const response = await fetch(plain.url.replace('/graphql', '/metrics'));
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { error: 'this gateway runs without metrics (OTEL_METRICS_EXPORTER=none, or OTEL_SDK_DISABLED=true)' });
    assert.deepEqual((await plain.query('{ restaurant(restaurantId: "nope") { isOpen } }')).body, { data: { restaurant: { isOpen: null } } });
  } finally {
    await plain.close();
  }
});
