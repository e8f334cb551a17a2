// The monitor's gauges: one series per health row and gauge, labelled by registry names; ratios only
// for rows past their feature's monitor.minValues; exactly the last successful run's series (a segment
// that disappeared is gone at the next update); failures counted; names as Prometheus shows them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider, type DataPoint, type MetricData } from '@opentelemetry/sdk-metrics';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { metricNames } from '../../../../schema/telemetry.js';
import { MonitorMetrics } from '../../../../materializers/monitor/metrics.js';
import { PrometheusEndpoint } from '../../../../gateway/telemetry/metrics-endpoint.js';
import { healthRow } from '../../../fixtures/health-engine.js';

const registry = await loadFeatureRepo('examples/food-delivery/features');
const T = Date.UTC(2026, 5, 1, 12);

/** The metrics a collection gives, by name: each series' labels and value. */
async function collected(metrics: MonitorMetrics): Promise<Map<string, { labels: Record<string, unknown>; value: number }[]>> {
  const { resourceMetrics } = await metrics.collect();
  const byName = new Map<string, { labels: Record<string, unknown>; value: number }[]>();
  for (const metric of resourceMetrics.scopeMetrics.flatMap((s) => s.metrics) as MetricData[]) {
    byName.set(metric.descriptor.name, (metric.dataPoints as DataPoint<number>[]).map((p) => ({ labels: p.attributes, value: p.value })));
  }
  return byName;
}

const segmentsOf = (series: { labels: Record<string, unknown> }[] | undefined) => (series ?? []).map((s) => `${String(s.labels.feature)}/${String(s.labels.segment)}/${String(s.labels.direction)}`).sort();

const berlin = healthRow({ segment: 'city=Berlin', values: 100, missingRate: 0.5, staleRate: 0.1, nullRate: 0.02, outOfRangeRate: 0.03, psi: 0.4, skewRate: 0.25 });
// Under Restaurant.ordersLast30m's minValues (30, the default): a count, no ratio.
const paris = healthRow({ segment: 'city=Paris', values: 10, missingRate: 1, psi: 3, skewRate: 1 });
const eta = healthRow({ feature: 'etaMinutes', view: null, owner: 'eta-team', values: 40, psi: null, skewRate: null, skewChecked: 0 });
const incoming = healthRow({ direction: 'incoming', values: 50, nullRate: 0.2, skewRate: null, skewChecked: 0 });

test('each row is a series per gauge, labelled feature, entity, view, owner, segment, direction; ratios only past minValues', async () => {
  const metrics = new MonitorMetrics(registry);
  metrics.update([berlin, paris, eta, incoming], T);
  const got = await collected(metrics);
  assert.deepEqual(got.get(metricNames.monitorMissingRatio)?.find((s) => s.labels.segment === 'city=Berlin'), {
    labels: { feature: 'ordersLast30m', entity: 'Restaurant', view: 'restaurant_order_activity', owner: 'eta-team', segment: 'city=Berlin', direction: 'served' },
    value: 0.5,
  });
  // A request-time feature has no view label.
  assert.deepEqual(got.get(metricNames.monitorValues)?.find((s) => s.labels.feature === 'etaMinutes')?.labels, { feature: 'etaMinutes', entity: 'Restaurant', owner: 'eta-team', segment: '*', direction: 'served' });
  assert.deepEqual(segmentsOf(got.get(metricNames.monitorValues)), ['etaMinutes/*/served', 'ordersLast30m/*/incoming', 'ordersLast30m/city=Berlin/served', 'ordersLast30m/city=Paris/served']);
  assert.deepEqual(got.get(metricNames.monitorValues)?.map((s) => s.value).sort((a, b) => a - b), [10, 40, 50, 100]);
  for (const name of [metricNames.monitorMissingRatio, metricNames.monitorStaleRatio, metricNames.monitorNullRatio, metricNames.monitorOutOfRangeRatio]) {
    assert.deepEqual(segmentsOf(got.get(name)), ['etaMinutes/*/served', 'ordersLast30m/*/incoming', 'ordersLast30m/city=Berlin/served'], name);
  }
  assert.deepEqual(
    [metricNames.monitorStaleRatio, metricNames.monitorNullRatio, metricNames.monitorOutOfRangeRatio].map((name) => got.get(name)?.find((s) => s.labels.segment === 'city=Berlin')?.value),
    [0.1, 0.02, 0.03],
  );
  // PSI and skew only where there is one: no baseline for etaMinutes, no skew check of incoming data.
  assert.deepEqual(segmentsOf(got.get(metricNames.monitorPsi)), ['ordersLast30m/*/incoming', 'ordersLast30m/city=Berlin/served']);
  assert.deepEqual(got.get(metricNames.monitorSkewRatio)?.map((s) => [s.labels.segment, s.labels.direction, s.value]), [['city=Berlin', 'served', 0.25]]);
  assert.deepEqual(got.get(metricNames.monitorLastRun), [{ labels: {}, value: T / 1000 }]);
  assert.deepEqual(got.get(metricNames.monitorFailures), [{ labels: {}, value: 0 }]);
});

