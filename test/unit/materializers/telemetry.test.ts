// The materializers' spans and metrics, read back from in-memory exporters: a stream batch is a span
// linked to the producers' trace contexts its messages carry (distinct, bounded), counted as events,
// batches by outcome, failures, dead letters by view, lag and last success; a run of a row view is a
// span with the run's own times. With no SDK registered nothing is made at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadFeatureRepo } from '../../../schema/load.js';
import { OnlineStoreError } from '../../../schema/errors.js';
import { metricNames, spanNames } from '../../../schema/telemetry.js';
import { MemoryOnlineStore } from '../../../adapters/online/memory/index.js';
import { MemoryStream } from '../../../adapters/sources/memory/stream.js';
import type { TileWrite, TileWriteOutcome } from '../../../adapters/online/types.js';
import type { StreamBatch, TraceHeaders } from '../../../adapters/sources/types.js';
import { StreamMaterializer } from '../../../materializers/stream/materializer.js';
import { maxBatchLinks, observeRowRuns, producerContext, recordViewWatermark, StreamTelemetry } from '../../../materializers/telemetry.js';
import type { BatchRun } from '../../../materializers/batch/scheduler.js';
import { memoryTelemetry, memoryTelemetryRegistered, metricPoints } from '../../fixtures/otel-memory.js';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const order = (restaurantId: string, atMs: number) => JSON.stringify({ orderId: 'o', restaurantId, userId: 'u1', createdAt: new Date(atMs).toISOString(), totalPrice: 10, cuisine: 'thai' });
const traceId = (n: number) => n.toString(16).padStart(32, '0');
const spanId = (n: number) => n.toString(16).padStart(16, '0');
const traceparent = (t: number, s: number) => `00-${traceId(t)}-${spanId(s)}-01`;

/** Fails the next applyTiles, as a store that is down does. */
class FlakyStore extends MemoryOnlineStore {
  failNext = false;
  override async applyTiles(writes: readonly TileWrite[]): Promise<TileWriteOutcome[]> {
    if (this.failNext) {
      this.failNext = false;
      throw new OnlineStoreError('memory', 'applyTiles: connection refused');
    }
    return super.applyTiles(writes);
  }
}

async function setup(topic: string, store = new MemoryOnlineStore({ now: () => T0 })) {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  // The repo's stream views, read from this test's own topic: its metrics are apart from other tests'.
  const views = [...registry.views.values()].filter((v) => v.source.kind === 'stream').map((v) => ({ ...v, source: { ...v.source, topic } }) as typeof v);
  const materializer = new StreamMaterializer({ topic, views, store, source: new MemoryStream(1, () => T0), now: () => T0 });
  return { registry, materializer, store };
}

const batchOf = (topic: string, values: (string | null)[], headers: (TraceHeaders | null)[] = [], extra: Partial<StreamBatch> = {}): StreamBatch => ({
  topic,
  partition: 2,
  messages: values.map((value, i) => ({ partition: 2, offset: 100 + i, key: null, value, timestampMs: T0, headers: headers[i] ?? null })),
  ...extra,
});

const spansOf = (topic: string): ReadableSpan[] => memoryTelemetry().spans.getFinishedSpans().filter((s) => s.attributes['messaging.destination.name'] === topic);

test('with no OpenTelemetry SDK registered, a materializer observes nothing and a scheduler keeps its own onRun', async () => {
  assert.equal(memoryTelemetryRegistered(), false, 'this test runs before any provider is registered');
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  assert.equal(StreamTelemetry.start('orders', [], 'kafka', () => T0), null);
  const onRun = () => {};
  assert.equal(observeRowRuns(registry, onRun), onRun);
  assert.equal(observeRowRuns(registry, undefined), undefined);
});

