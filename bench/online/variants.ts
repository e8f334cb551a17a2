// The gateways bench:online measures against its raw baseline, the OTEL_* variables each runs with, and
// the comparisons that load several gateways together against one of them.

/**
 * gateway: as configured by default (metrics at /metrics, no traces). With --telemetry also:
 * gateway-off (OTEL_METRICS_EXPORTER=none, no traces), gateway-traced (every request traced to the
 * harness's Jaeger, metrics on) and gateway-sampled (10% of requests traced, parent-based). With
 * --served-log instead: gateway-unlogged and gateway-logged (served-feature logging at the default
 * rate into memory), both started by bench/online/served-log-gateway.ts.
 */
export type GatewayVariant = 'gateway' | 'gateway-off' | 'gateway-traced' | 'gateway-sampled' | 'gateway-unlogged' | 'gateway-logged';
export type Variant = 'raw' | GatewayVariant;
export const isGateway = (variant: Variant): variant is GatewayVariant => variant !== 'raw';

/** The OTEL_* variables of each gateway variant; anything else the caller's shell sets is left out. */
export function telemetryEnv(variant: GatewayVariant, otlpHttp: string | null): NodeJS.ProcessEnv {
  const traced = (sampler: NodeJS.ProcessEnv) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: otlpHttp ?? '', OTEL_SERVICE_NAME: 'featuregraph-bench', ...sampler });
  switch (variant) {
    case 'gateway':
    case 'gateway-unlogged':
    case 'gateway-logged':
      return {};
    case 'gateway-off':
      return { OTEL_METRICS_EXPORTER: 'none' };
    case 'gateway-traced':
      return traced({ OTEL_TRACES_SAMPLER: 'always_on' });
    case 'gateway-sampled':
      return traced({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' });
  }
}

/** Gateways loaded together each round, their throughput and CPU per request over the baseline's. */
export interface Comparison {
  variants: readonly GatewayVariant[];
  baseline: GatewayVariant;
  /** The baseline in a summary line: "of <label> rps". */
  label: string;
}

export const comparisons = {
  // The fully traced gateway last in each round, followed by a pause: Jaeger ingests its spans, and
  // its batch processor exports what it still holds, after its run; not during another variant's.
  telemetry: { variants: ['gateway-off', 'gateway', 'gateway-sampled', 'gateway-traced'], baseline: 'gateway-off', label: "telemetry off's" },
  'served-log': { variants: ['gateway-unlogged', 'gateway-logged'], baseline: 'gateway-unlogged', label: "logging off's" },
} as const satisfies Record<string, Comparison>;

/** The served-feature log's default sample rate, at which gateway-logged logs. */
export const servedLogRate = 0.02;
