// The operation's telemetry, which both serving paths report through: what its span says (counts,
// names, events, error), which metrics it records (online reads only; ages per view; durations by a
// bounded operation label), store calls' spans and errors, and nothing at all where nothing listens.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { loadFeatureRepo } from '../../../schema/load.js';
import type { FeatureRegistry, ResolvedFeature } from '../../../schema/registry.js';
import { attributeNames, eventNames, metricNames } from '../../../schema/telemetry.js';
import { maxNamedFeatures, maxOperationNames, ServingTelemetry } from '../../../resolvers/telemetry.js';
import { memoryTelemetry } from '../../fixtures/telemetry.js';
import { FeaturegraphError } from '../../../schema/errors.js';

let registry: FeatureRegistry;
let feature: (name: string) => ResolvedFeature;

before(async () => {
  registry = await loadFeatureRepo('examples/food-delivery/features');
  const all = [...registry.features()];
  feature = (name) => all.find((f) => f.name === name) as ResolvedFeature;
});

const serving = (m = memoryTelemetry()) => ({ m, serving: new ServingTelemetry({ tracer: m.telemetry.tracer, meter: m.telemetry.meter, onlineSystem: 'redis', historySystem: 'duckdb' }) });

test('the operation span: counts by status over online and past reads, the oldest age, names and one event per feature and status', async () => {
  const { m, serving: s } = serving();
  const op = s.request().startOperation();
  op.identify('query', 'Orders');
  op.read(feature('ordersLast30m'), 'PRESENT', 1000, true);
  op.read(feature('ordersLast30m'), 'STALE', 90_000, true);
  op.read(feature('ordersLast30m'), 'STALE', 80_000, true);
  op.read(feature('isOpen'), 'MISSING', null, true);
  op.read(feature('isOpen'), 'EXPIRED', 500_000, false);
  op.finish('apollo');
  const [span] = m.spans();
  assert.ok(span);
  assert.equal(span.name, 'query Orders');
  assert.equal(span.kind, SpanKind.INTERNAL);
  assert.deepEqual(span.attributes, {
    [attributeNames.path]: 'apollo',
    [attributeNames.present]: 1,
    [attributeNames.missing]: 1,
    [attributeNames.stale]: 2,
    [attributeNames.expired]: 1,
    'graphql.operation.type': 'query',
    'graphql.operation.name': 'Orders',
    [attributeNames.oldestAgeMs]: 500_000,
    [attributeNames.missingFeatures]: ['isOpen'],
    [attributeNames.staleFeatures]: ['ordersLast30m'],
    [attributeNames.expiredFeatures]: ['isOpen'],
  });
  assert.deepEqual(
    span.events.map((e) => [e.name, e.attributes]),
    [
      [eventNames.MISSING, { [attributeNames.feature]: 'isOpen', [attributeNames.view]: 'restaurant_profile', [attributeNames.entity]: 'Restaurant', [attributeNames.values]: 1 }],
      [eventNames.STALE, { [attributeNames.feature]: 'ordersLast30m', [attributeNames.view]: 'restaurant_order_activity', [attributeNames.entity]: 'Restaurant', [attributeNames.values]: 2 }],
      [eventNames.EXPIRED, { [attributeNames.feature]: 'isOpen', [attributeNames.view]: 'restaurant_profile', [attributeNames.entity]: 'Restaurant', [attributeNames.values]: 1 }],
    ],
  );
  assert.equal(span.status.code, SpanStatusCode.UNSET);
  await m.close();
});

