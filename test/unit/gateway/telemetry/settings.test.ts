// What the OTEL_* variables turn on, and the refusals of values the SDK would ignore, pinned by message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { telemetrySettings } from '../../../../gateway/telemetry/settings.js';
import { ConfigError } from '../../../../schema/errors.js';

const metricsOnly = { otlp: null, console: false, exportIntervalMs: 60_000, exportTimeoutMs: 30_000 };

test('nothing configured: no traces, metrics for /metrics only', () => {
  assert.deepEqual(telemetrySettings({}), { traces: null, metrics: metricsOnly });
});

test('an OTLP endpoint alone turns traces on: otlp over http/protobuf, parent-based always on', () => {
  const expected = { exporters: ['otlp'], protocol: 'http/protobuf', sampler: { kind: 'parentbased_always_on' } };
  assert.deepEqual(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).traces, expected);
  assert.deepEqual(telemetrySettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }).traces, expected);
});

test('OTEL_TRACES_EXPORTER names the exporters; none wins over an endpoint', () => {
  assert.deepEqual(telemetrySettings({ OTEL_TRACES_EXPORTER: 'console' }).traces?.exporters, ['console']);
  assert.deepEqual(telemetrySettings({ OTEL_TRACES_EXPORTER: ' OTLP , console,otlp' }).traces?.exporters, ['otlp', 'console']);
  assert.equal(telemetrySettings({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).traces, null);
  assert.equal(telemetrySettings({ OTEL_TRACES_EXPORTER: '' }).traces, null);
});

test('the protocol: the traces variable over the general one', () => {
  assert.equal(telemetrySettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).traces?.protocol, 'grpc');
  assert.equal(telemetrySettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }).traces?.protocol, 'http/json');
});

test('samplers, with a ratio for the ratio ones (default 1)', () => {
  const sampler = (env: NodeJS.ProcessEnv) => telemetrySettings({ OTEL_TRACES_EXPORTER: 'console', ...env }).traces?.sampler;
  assert.deepEqual(sampler({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }), { kind: 'parentbased_traceidratio', ratio: 0.1 });
  assert.deepEqual(sampler({ OTEL_TRACES_SAMPLER: 'traceidratio' }), { kind: 'traceidratio', ratio: 1 });
  assert.deepEqual(sampler({ OTEL_TRACES_SAMPLER: 'always_off', OTEL_TRACES_SAMPLER_ARG: 'ignored' }), { kind: 'always_off' });
});

test('metrics: otlp and console added to /metrics, none turns them off, intervals', () => {
  assert.deepEqual(telemetrySettings({ OTEL_METRICS_EXPORTER: 'otlp' }).metrics, { ...metricsOnly, otlp: 'http/protobuf' });
  assert.deepEqual(telemetrySettings({ OTEL_METRICS_EXPORTER: 'prometheus,console', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc' }).metrics, { ...metricsOnly, console: true });
  assert.deepEqual(telemetrySettings({ OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json', OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_METRIC_EXPORT_TIMEOUT: '500' }).metrics, { ...metricsOnly, otlp: 'http/json', exportIntervalMs: 1000, exportTimeoutMs: 500 });
  assert.equal(telemetrySettings({ OTEL_METRICS_EXPORTER: 'none' }).metrics, null);
});

test('OTEL_SDK_DISABLED=true turns everything off, whatever else is set', () => {
  assert.deepEqual(telemetrySettings({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' }), { traces: null, metrics: null });
});

const refusals: [string, NodeJS.ProcessEnv, string][] = [
  ['an exporter it lacks', { OTEL_TRACES_EXPORTER: 'otlp,zipkin' }, 'OTEL_TRACES_EXPORTER must list otlp, console or none (comma-separated), got "zipkin" in "otlp,zipkin"'],
  ['none with others', { OTEL_TRACES_EXPORTER: 'none,console' }, 'OTEL_TRACES_EXPORTER=none,console: "none" turns the exporters off and cannot be listed with others'],
  ['a metrics exporter it lacks', { OTEL_METRICS_EXPORTER: 'statsd' }, 'OTEL_METRICS_EXPORTER must list prometheus, otlp, console or none (comma-separated), got "statsd" in "statsd"'],
  ['an unknown protocol', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http' }, 'OTEL_EXPORTER_OTLP_PROTOCOL must be one of http/protobuf, http/json, grpc, got "http"'],
  ['an unknown traces protocol', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'udp' }, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be one of http/protobuf, http/json, grpc, got "udp"'],
  ['an unknown sampler', { OTEL_TRACES_EXPORTER: 'console', OTEL_TRACES_SAMPLER: 'jaeger_remote' }, 'OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, got "jaeger_remote"'],
  ['a ratio above 1', { OTEL_TRACES_EXPORTER: 'console', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '10' }, 'OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 for parentbased_traceidratio, got "10"'],
  ['a ratio that is no number', { OTEL_TRACES_EXPORTER: 'console', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'ten percent' }, 'OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 for traceidratio, got "ten percent"'],
  ['an interval of no milliseconds', { OTEL_METRIC_EXPORT_INTERVAL: '1.5s' }, 'OTEL_METRIC_EXPORT_INTERVAL must be a positive whole number of milliseconds, got "1.5s"'],
];

for (const [what, env, message] of refusals) {
  test(`refused, naming the variable: ${what}`, () => {
    assert.throws(() => telemetrySettings(env), (error: unknown) => error instanceof ConfigError && error.message === message);
  });
}
