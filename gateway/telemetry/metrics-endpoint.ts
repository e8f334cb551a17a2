// GET /metrics for Prometheus: the SDK's Prometheus reader collected on each scrape and written in the
// text format, through the process's own HTTP handler (the gateway's port, or a port of its own for
// `featuregraph materialize`), not through the exporter's separate server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { diag } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { MetricProducer } from '@opentelemetry/sdk-metrics';
import { listenRoutes, type ListenTarget, type ListeningRoutes } from '../listen.js';

export const metricsPath = '/metrics';

/** What Prometheus's text format is served as. */
export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsEndpoint {
  /** Answers a request for /metrics: every metric, collected now, in the Prometheus text format. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export class PrometheusEndpoint implements MetricsEndpoint {
  /** The meter provider's reader (it collects on demand; its own server never starts). */
  readonly reader: PrometheusExporter;
  private readonly serializer = new PrometheusSerializer();

  /** `producers`: metrics aggregated outside the SDK's instruments, collected with them (histograms.ts). */
  constructor(producers: readonly MetricProducer[] = []) {
    this.reader = new PrometheusExporter({ preventServerStart: true, metricProducers: [...producers] });
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${metricsPath} answers GET\n`);
      return;
    }
    const { resourceMetrics, errors } = await this.reader.collect();
    // A callback that failed (a store that did not answer) leaves its metrics out; the others are served.
    if (errors.length > 0) diag.warn('metrics collection errors', ...errors);
    const text = this.serializer.serialize(resourceMetrics);
    res.writeHead(200, { 'content-type': prometheusContentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(method === 'HEAD' ? undefined : text);
  }
}

/** Serves /metrics on a port of its own (featuregraph materialize's --metrics-port). */
export function listenMetrics(endpoint: MetricsEndpoint, target: ListenTarget): Promise<ListeningRoutes> {
  return listenRoutes(
    async (req, res) => {
      if (new URL(req.url ?? '/', 'http://localhost').pathname !== metricsPath) return false;
      await endpoint.handle(req, res);
      return true;
    },
    target,
    metricsPath,
  );
}
