// The serving paths' own histograms against the SDK's: the same observations collected as the same
// data (buckets, counts, sum, min, max) by a reader, label sets equal in content sharing their series,
// and served at /metrics in the same text as the SDK's instrument gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { ServingHistograms } from '../../../../gateway/telemetry/histograms.js';
import { PrometheusEndpoint } from '../../../../gateway/telemetry/metrics-endpoint.js';

const spec = { name: 'featuregraph_unit_seconds', description: 'a test histogram', unit: 's', boundaries: [0.001, 0.01, 0.1, 1] };
const observations: [number, Record<string, string>][] = [
  [0.0005, { path: 'fast', operation: 'query A' }],
  [0.001, { path: 'fast', operation: 'query A' }],
  [0.05, { operation: 'query A', path: 'fast' }],
  [3, { path: 'apollo', operation: 'query A' }],
  [0.1, { path: 'apollo', operation: 'query A' }],
  [Number.NaN, { path: 'apollo', operation: 'query A' }],
];

/** The serving paths' histograms and the SDK's instrument, each read by a Prometheus endpoint of its own. */
function histogramsSideBySide() {
  const own = new ServingHistograms();
  const ownEndpoint = new PrometheusEndpoint([own]);
  const ownProvider = new MeterProvider({ readers: [ownEndpoint.reader] });
  const sdkEndpoint = new PrometheusEndpoint();
  const sdkProvider = new MeterProvider({ readers: [sdkEndpoint.reader] });
  const sdk = sdkProvider.getMeter('featuregraph').createHistogram(spec.name, { description: spec.description, unit: spec.unit, advice: { explicitBucketBoundaries: spec.boundaries } });
  return { own, ownEndpoint, sdk, sdkEndpoint, close: async () => void (await Promise.all([ownProvider.shutdown(), sdkProvider.shutdown()])) };
}

/** The data points of the one histogram a reader collected, by their labels. */
async function collected(endpoint: PrometheusEndpoint): Promise<Record<string, Omit<Histogram, 'buckets'> & { counts: number[]; boundaries: number[] }>> {
  const { resourceMetrics } = await endpoint.reader.collect();
  const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === spec.name);
  assert.ok(metric);
  const points = metric.dataPoints as DataPoint<Histogram>[];
  return Object.fromEntries(points.map((p) => [JSON.stringify(Object.entries(p.attributes).sort()), { count: p.value.count, sum: p.value.sum, min: p.value.min, max: p.value.max, counts: p.value.buckets.counts, boundaries: p.value.buckets.boundaries }]));
}

test('the same observations: the same buckets, counts, sums and extremes as the SDK instrument, by label set', async () => {
  const { own, ownEndpoint, sdk, sdkEndpoint, close } = histogramsSideBySide();
  const histogram = own.histogram(spec);
  assert.equal(own.histogram(spec), histogram, 'asked again, the same histogram');
  for (const [value, labels] of observations) {
    histogram.record(value, labels);
    sdk.record(value, labels);
  }
  const mine = await collected(ownEndpoint);
  assert.deepEqual(mine, await collected(sdkEndpoint));
  assert.deepEqual(Object.values(mine).map((p) => p.counts), [[2, 0, 1, 0, 0], [0, 0, 1, 0, 1]], 'a value equal to a boundary falls in its bucket; NaN is not counted');
  await close();
});

test('served at /metrics as the SDK serves its own: the same lines', async () => {
  const { own, ownEndpoint, sdk, sdkEndpoint, close } = histogramsSideBySide();
  const labels = { path: 'fast', operation: 'query A' };
  own.histogram(spec).record(0.02, labels);
  sdk.record(0.02, labels);
  const text = async (endpoint: PrometheusEndpoint) => {
    const lines: string[] = [];
    await endpoint.handle({ method: 'GET' } as never, { writeHead: () => undefined, end: (body: string) => lines.push(...body.split('\n')) } as never);
    return lines.filter((line) => line.includes(spec.name));
  };
  const served = await text(ownEndpoint);
  assert.deepEqual(served, await text(sdkEndpoint));
  assert.ok(served.includes('featuregraph_unit_seconds_bucket{path="fast",operation="query A",otel_scope_name="featuregraph",le="0.1"} 1'), served.join('\n'));
  await close();
});