test('a feature whose monitor asks for fewer values gets its ratios with fewer', async () => {
  const { buildRegistry, column, entity, featureView, mongoCollection } = await import('../../../../index.js');
  const shop = entity({ name: 'Shop', key: 'shopId', description: 'd' });
  const docs = mongoCollection({ name: 'shops', collection: 'shops', keyField: 'shopId', updatedAtField: 'updatedAt' });
  const view = featureView({ name: 'shop_profile', entity: shop, source: docs, features: { rating: column({ type: 'Float', monitor: { minValues: 5 } }) }, freshness: '1m', ttl: '1d', owner: 'o', description: 'd' });
  const metrics = new MonitorMetrics(buildRegistry([{ file: 'shops.ts', exports: { shop, view } }]));
  metrics.update([healthRow({ feature: 'rating', entity: 'Shop', view: 'shop_profile', owner: 'o', values: 5, nullRate: 0.4 }), healthRow({ feature: 'rating', entity: 'Shop', view: 'shop_profile', owner: 'o', segment: 'x=1', values: 4, nullRate: 0.5 })], T);
  assert.deepEqual((await collected(metrics)).get(metricNames.monitorNullRatio)?.map((s) => [s.labels.segment, s.value]), [['*', 0.4]]);
});

test('an update replaces the series: a segment no longer seen disappears; a failure is counted and changes no gauge', async () => {
  const metrics = new MonitorMetrics(registry);
  // Nothing reported before the first run but the failure count.
  assert.deepEqual([...(await collected(metrics)).keys()], [metricNames.monitorFailures]);
  metrics.update([berlin, paris], T);
  metrics.update([paris, healthRow({ segment: 'city=Rome', values: 60, missingRate: 0.25 })], T + 60_000);
  let got = await collected(metrics);
  assert.deepEqual(segmentsOf(got.get(metricNames.monitorValues)), ['ordersLast30m/city=Paris/served', 'ordersLast30m/city=Rome/served']);
  assert.deepEqual(got.get(metricNames.monitorMissingRatio)?.map((s) => [s.labels.segment, s.value]), [['city=Rome', 0.25]]);
  metrics.failed();
  metrics.failed();
  got = await collected(metrics);
  assert.deepEqual(got.get(metricNames.monitorMissingRatio)?.map((s) => [s.labels.segment, s.value]), [['city=Rome', 0.25]]);
  assert.deepEqual(got.get(metricNames.monitorLastRun), [{ labels: {}, value: (T + 60_000) / 1000 }]);
  assert.deepEqual(got.get(metricNames.monitorFailures), [{ labels: {}, value: 2 }]);
  metrics.update([], T + 120_000);
  got = await collected(metrics);
  assert.deepEqual(got.get(metricNames.monitorValues), []);
});

test('as Prometheus scrapes them: gauges and one counter under their own names, beside the SDK instruments', async () => {
  const metrics = new MonitorMetrics(registry);
  const endpoint = new PrometheusEndpoint([metrics]);
  const provider = new MeterProvider({ readers: [endpoint.reader] });
  try {
    metrics.update([berlin], T);
    metrics.failed();
    const text = new PrometheusSerializer().serialize((await endpoint.reader.collect()).resourceMetrics);
    assert.match(text, /^# TYPE featuregraph_monitor_missing_ratio gauge\nfeaturegraph_monitor_missing_ratio\{feature="ordersLast30m",entity="Restaurant",view="restaurant_order_activity",owner="eta-team",segment="city=Berlin",direction="served",otel_scope_name="featuregraph"\} 0\.5$/m);
    assert.match(text, /^# TYPE featuregraph_monitor_failures_total counter\nfeaturegraph_monitor_failures_total\{otel_scope_name="featuregraph"\} 1$/m);
    assert.match(text, /^featuregraph_monitor_last_run_timestamp_seconds\{otel_scope_name="featuregraph"\} 1780315200$/m);
  } finally {
    await provider.shutdown();
  }
});