test('a batch is a consumer span with the messaging attributes, linked to each distinct producer context its headers carry', async () => {
  memoryTelemetry();
  const topic = 'orders-links';
  const { materializer } = await setup(topic);
  const headers = [{ traceparent: traceparent(1, 1), tracestate: 'vendor=a' }, null, { traceparent: traceparent(1, 1) }, { traceparent: traceparent(2, 7) }, { traceparent: 'not a traceparent' }, { traceparent: `ff-${traceId(3)}-${spanId(3)}-01` }];
  await materializer.handle(batchOf(topic, [order('r1', T0 - 1000), order('r1', T0 - 2000), order('r2', T0 - 3000), order('r2', T0 - 4000), order('r3', T0 - 5000), '{oops'], headers, { highWatermark: 110 }));
  const [span, ...others] = spansOf(topic);
  assert.equal(others.length, 0);
  assert.ok(span);
  assert.equal(span.name, spanNames.streamBatch);
  assert.equal(span.kind, SpanKind.CONSUMER);
  assert.equal(span.parentSpanContext, undefined, 'a root: it links to its producers rather than continuing one');
  assert.deepEqual(span.attributes, {
    'messaging.system': 'memory-stream',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': topic,
    'messaging.destination.partition.id': '2',
    'messaging.batch.message_count': 6,
    'featuregraph.events': 6,
    'featuregraph.views': ['restaurant_order_activity', 'user_order_activity'],
    'featuregraph.offset.first': 100,
    'featuregraph.offset.last': 105,
    'featuregraph.lag': 4,
    // Per view and key: r1, r2, r3 for restaurants and u1 for users; one message refused by each view.
    'featuregraph.writes': 4,
    'featuregraph.dead_letters': 2,
    'featuregraph.outcome': 'applied',
  });
  assert.deepEqual(
    span.links.map((link) => [link.context.traceId, link.context.spanId, link.context.isRemote, link.context.traceState?.serialize()]),
    [
      [traceId(1), spanId(1), true, 'vendor=a'],
      [traceId(2), spanId(7), true, undefined],
    ],
  );
  assert.equal(span.status.code, SpanStatusCode.UNSET);
});

test(`a batch links to at most ${maxBatchLinks} producer contexts`, async () => {
  memoryTelemetry();
  const topic = 'orders-many-links';
  const { materializer } = await setup(topic);
  const values = Array.from({ length: 50 }, (_, i) => order(`r${i}`, T0 - 1000));
  await materializer.handle(batchOf(topic, values, values.map((_, i) => ({ traceparent: traceparent(100 + i, 1) }))));
  const [span] = spansOf(topic);
  assert.deepEqual(span?.links.map((l) => l.context.traceId), Array.from({ length: maxBatchLinks }, (_, i) => traceId(100 + i)));
});

test('metrics per batch: events, batches by outcome, failures, dead letters by view (from 0), lag and last success per partition', async () => {
  const { spans } = memoryTelemetry();
  const topic = 'orders-metrics';
  const store = new FlakyStore({ now: () => T0 });
  const { materializer } = await setup(topic, store);
  const ofTopic = (a: Record<string, unknown>) => a.topic === topic;
  assert.deepEqual(await metricPoints(metricNames.materializerDeadLetters, ofTopic), [
    { attributes: { topic, view: 'restaurant_order_activity' }, value: 0 },
    { attributes: { topic, view: 'user_order_activity' }, value: 0 },
  ]);

  await materializer.handle(batchOf(topic, [order('r1', T0 - 1000), order('r2', T0 - 1000), 'null'], [], { highWatermark: 103 }));
  const partition = { topic, partition: '2' };
  assert.deepEqual(await metricPoints(metricNames.materializerEvents, ofTopic), [{ attributes: partition, value: 3 }]);
  assert.deepEqual(await metricPoints(metricNames.materializerBatches, ofTopic), [{ attributes: { ...partition, outcome: 'applied' }, value: 1 }]);
  assert.deepEqual(await metricPoints(metricNames.materializerLag, ofTopic), [{ attributes: partition, value: 0 }]);
  assert.deepEqual(await metricPoints(metricNames.materializerLastSuccess, ofTopic), [{ attributes: partition, value: T0 / 1000 }]);
  assert.deepEqual(await metricPoints(metricNames.materializerDeadLetters, ofTopic), [
    { attributes: { topic, view: 'restaurant_order_activity' }, value: 1 },
    { attributes: { topic, view: 'user_order_activity' }, value: 1 },
  ]);

  store.failNext = true;
  await assert.rejects(materializer.handle(batchOf(topic, [order('r1', T0 - 500)], [], { highWatermark: 104 })), OnlineStoreError);
  const failed = spansOf(topic).at(-1);
  assert.equal(failed?.status.code, SpanStatusCode.ERROR);
  assert.equal(failed?.status.message, 'ONLINE_STORE_UNAVAILABLE: online store memory: applyTiles: connection refused');
  assert.equal(failed?.attributes['featuregraph.outcome'], 'failed');
  assert.equal(failed?.events[0]?.name, 'exception');
  assert.deepEqual(await metricPoints(metricNames.materializerBatches, ofTopic), [
    { attributes: { ...partition, outcome: 'applied' }, value: 1 },
    { attributes: { ...partition, outcome: 'failed' }, value: 1 },
  ]);
  assert.deepEqual(await metricPoints(metricNames.materializerFailures, ofTopic), [{ attributes: partition, value: 1 }]);
  // A failed batch is not counted as applied events; fetched again, it is.
  assert.deepEqual(await metricPoints(metricNames.materializerEvents, ofTopic), [{ attributes: partition, value: 3 }]);
  await materializer.handle(batchOf(topic, [order('r1', T0 - 500)], [], { highWatermark: 110 }));
  assert.deepEqual(await metricPoints(metricNames.materializerEvents, ofTopic), [{ attributes: partition, value: 4 }]);
  assert.deepEqual(await metricPoints(metricNames.materializerLag, ofTopic), [{ attributes: partition, value: 9 }]);
  assert.equal(spans.getFinishedSpans().filter((s) => s.attributes['messaging.destination.name'] === topic).length, 3);
});

