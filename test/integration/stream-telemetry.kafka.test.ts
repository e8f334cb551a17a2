// The stream materializer's telemetry on the real broker: events produced with a W3C traceparent header
// (the producer's span) are materialized by a batch span that links to that span, with the topic,
// partition and offsets Kafka gave them, and counted with the partition's lag from kafkajs's high
// watermark. Spans and metrics are read from in-memory exporters (test/fixtures/otel-memory.ts).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import { KafkaStreamSource } from '../../adapters/sources/kafka/index.js';
import { startMaterializers } from '../../materializers/runtime.js';
import { metricNames, spanNames, tracer } from '../../schema/telemetry.js';
import { requireEndpoint } from '../services/endpoints.js';
import { kafkaClient, merchantKeys, paymentEvent, paymentsRegistry, seededRandom, topicWithProducer, waitUntil } from '../fixtures/stream.js';
import { memoryTelemetry, metricPoints } from '../fixtures/otel-memory.js';

const T0 = Date.parse('2026-06-01T12:00:07.345Z');
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

test('a batch of events produced with a traceparent header is a span linked to the producer span, and counted', { timeout: 180_000 }, async () => {
  // Before the materializer is made: it asks once whether an SDK is registered.
  const { spans } = memoryTelemetry();
  const { brokers } = requireEndpoint('kafka');
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const topic = `fg-telemetry-${runId}`;
  const kafka = kafkaClient(brokers, 'telemetry-test');
  const { producer } = await topicWithProducer(kafka, topic, cleanups);

  // The producer's own span, as an instrumented service would send the events from.
  const produced = tracer().startSpan('checkout publish', { kind: SpanKind.PRODUCER });
  const { traceId, spanId } = produced.spanContext();
  const rng = seededRandom(5);
  const [key] = merchantKeys(1) as [string];
  const headers = { traceparent: `00-${traceId}-${spanId}-01`, tracestate: 'shop=checkout', baggage: 'not=kept' };
  const messages = Array.from({ length: 4 }, (_, i) => ({ partition: 1, key, value: paymentEvent(rng, key, T0 - 60_000 - i).value as string, headers }));
  await producer.send({ topic, messages });
  produced.end();

  const store = new MemoryOnlineStore({ now: () => T0 });
  const source = new KafkaStreamSource({ brokers, clientId: 'telemetry-test', sessionTimeoutMs: 6000 });
  cleanups.push(() => source.close());
  const runtime = await startMaterializers({ registry: paymentsRegistry(topic), store, groupId: `fg-telemetry-${runId}`, now: () => T0, bindings: { stream: () => source } });
  cleanups.push(() => runtime.stop());

  const batchSpans = () => spans.getFinishedSpans().filter((s) => s.name === spanNames.streamBatch && s.attributes['messaging.destination.name'] === topic);
  const applied = async () => (await metricPoints(metricNames.materializerEvents, (a) => a.topic === topic)).reduce((n, p) => n + p.value, 0);
  await waitUntil(async () => (await applied()) === 4, 90_000, async () => `events counted ${await applied()}; batch spans ${JSON.stringify(batchSpans().map((s) => s.attributes))}`);

  const [span, ...more] = batchSpans();
  assert.equal(more.length, 0, 'the four events came in one batch');
  assert.ok(span);
  assert.equal(span.kind, SpanKind.CONSUMER);
  assert.deepEqual(span.links.map((link) => ({ traceId: link.context.traceId, spanId: link.context.spanId, traceState: link.context.traceState?.serialize() })), [{ traceId, spanId, traceState: 'shop=checkout' }]);
  assert.deepEqual(
    {
      system: span.attributes['messaging.system'],
      partition: span.attributes['messaging.destination.partition.id'],
      count: span.attributes['messaging.batch.message_count'],
      first: span.attributes['featuregraph.offset.first'],
      last: span.attributes['featuregraph.offset.last'],
      lag: span.attributes['featuregraph.lag'],
      outcome: span.attributes['featuregraph.outcome'],
    },
    { system: 'kafka', partition: '1', count: 4, first: 0, last: 3, lag: 0, outcome: 'applied' },
  );
  const partition = { topic, partition: '1' };
  assert.deepEqual(await metricPoints(metricNames.materializerLag, (a) => a.topic === topic), [{ attributes: partition, value: 0 }]);
  assert.deepEqual(await metricPoints(metricNames.materializerBatches, (a) => a.topic === topic), [{ attributes: { ...partition, outcome: 'applied' }, value: 1 }]);
});
