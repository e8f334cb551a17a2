// Starts the OpenTelemetry SDK the environment asks for (settings.ts), for `featuregraph serve` and
// `featuregraph materialize`: a tracer provider only when a trace exporter is configured, a meter
// provider whose Prometheus reader the process serves itself (metrics-endpoint.ts), plus OTLP or
// console readers when asked. Both are registered globally, so that code instrumented through the
// API alone (schema/telemetry.ts's tracer() and meter()) reports to them. Exporter modules are
// imported only when configured (the gRPC one brings a whole gRPC client).
//
// No context manager is registered: featuregraph passes parent contexts explicitly (a span's context
// to its children's startSpan). The SDK's AsyncLocalStorage manager, once its first context.with ran
// (the batch processor runs one per export), has every promise of the process pay for async hooks,
// which costs the gateway more CPU per request than its spans do, even with few requests sampled.
import { metrics, propagation, trace, type Meter, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, hostDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader, type IMetricReader, type MetricProducer, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, ConsoleSpanExporter, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler, type Sampler, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { instrumentationScope } from '../../schema/telemetry.js';
import { telemetrySettings, type MetricSettings, type OtlpProtocol, type SamplerSetting, type TelemetrySettings, type TraceSettings } from './settings.js';
import { PrometheusEndpoint, type MetricsEndpoint } from './metrics-endpoint.js';
import { ServingHistograms } from './histograms.js';
import type { HistogramSource } from '../../resolvers/telemetry.js';

export interface Telemetry {
  /** Null: no trace exporter configured; nothing makes a span. */
  readonly tracer: Tracer | null;
  /** Reads an incoming W3C traceparent. */
  readonly propagator: TextMapPropagator;
  /** Null: OTEL_METRICS_EXPORTER=none. */
  readonly meter: Meter | null;
  /** The serving paths' histograms, collected by the same readers; null when metrics are off. */
  readonly histograms: HistogramSource | null;
  /** Answers GET /metrics in the Prometheus text format; null when metrics are off. */
  readonly metrics: MetricsEndpoint | null;
  /** What runs, for the start's log line. */
  readonly description: string;
  /** Flushes what is buffered (spans, a last OTLP metrics export) and unregisters. Once. */
  shutdown(): Promise<void>;
}

export interface StartTelemetryOptions {
  /** service.name unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES names one. */
  serviceName: string;
  /** Default process.env; the exporters read their endpoints and headers from process.env regardless. */
  env?: NodeJS.ProcessEnv;
  /** Metrics made outside the SDK's instruments (the monitor's gauges), collected by every reader with them. */
  producers?: readonly MetricProducer[];
}

function samplerOf(setting: SamplerSetting): Sampler {
  switch (setting.kind) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(setting.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(setting.ratio) });
    default: {
      const unreachable: never = setting;
      throw new Error(`unknown sampler ${JSON.stringify(unreachable)}`);
    }
  }
}

async function otlpSpanExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  switch (protocol) {
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    case 'grpc':
      return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
  }
}

async function otlpMetricExporter(protocol: OtlpProtocol): Promise<PushMetricExporter> {
  switch (protocol) {
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter();
    case 'http/json':
      return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter();
    case 'grpc':
      return new (await import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter();
  }
}

async function spanProcessors(settings: TraceSettings): Promise<SpanProcessor[]> {
  const processors: SpanProcessor[] = [];
  for (const exporter of settings.exporters) {
    // The console's lines are wanted as spans end; OTLP's are batched (OTEL_BSP_* tune the batches).
    processors.push(exporter === 'console' ? new SimpleSpanProcessor(new ConsoleSpanExporter()) : new BatchSpanProcessor(await otlpSpanExporter(settings.protocol)));
  }
  return processors;
}

async function metricReaders(settings: MetricSettings, prometheus: PrometheusEndpoint, producers: readonly MetricProducer[]): Promise<IMetricReader[]> {
  const readers: IMetricReader[] = [prometheus.reader];
  const periodic = (exporter: PushMetricExporter) =>
    new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: settings.exportIntervalMs, exportTimeoutMillis: Math.min(settings.exportTimeoutMs, settings.exportIntervalMs), metricProducers: [...producers] });
  if (settings.otlp) readers.push(periodic(await otlpMetricExporter(settings.otlp)));
  if (settings.console) readers.push(periodic(new ConsoleMetricExporter()));
  return readers;
}

function resourceOf(serviceName: string): Resource {
  // The environment's attributes (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME) win over the default name.
  return defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }))
    .merge(detectResources({ detectors: [hostDetector, envDetector] }));
}

function describe(settings: TelemetrySettings): string {
  const { traces, metrics: metricSettings } = settings;
  const sampler = traces ? `${traces.sampler.kind}${'ratio' in traces.sampler ? ` ${traces.sampler.ratio}` : ''}` : '';
  const traceText = traces ? `traces to ${traces.exporters.map((e) => (e === 'otlp' ? `otlp (${traces.protocol})` : e)).join(' and ')}, sampler ${sampler}` : 'no traces (no exporter configured)';
  const metricText = metricSettings ? `metrics at /metrics${metricSettings.otlp ? ` and to otlp (${metricSettings.otlp})` : ''}${metricSettings.console ? ' and the console' : ''}` : 'no metrics (OTEL_METRICS_EXPORTER=none)';
  return `${traceText}; ${metricText}`;
}

/** Starts what the environment asks for; throws ConfigError naming a variable it cannot honour. */
export async function startTelemetry(options: StartTelemetryOptions): Promise<Telemetry> {
  const settings = telemetrySettings(options.env ?? process.env);
  const resource = settings.traces || settings.metrics ? resourceOf(options.serviceName) : null;

  let tracerProvider: NodeTracerProvider | null = null;
  if (settings.traces && resource) {
    tracerProvider = new NodeTracerProvider({ resource, sampler: samplerOf(settings.traces.sampler), spanProcessors: await spanProcessors(settings.traces) });
    tracerProvider.register({ contextManager: null });
  }

  let meterProvider: MeterProvider | null = null;
  let prometheus: PrometheusEndpoint | null = null;
  let histograms: ServingHistograms | null = null;
  if (settings.metrics && resource) {
    histograms = new ServingHistograms();
    const producers = [histograms, ...(options.producers ?? [])];
    prometheus = new PrometheusEndpoint(producers);
    meterProvider = new MeterProvider({ resource, readers: await metricReaders(settings.metrics, prometheus, producers) });
    metrics.setGlobalMeterProvider(meterProvider);
  }

  let stopped: Promise<void> | null = null;
  return {
    tracer: tracerProvider?.getTracer(instrumentationScope) ?? null,
    propagator: new W3CTraceContextPropagator(),
    meter: meterProvider?.getMeter(instrumentationScope) ?? null,
    histograms,
    metrics: prometheus,
    description: describe(settings),
    shutdown() {
      stopped ??= (async () => {
        await Promise.all([tracerProvider?.shutdown(), meterProvider?.shutdown()]);
        if (tracerProvider) {
          trace.disable();
          propagation.disable();
        }
        if (meterProvider) metrics.disable();
      })();
      return stopped;
    },
  };
}
