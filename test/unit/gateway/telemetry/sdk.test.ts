// Starting the SDK from the environment: nothing but /metrics when nothing is configured, nothing at
// all with OTEL_METRICS_EXPORTER=none, spans exported by OTLP (to a local server standing in for a
// collector) with the service name and resource attributes of the environment, sampled as it says,
// flushed on shutdown; and /metrics on a port of its own, as `featuregraph materialize` serves it, with
// the metrics of producers given at start (the monitor's gauges).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace, ValueType } from '@opentelemetry/api';
import { emptyResource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { startTelemetry } from '../../../../gateway/telemetry/sdk.js';
import { listenMetrics, prometheusContentType } from '../../../../gateway/telemetry/metrics-endpoint.js';
import { ConfigError } from '../../../../schema/errors.js';

/** A stand-in OTLP/HTTP receiver: the JSON bodies of the export requests it got. */
async function collector(): Promise<{ url: string; bodies: unknown[]; requests: IncomingMessage[]; close(): Promise<void> }> {
  const bodies: unknown[] = [];
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push(req);
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Runs with these variables in process.env (the exporters read it), and restores it after. */
async function withEnv<T>(vars: Record<string, string>, run: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, vars);
  try {
    return await run(process.env);
  } finally {
    for (const key of Object.keys(vars)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

interface OtlpSpans {
  resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { name: string }[] }[] }[];
}

test('nothing configured: no tracer; a meter and /metrics', async () => {
  const telemetry = await startTelemetry({ serviceName: 'featuregraph-test', env: {} });
  try {
    assert.equal(telemetry.tracer, null);
    assert.ok(telemetry.meter);
    assert.ok(telemetry.metrics);
    assert.equal(telemetry.description, 'no traces (no exporter configured); metrics at /metrics');
  } finally {
    await telemetry.shutdown();
  }
});

test('OTEL_METRICS_EXPORTER=none and no exporter: nothing at all', async () => {
  const telemetry = await startTelemetry({ serviceName: 'featuregraph-test', env: { OTEL_METRICS_EXPORTER: 'none' } });
  assert.deepEqual([telemetry.tracer, telemetry.meter, telemetry.metrics], [null, null, null]);
  await telemetry.shutdown();
});

test('a bad variable stops the start, named', async () => {
  await assert.rejects(startTelemetry({ serviceName: 'featuregraph-test', env: { OTEL_TRACES_EXPORTER: 'jaeger' } }), (error: unknown) => error instanceof ConfigError && /OTEL_TRACES_EXPORTER/.test(error.message));
});

test('OTLP over http/json: spans reach the endpoint on shutdown, with the environment service name and resource attributes; registered globally meanwhile', async () => {
  const receiver = await collector();
  try {
    await withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'fg-unit', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=features' }, async (env) => {
      const telemetry = await startTelemetry({ serviceName: 'featuregraph-test', env });
      assert.equal(telemetry.description, 'traces to otlp (http/json), sampler parentbased_always_on; metrics at /metrics');
      assert.ok(telemetry.tracer);
      telemetry.tracer.startSpan('direct').end();
      trace.getTracer('api-only').startSpan('through the API').end();
      await telemetry.shutdown();
      assert.equal(trace.getTracer('after').startSpan('x').isRecording(), false, 'unregistered on shutdown');
    });
    assert.equal(receiver.requests[0]?.url, '/v1/traces');
    const exported = receiver.bodies as OtlpSpans[];
    const resource = exported[0]?.resourceSpans[0]?.resource.attributes ?? [];
    const attribute = (key: string) => resource.find((a) => a.key === key)?.value.stringValue;
    assert.equal(attribute('service.name'), 'fg-unit');
    assert.equal(attribute('team'), 'features');
    const names = exported.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((span) => span.name))));
    assert.deepEqual(names.sort(), ['direct', 'through the API']);
  } finally {
    await receiver.close();
  }
});

test('the sampler of the environment: a ratio of 0 records nothing; the default service name otherwise', async () => {
  const receiver = await collector();
  try {
    await withEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }, async (env) => {
      const telemetry = await startTelemetry({ serviceName: 'featuregraph-test', env });
      const span = telemetry.tracer?.startSpan('never sampled');
      assert.equal(span?.isRecording(), false);
      span?.end();
      await telemetry.shutdown();
    });
    assert.deepEqual(receiver.bodies, []);
  } finally {
    await receiver.close();
  }
});

test('/metrics on a port of its own: the meter provider collected on each request; other paths named away', async () => {
  const telemetry = await startTelemetry({ serviceName: 'featuregraph-test', env: {} });
  const server = await listenMetrics(telemetry.metrics!, { port: 0, host: '127.0.0.1', setting: '--metrics-port' });
  try {
    telemetry.meter?.createCounter('featuregraph_unit_things_total').add(3, { view: 'v' });
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), prometheusContentType);
    assert.match(await response.text(), /^featuregraph_unit_things_total\{view="v",otel_scope_name="featuregraph"\} 3$/m);
    const other = await fetch(`${server.url}/healthz`);
    assert.equal(other.status, 404);
    assert.deepEqual(await other.json(), { error: 'this port answers /metrics only' });
  } finally {
    await server.close();
    await telemetry.shutdown();
  }
});

test('producers given at start are collected with the instruments, on /metrics', async () => {
  const producer: MetricProducer = {
    collect: async () => ({
      resourceMetrics: {
        resource: emptyResource(),
        scopeMetrics: [{ scope: { name: 'featuregraph' }, metrics: [{ descriptor: { name: 'featuregraph_unit_produced', description: 'd', unit: '', valueType: ValueType.DOUBLE }, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: [{ attributes: { segment: 'city=Berlin' }, startTime: [0, 0], endTime: [0, 0], value: 0.5 }] }] }],
      },
      errors: [],
    }),
  };
  const telemetry = await startTelemetry({ serviceName: 'featuregraph-test', env: {}, producers: [producer] });
  const server = await listenMetrics(telemetry.metrics!, { port: 0, host: '127.0.0.1', setting: '--metrics-port' });
  try {
    assert.match(await (await fetch(`${server.url}/metrics`)).text(), /^featuregraph_unit_produced\{segment="city=Berlin",otel_scope_name="featuregraph"\} 0\.5$/m);
  } finally {
    await server.close();
    await telemetry.shutdown();
  }
});