test('a run of a row view is a span with its own start and end, counted by outcome', async () => {
  const { spans } = memoryTelemetry();
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const told: BatchRun[] = [];
  const onRun = observeRowRuns(registry, (run) => told.push(run));
  assert.ok(onRun);
  const base = { jobId: 'j', worker: 'w', scheduledFor: null, attempt: 1 };
  onRun({ ...base, view: 'restaurant_profile', startedAt: T0, finishedAt: T0 + 250, rows: 7, outcome: 'done' });
  onRun({ ...base, view: 'restaurant_prep', attempt: 2, startedAt: T0 + 1000, finishedAt: T0 + 1100, rows: 0, outcome: 'failed', error: 'SOURCE_UNAVAILABLE: warehouse down', retrying: true });
  assert.equal(told.length, 2, "the scheduler's own onRun is still told");
  const runs = spans.getFinishedSpans().filter((s) => s.name === spanNames.rowsRun);
  assert.deepEqual(
    runs.map((s) => ({ attributes: s.attributes, start: s.startTime, end: s.endTime, status: s.status })),
    [
      {
        attributes: { 'featuregraph.view': 'restaurant_profile', 'featuregraph.entity': 'Restaurant', 'featuregraph.mode': 'poll', 'featuregraph.events': 7, 'featuregraph.outcome': 'done', 'featuregraph.attempt': 1 },
        start: [T0 / 1000, 0],
        end: [T0 / 1000, 250_000_000],
        status: { code: SpanStatusCode.UNSET },
      },
      {
        attributes: { 'featuregraph.view': 'restaurant_prep', 'featuregraph.entity': 'Restaurant', 'featuregraph.mode': 'run', 'featuregraph.events': 0, 'featuregraph.outcome': 'failed', 'featuregraph.attempt': 2 },
        start: [T0 / 1000 + 1, 0],
        end: [T0 / 1000 + 1, 100_000_000],
        status: { code: SpanStatusCode.ERROR, message: 'SOURCE_UNAVAILABLE: warehouse down' },
      },
    ],
  );
  const ofRows = (a: Record<string, unknown>) => a.view === 'restaurant_profile' || a.view === 'restaurant_prep';
  assert.deepEqual(await metricPoints(metricNames.materializerBatches, ofRows), [
    { attributes: { view: 'restaurant_profile', outcome: 'done' }, value: 1 },
    { attributes: { view: 'restaurant_prep', outcome: 'failed' }, value: 1 },
  ]);
  assert.deepEqual(await metricPoints(metricNames.materializerEvents, ofRows), [{ attributes: { view: 'restaurant_profile' }, value: 7 }]);
  assert.deepEqual(await metricPoints(metricNames.materializerFailures, ofRows), [{ attributes: { view: 'restaurant_prep' }, value: 1 }]);
  assert.deepEqual(await metricPoints(metricNames.materializerLastSuccess, ofRows), [{ attributes: { view: 'restaurant_profile' }, value: (T0 + 250) / 1000 }]);
});

test('a published view watermark is a gauge in epoch seconds', async () => {
  memoryTelemetry();
  recordViewWatermark('restaurant_order_activity', T0 - 1500);
  assert.deepEqual(await metricPoints(metricNames.materializerWatermark), [{ attributes: { view: 'restaurant_order_activity' }, value: (T0 - 1500) / 1000 }]);
});

test('traceparent headers: version 00 exactly, later versions with more, never ff or all-zero ids', () => {
  assert.deepEqual(producerContext({ traceparent: traceparent(5, 6) }), { traceId: traceId(5), spanId: spanId(6), traceFlags: 1, isRemote: true });
  assert.equal(producerContext({ traceparent: `01-${traceId(5)}-${spanId(6)}-00-future` })?.traceFlags, 0);
  for (const bad of [`00-${traceId(5)}-${spanId(6)}-01-extra`, `ff-${traceId(5)}-${spanId(6)}-01`, `00-${traceId(0)}-${spanId(6)}-01`, `00-${traceId(5)}-${spanId(0)}-01`, `00-${traceId(5).toUpperCase()}A-${spanId(6)}-01`, '']) {
    assert.equal(producerContext({ traceparent: bad }), null, bad);
  }
});