test('metrics count online reads only, by feature, status and path; ages once per view (the oldest online one)', async () => {
  const { m, serving: s } = serving();
  const fast = s.request().startOperation();
  fast.readCounts(feature('ordersLast30m'), [5, 1, 0, 0], 0);
  fast.viewAge(feature('ordersLast30m').view, 2000);
  fast.viewAge(feature('ordersLast30m').view, 7000);
  fast.finish('fast');
  const apollo = s.request().startOperation();
  apollo.read(feature('ordersLast30m'), 'PRESENT', 3000, true);
  apollo.read(feature('ordersLast30m'), 'PRESENT', 900_000, false);
  apollo.read(feature('isOpen'), 'MISSING', null, false);
  apollo.finish('apollo');
  const reads = (await m.points(metricNames.featureReads)).map((p) => [p.attributes.feature, p.attributes.status, p.attributes.path, p.value]);
  assert.deepEqual(reads.sort(), [
    ['ordersLast30m', 'MISSING', 'fast', 1],
    ['ordersLast30m', 'PRESENT', 'apollo', 1],
    ['ordersLast30m', 'PRESENT', 'fast', 5],
  ]);
  const ages = await m.points(metricNames.featureValueAge);
  assert.deepEqual(ages.map((p) => [p.attributes, p.value, p.sum]), [[{ view: 'restaurant_order_activity', entity: 'Restaurant' }, 2, 10]]);
  const durations = await m.points(metricNames.requestDuration);
  assert.deepEqual(durations.map((p) => `${p.attributes.operation} ${p.attributes.path} ${p.value}`).sort(), ['GraphQL Operation apollo 1', 'GraphQL Operation fast 1']);
  await m.close();
});

test('at most maxNamedFeatures names per status on the span; every feature still gets its event', async () => {
  const { m, serving: s } = serving();
  const op = s.request().startOperation();
  // One feature under many made-up names: more names than the bound.
  const many = Array.from({ length: maxNamedFeatures + 5 }, (_, i) => ({ ...feature('isOpen'), name: `f${String(i).padStart(2, '0')}` }));
  for (const f of many) op.read(f, 'MISSING', null, true);
  op.finish('fast');
  const [span] = m.spans();
  assert.deepEqual(span?.attributes[attributeNames.missingFeatures], many.slice(0, maxNamedFeatures).map((f) => f.name));
  assert.equal(span?.events.length, many.length);
  await m.close();
});

test('a failed operation: error status and error.type, the first code given', async () => {
  const { m, serving: s } = serving();
  const op = s.request().startOperation();
  op.failed('ONLINE_STORE_UNAVAILABLE');
  op.failed('INTERNAL');
  op.finish('fast');
  op.finish('apollo');
  const spans = m.spans();
  assert.equal(spans.length, 1, 'finished once');
  assert.equal(spans[0]?.status.code, SpanStatusCode.ERROR);
  assert.equal(spans[0]?.attributes['error.type'], 'ONLINE_STORE_UNAVAILABLE');
  assert.equal(spans[0]?.attributes[attributeNames.path], 'fast');
  await m.close();
});

test('the operation label: plain names up to maxOperationNames, then "<type> other"; odd names never; unnamed by type', () => {
  const s = new ServingTelemetry({ onlineSystem: 'redis' });
  assert.equal(s.operationLabel('query', null), 'query');
  assert.equal(s.operationLabel(null, null), 'GraphQL Operation');
  assert.equal(s.operationLabel('query', 'not a name'), 'query other');
  for (let i = 0; i < maxOperationNames; i++) assert.equal(s.operationLabel('query', `Q${i}`), `query Q${i}`);
  assert.equal(s.operationLabel('query', 'OneTooMany'), 'query other');
  assert.equal(s.operationLabel('query', 'Q7'), 'query Q7', 'a name seen before keeps its label');
  assert.equal(s.operationLabel('mutation', 'Q8'), 'mutation other', 'type and name make the label: a new pair is a new name');
});

test('store calls: a client span with db.system.name, views and keys; a failure marks it, counts an error and is rethrown', async () => {
  const { m, serving: s } = serving();
  const request = s.request();
  const op = request.startOperation();
  assert.equal(await op.onlineRead([{ view: 'b', key: '1' }, { view: 'a', key: '1' }, { view: 'b', key: '2' }], async () => 'values'), 'values');
  const failure = new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', 'history store embedded failed');
  await assert.rejects(request.historyRead(['v'], 3, () => Promise.reject(failure)), failure);
  op.finish('apollo');
  const spans = m.spans();
  const online = spans.find((x) => x.name === 'featuregraph.online.read');
  const history = spans.find((x) => x.name === 'featuregraph.history.read');
  const operation = spans.find((x) => x.name === 'GraphQL Operation');
  assert.ok(online && history && operation);
  assert.equal(online.kind, SpanKind.CLIENT);
  assert.deepEqual(online.attributes, { 'db.system.name': 'redis', [attributeNames.views]: ['a', 'b'], 'db.operation.batch.size': 3 });
  assert.equal(online.parentSpanContext?.spanId, operation.spanContext().spanId);
  assert.equal(history.parentSpanContext?.spanId, operation.spanContext().spanId, 'the loader of a one-operation request reads for that operation');
  assert.equal(history.status.code, SpanStatusCode.ERROR);
  assert.equal(history.attributes['error.type'], 'HISTORY_STORE_UNAVAILABLE');
  assert.equal(history.attributes['db.system.name'], 'duckdb');
  const errors = await m.points(metricNames.storeErrors);
  assert.deepEqual(errors.map((p) => [p.attributes, p.value]), [[{ store: 'history' }, 1]]);
  const calls = await m.points(metricNames.storeCallDuration);
  assert.deepEqual(calls.map((p) => `${p.attributes.store} ${p.value}`).sort(), ['history 1', 'online 1']);
  await m.close();
});

