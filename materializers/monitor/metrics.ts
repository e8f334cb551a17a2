// The monitor's last run as Prometheus gauges, labelled feature, entity, view, owner, segment and
// direction (names: schema/telemetry.ts), handed to the SDK's readers as a MetricProducer. Gauges of
// the SDK's own observable instruments would not do: under cumulative temporality the SDK keeps every
// series it has ever seen, so a segment that disappeared would go on reporting its last value forever,
// where here each collection is exactly the last successful run's rows.
//
// A ratio (and PSI, and skew) is reported only for a row with at least its feature's monitor.minValues
// values: a rate over three values says nothing, and leaving it out spares every alert a count filter.
// The value count is reported for every row.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { hrTime, millisToHrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type CollectionResult, type GaugeMetricData, type MetricData, type MetricProducer } from '@opentelemetry/sdk-metrics';
import type { HealthRow } from '../../schema/health.js';
import { defaultMonitor } from '../../schema/monitors.js';
import type { FeatureRegistry } from '../../schema/registry.js';
import { instrumentationScope, labelNames, metricNames } from '../../schema/telemetry.js';

interface RowGauge {
  name: string;
  description: string;
  /** The row's value; null: no value to report (no baseline, skew not checked). */
  value(row: HealthRow): number | null;
  /** Reported below the feature's minValues too. */
  always?: boolean;
}

const rowGauges: readonly RowGauge[] = [
  { name: metricNames.monitorValues, description: 'Values the last run counted in its window (served: values answered, as logged; incoming: changes written)', value: (row) => row.values, always: true },
  { name: metricNames.monitorMissingRatio, description: 'Share of the values that were MISSING or EXPIRED', value: (row) => row.missingRate },
  { name: metricNames.monitorStaleRatio, description: 'Share of the values that were STALE', value: (row) => row.staleRate },
  { name: metricNames.monitorNullRatio, description: 'Share of the present values that were null', value: (row) => row.nullRate },
  { name: metricNames.monitorOutOfRangeRatio, description: "Share of the numbers outside the feature's monitor.range", value: (row) => row.outOfRangeRate },
  { name: metricNames.monitorPsi, description: 'Population stability index against the baseline (absent without one)', value: (row) => row.psi },
  { name: metricNames.monitorSkewRatio, description: 'served: share of the recomputed values a SERVED read disagreed with (absent when none was checked)', value: (row) => (row.direction === 'served' ? row.skewRate : null) },
];

/** The label set of a row's series; a request-time feature has no view label. */
function labelsOf(row: HealthRow): Attributes {
  const labels: Attributes = { [labelNames.feature]: row.feature, [labelNames.entity]: row.entity };
  if (row.view !== null) labels[labelNames.view] = row.view;
  labels[labelNames.owner] = row.owner;
  labels[labelNames.segment] = row.segment;
  labels[labelNames.direction] = row.direction;
  return labels;
}

const descriptor = (name: string, description: string, unit = '') => ({ name, description, unit, valueType: ValueType.DOUBLE });

export class MonitorMetrics implements MetricProducer {
  /** monitor.minValues by "Entity.feature". */
  private readonly minValues = new Map<string, number>();
  private last: { at: number; series: { attributes: Attributes; row: HealthRow; enough: boolean }[] } | null = null;
  private failures = 0;
  private readonly startTime: HrTime = hrTime();

  constructor(registry: FeatureRegistry) {
    for (const feature of registry.features()) this.minValues.set(`${feature.view.entity.name}.${feature.name}`, feature.monitor.minValues);
    for (const feature of registry.requestFeatures()) this.minValues.set(`${feature.entity.name}.${feature.name}`, feature.monitor.minValues);
  }

  /** The rows of a successful run whose window ended at `at` (epoch ms): they replace the last run's. */
  update(rows: readonly HealthRow[], at: number): void {
    this.last = {
      at,
      series: rows.map((row) => ({ attributes: labelsOf(row), row, enough: row.values >= (this.minValues.get(`${row.entity}.${row.feature}`) ?? defaultMonitor.minValues) })),
    };
  }

  /** A run that failed: counted; the last successful run's gauges stay. */
  failed(): void {
    this.failures++;
  }

  async collect(): Promise<CollectionResult> {
    const endTime = hrTime();
    const metrics: MetricData[] = [];
    if (this.last !== null) {
      const { series, at } = this.last;
      for (const gauge of rowGauges) {
        const dataPoints: GaugeMetricData['dataPoints'] = [];
        for (const { attributes, row, enough } of series) {
          const value = enough || gauge.always ? gauge.value(row) : null;
          if (value !== null && Number.isFinite(value)) dataPoints.push({ attributes, startTime: endTime, endTime, value });
        }
        metrics.push({ descriptor: descriptor(gauge.name, gauge.description), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints });
      }
      metrics.push({
        descriptor: descriptor(metricNames.monitorLastRun, "When the last successful run's window ended (epoch seconds)", 's'),
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.GAUGE,
        dataPoints: [{ attributes: {}, startTime: millisToHrTime(at), endTime, value: at / 1000 }],
      });
    }
    metrics.push({
      descriptor: descriptor(metricNames.monitorFailures, 'Runs of the monitor that failed (the gauges then keep the last successful run)'),
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: [{ attributes: {}, startTime: this.startTime, endTime, value: this.failures }],
    });
    // The reader keeps its meter provider's resource and appends these scope metrics to its own.
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: instrumentationScope }, metrics }] }, errors: [] };
  }
}
