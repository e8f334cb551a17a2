// The serving paths' histograms (request and store-call durations, value ages), aggregated here and
// handed to the SDK's readers (Prometheus, OTLP) as a MetricProducer, in the SDK's own data shape. The
// SDK's histogram instruments find an observation's series by hashing its attributes on every record
// (their keys sorted, then JSON): a few microseconds, three times per request, the largest share of
// the metrics' cost on small requests. The serving paths make each label set once and keep it, so
// here a series is found by the label set itself, hashed once on first sight (label sets equal in
// content, made apart, share their series). Cumulative, as Prometheus reads them.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type CollectionResult, type MetricData, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { instrumentationScope } from '../../schema/telemetry.js';
import type { HistogramSink, HistogramSource, HistogramSpec } from '../../resolvers/telemetry.js';

interface Series {
  attributes: Attributes;
  /** counts[i]: values in (boundaries[i - 1], boundaries[i]]; the last, values above every boundary. */
  counts: number[];
  sum: number;
  count: number;
  min: number;
  max: number;
}

/** A label set's series key: its entries, sorted, as JSON. */
const keyOf = (attributes: Attributes): string => JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

class CumulativeHistogram implements HistogramSink {
  private readonly byObject = new WeakMap<Attributes, Series>();
  private readonly byKey = new Map<string, Series>();

  constructor(
    readonly spec: HistogramSpec,
    private readonly startTime: HrTime,
  ) {}

  record(value: number, attributes: Attributes): void {
    if (!Number.isFinite(value)) return;
    let series = this.byObject.get(attributes);
    if (!series) {
      const key = keyOf(attributes);
      series = this.byKey.get(key);
      if (!series) {
        series = { attributes: { ...attributes }, counts: new Array<number>(this.spec.boundaries.length + 1).fill(0), sum: 0, count: 0, min: Infinity, max: -Infinity };
        this.byKey.set(key, series);
      }
      this.byObject.set(attributes, series);
    }
    const { boundaries } = this.spec;
    let bucket = 0;
    while (bucket < boundaries.length && value > (boundaries[bucket] as number)) bucket++;
    (series.counts[bucket] as number)++;
    series.sum += value;
    series.count++;
    if (value < series.min) series.min = value;
    if (value > series.max) series.max = value;
  }

  data(endTime: HrTime): MetricData {
    return {
      descriptor: { name: this.spec.name, description: this.spec.description, unit: this.spec.unit, valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [...this.byKey.values()].map((series) => ({
        attributes: series.attributes,
        startTime: this.startTime,
        endTime,
        value: { buckets: { boundaries: [...this.spec.boundaries], counts: [...series.counts] }, sum: series.sum, count: series.count, min: series.min, max: series.max },
      })),
    };
  }
}

/** The histograms of the serving paths, and the producer that hands them to the readers it is given to. */
export class ServingHistograms implements HistogramSource, MetricProducer {
  private readonly histograms = new Map<string, CumulativeHistogram>();
  private readonly startTime = hrTime();

  /** The histogram of this name (made on first ask; asked again, the same one). */
  histogram(spec: HistogramSpec): HistogramSink {
    let histogram = this.histograms.get(spec.name);
    if (!histogram) {
      histogram = new CumulativeHistogram(spec, this.startTime);
      this.histograms.set(spec.name, histogram);
    }
    return histogram;
  }

  async collect(): Promise<CollectionResult> {
    const endTime = hrTime();
    // The reader keeps its meter provider's resource and appends these scope metrics to its own.
    return { resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: instrumentationScope }, metrics: [...this.histograms.values()].map((h) => h.data(endTime)) }] }, errors: [] };
  }
}
