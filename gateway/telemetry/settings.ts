// What the standard OTEL_* variables ask of featuregraph's telemetry, checked where they enter: a
// value the SDK would ignore with a warning (an exporter it lacks, a sampler misspelt) stops the start
// with one line naming the variable, instead of a process that silently exports nothing.
// Traces only when an exporter is configured (OTEL_TRACES_EXPORTER, or an OTLP endpoint); metrics
// always, for Prometheus at /metrics, unless OTEL_METRICS_EXPORTER=none. Endpoints, headers, timeouts
// and compression are the exporters' own to read (from process.env, as the specification says).
import { ConfigError } from '../../schema/errors.js';

export const otlpProtocols = ['http/protobuf', 'http/json', 'grpc'] as const;
export type OtlpProtocol = (typeof otlpProtocols)[number];

export type SamplerSetting =
  | { kind: 'always_on' | 'always_off' | 'parentbased_always_on' | 'parentbased_always_off' }
  | { kind: 'traceidratio' | 'parentbased_traceidratio'; ratio: number };

export interface TraceSettings {
  exporters: readonly ('otlp' | 'console')[];
  /** The OTLP exporter's protocol. */
  protocol: OtlpProtocol;
  sampler: SamplerSetting;
}

export interface MetricSettings {
  /** Also pushed by OTLP, with this protocol; null: only served at /metrics. */
  otlp: OtlpProtocol | null;
  /** Also printed on stdout at each export interval. */
  console: boolean;
  exportIntervalMs: number;
  exportTimeoutMs: number;
}

export interface TelemetrySettings {
  /** Null: no exporter configured, no tracer (the hot paths skip every span). */
  traces: TraceSettings | null;
  /** Null: OTEL_METRICS_EXPORTER=none (or the SDK disabled). */
  metrics: MetricSettings | null;
}

const samplerKinds = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

const set = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

/** A comma-separated list of names, lowercased, each once; `none` only alone. */
function exporterList(env: NodeJS.ProcessEnv, name: string, allowed: readonly string[]): string[] | 'none' | null {
  const raw = set(env, name);
  if (raw === undefined) return null;
  const items = [...new Set(raw.split(',').map((item) => item.trim().toLowerCase()).filter((item) => item !== ''))];
  if (items.includes('none')) {
    if (items.length > 1) throw new ConfigError(`${name}=${raw}: "none" turns the exporters off and cannot be listed with others`);
    return 'none';
  }
  for (const item of items) {
    if (!allowed.includes(item)) throw new ConfigError(`${name} must list ${allowed.join(', ')} or none (comma-separated), got "${item}" in ${JSON.stringify(raw)}`);
  }
  return items;
}

function protocol(env: NodeJS.ProcessEnv, signal: 'TRACES' | 'METRICS'): OtlpProtocol {
  const own = `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`;
  const name = set(env, own) !== undefined ? own : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = set(env, name) ?? 'http/protobuf';
  if (!(otlpProtocols as readonly string[]).includes(value)) throw new ConfigError(`${name} must be one of ${otlpProtocols.join(', ')}, got ${JSON.stringify(value)}`);
  return value as OtlpProtocol;
}

function sampler(env: NodeJS.ProcessEnv): SamplerSetting {
  const kind = (set(env, 'OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on').toLowerCase();
  if (!(samplerKinds as readonly string[]).includes(kind)) throw new ConfigError(`OTEL_TRACES_SAMPLER must be one of ${samplerKinds.join(', ')}, got ${JSON.stringify(env.OTEL_TRACES_SAMPLER)}`);
  if (kind !== 'traceidratio' && kind !== 'parentbased_traceidratio') return { kind: kind as Exclude<SamplerSetting['kind'], 'traceidratio' | 'parentbased_traceidratio'> };
  const raw = set(env, 'OTEL_TRACES_SAMPLER_ARG');
  const ratio = raw === undefined ? 1 : Number(raw);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 for ${kind}, got ${JSON.stringify(raw)}`);
  return { kind, ratio };
}

function milliseconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = set(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${name} must be a positive whole number of milliseconds, got ${JSON.stringify(raw)}`);
  return value;
}

/** The telemetry the environment asks for; throws ConfigError naming a variable it cannot honour. */
export function telemetrySettings(env: NodeJS.ProcessEnv): TelemetrySettings {
  if (set(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return { traces: null, metrics: null };

  let traces: TraceSettings | null = null;
  const traceExporters = exporterList(env, 'OTEL_TRACES_EXPORTER', ['otlp', 'console']);
  // An OTLP endpoint alone is a configured exporter: OTLP is the specification's default one.
  const endpoint = set(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? set(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const exporters = traceExporters === null ? (endpoint !== undefined ? ['otlp'] : []) : traceExporters === 'none' ? [] : traceExporters;
  if (exporters.length > 0) traces = { exporters: exporters as TraceSettings['exporters'], protocol: protocol(env, 'TRACES'), sampler: sampler(env) };

  let metrics: MetricSettings | null = null;
  const metricExporters = exporterList(env, 'OTEL_METRICS_EXPORTER', ['prometheus', 'otlp', 'console']);
  if (metricExporters !== 'none') {
    const listed = metricExporters ?? [];
    metrics = {
      otlp: listed.includes('otlp') ? protocol(env, 'METRICS') : null,
      console: listed.includes('console'),
      exportIntervalMs: milliseconds(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000),
      exportTimeoutMs: milliseconds(env, 'OTEL_METRIC_EXPORT_TIMEOUT', 30_000),
    };
  }
  return { traces, metrics };
}