test("a batch's loader reads for the request, not for one of its operations", async () => {
  const { m, serving: s } = serving();
  const http = m.telemetry.tracer.startSpan('POST /graphql');
  const request = s.request(trace.setSpan(ROOT_CONTEXT, http));
  const a = request.startOperation();
  const b = request.startOperation();
  await request.onlineRead([{ view: 'v', key: 'k' }], async () => null);
  a.finish('apollo');
  b.finish('apollo');
  http.end();
  const read = m.spans().find((x) => x.name === 'featuregraph.online.read');
  assert.equal(read?.parentSpanContext?.spanId, http.spanContext().spanId);
  await m.close();
});

test('the operation the fast path hands over is taken once; one never taken is finished as Apollo’s', async () => {
  const { m, serving: s } = serving();
  const request = s.request();
  const handed = request.startOperation();
  request.handOver(handed);
  assert.equal(request.takeOperation(), handed);
  assert.notEqual(request.takeOperation(), handed, 'a second operation of the request is a new one');
  const lost = request.startOperation();
  request.handOver(lost);
  request.finishPending();
  assert.deepEqual(m.spans().map((x) => x.attributes[attributeNames.path]), ['apollo']);
  await m.close();
});

test('an operation not sampled: a span that records nothing, and the metrics all the same', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler: new AlwaysOffSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const m = memoryTelemetry();
  const s = new ServingTelemetry({ tracer: provider.getTracer('t'), meter: m.telemetry.meter, onlineSystem: 'redis' });
  const op = s.request().startOperation();
  assert.equal(op.recorded, false);
  op.read(feature('isOpen'), 'MISSING', null, true);
  op.finish('fast');
  // Under a request span not sampled, the operation makes no span at all (nor do its store reads).
  const http = provider.getTracer('t').startSpan('POST /graphql');
  const under = s.request(trace.setSpan(ROOT_CONTEXT, http)).startOperation();
  assert.equal(under.span, null);
  await under.onlineRead([{ view: 'v', key: 'k' }], async () => null);
  under.finish('fast');
  http.end();
  assert.equal(exporter.getFinishedSpans().length, 0);
  assert.deepEqual((await m.points(metricNames.featureReads)).map((p) => p.value), [1]);
  assert.deepEqual((await m.points(metricNames.storeCallDuration)).map((p) => p.value), [1], 'the store call is measured all the same');
  await Promise.all([provider.shutdown(), m.close()]);
});

test('neither tracer nor meter: no span, nothing recorded, and the call still answers', async () => {
  const s = new ServingTelemetry({ onlineSystem: 'redis' });
  const op = s.request().startOperation();
  assert.equal(op.span, null);
  assert.equal(op.context, ROOT_CONTEXT);
  assert.equal(await op.onlineRead([], async () => 42), 42);
  op.read(feature('isOpen'), 'PRESENT', 1, true);
  op.finish('fast');
});

test('two gateways reporting to one meter add up their reads (one observation per label set)', async () => {
  const m = memoryTelemetry();
  const options = { tracer: null, meter: m.telemetry.meter, onlineSystem: 'memory' };
  for (const s of [new ServingTelemetry(options), new ServingTelemetry(options)]) {
    const op = s.request().startOperation();
    op.read(feature('isOpen'), 'PRESENT', 1, true);
    op.finish('apollo');
  }
  assert.deepEqual((await m.points(metricNames.featureReads)).map((p) => p.value), [2]);
  await m.close();
});
