// The names featuregraph's telemetry is known by: span names, attribute keys and metric names, shared
// by the gateway, the resolvers, the adapters and the materializers, by the generated alert rules and
// by the tests that read them back from Jaeger and Prometheus. Instrumentation uses the OpenTelemetry
// API only; the gateway's telemetry module starts the SDK (or not: then every call here is a no-op).
// Labels are registry names (feature, view, entity, topic), never entity keys or query text.
import { metrics, trace, type Meter, type Tracer } from '@opentelemetry/api';

export const instrumentationScope = 'featuregraph';

export const tracer = (): Tracer => trace.getTracer(instrumentationScope);
export const meter = (): Meter => metrics.getMeter(instrumentationScope);

/** Span names: the same on the fast path and on Apollo. */
export const spanNames = {
  /** The GraphQL operation: `<type> <name>` by the semantic conventions, `<type>` when unnamed. */
  operation: (type: string, name: string | null) => (name ? `${type} ${name}` : type),
  onlineRead: 'featuregraph.online.read',
  historyRead: 'featuregraph.history.read',
  requestFeatures: 'featuregraph.request_features',
  streamBatch: 'featuregraph.materialize.batch',
  rowsRun: 'featuregraph.materialize.rows',
} as const;

/** Attribute keys of featuregraph's own (no semantic convention has them). */
export const attributeNames = {
  path: 'featuregraph.path',
  present: 'featuregraph.features.present',
  missing: 'featuregraph.features.missing',
  stale: 'featuregraph.features.stale',
  expired: 'featuregraph.features.expired',
  oldestAgeMs: 'featuregraph.features.oldest_age_ms',
  staleFeatures: 'featuregraph.features.stale_names',
  missingFeatures: 'featuregraph.features.missing_names',
  expiredFeatures: 'featuregraph.features.expired_names',
  feature: 'featuregraph.feature',
  view: 'featuregraph.view',
  views: 'featuregraph.views',
  entity: 'featuregraph.entity',
  keys: 'featuregraph.keys',
  mode: 'featuregraph.mode',
  events: 'featuregraph.events',
  deadLetters: 'featuregraph.dead_letters',
  writes: 'featuregraph.writes',
} as const;

/** Metric names as Prometheus shows them (the alert rules and the tests query these). */
export const metricNames = {
  featureReads: 'featuregraph_feature_reads_total',
  featureValueAge: 'featuregraph_feature_value_age_seconds',
  viewFreshness: 'featuregraph_view_freshness_seconds',
  viewWatermark: 'featuregraph_view_watermark_timestamp_seconds',
  viewFreshnessSla: 'featuregraph_view_freshness_sla_seconds',
  requestDuration: 'featuregraph_request_duration_seconds',
  storeCallDuration: 'featuregraph_store_call_duration_seconds',
  storeErrors: 'featuregraph_store_errors_total',
  materializerLag: 'featuregraph_materializer_lag_messages',
  materializerEvents: 'featuregraph_materializer_events_total',
  materializerBatches: 'featuregraph_materializer_batches_total',
  materializerFailures: 'featuregraph_materializer_failures_total',
  materializerDeadLetters: 'featuregraph_materializer_dead_letters_total',
  materializerLastSuccess: 'featuregraph_materializer_last_success_timestamp_seconds',
  materializerWatermark: 'featuregraph_materializer_watermark_timestamp_seconds',
} as const;

/** Attribute keys of the materializers' spans, besides the messaging semantic conventions' and attributeNames'. */
export const materializerAttributeNames = {
  firstOffset: 'featuregraph.offset.first',
  lastOffset: 'featuregraph.offset.last',
  /** The partition's high watermark when the batch was fetched, minus the offset after the batch. */
  lag: 'featuregraph.lag',
  /** How a stream batch ended ("applied", "failed"), or a row view's run (its BatchRun outcome). */
  outcome: 'featuregraph.outcome',
  attempt: 'featuregraph.attempt',
} as const;
