// The gateways bench:online measures against its raw baseline, and the OTEL_* variables each runs with.

/**
 * gateway: as configured by default (metrics at /metrics, no traces). With --telemetry also:
 * gateway-off (OTEL_METRICS_EXPORTER=none, no traces), gateway-traced (every request traced to the
 * harness's Jaeger, metrics on) and gateway-sampled (10% of requests traced, parent-based).
 */
export type GatewayVariant = 'gateway' | 'gateway-off' | 'gateway-traced' | 'gateway-sampled';
export type Variant = 'raw' | GatewayVariant;
export const isGateway = (variant: Variant): variant is GatewayVariant => variant !== 'raw';

/** The OTEL_* variables of each gateway variant; anything else the caller's shell sets is left out. */
export function telemetryEnv(variant: GatewayVariant, otlpHttp: string | null): NodeJS.ProcessEnv {
  const traced = (sampler: NodeJS.ProcessEnv) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: otlpHttp ?? '', OTEL_SERVICE_NAME: 'featuregraph-bench', ...sampler });
  switch (variant) {
    case 'gateway':
      return {};
    case 'gateway-off':
      return { OTEL_METRICS_EXPORTER: 'none' };
    case 'gateway-traced':
      return traced({ OTEL_TRACES_SAMPLER: 'always_on' });
    case 'gateway-sampled':
      return traced({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' });
  }
}
