// The names featuregraph's telemetry is known by: span names, attribute keys and metric names, shared
// by the gateway, the resolvers, the adapters and the materializers, by the generated alert rules and
// by the tests that read them back from Jaeger and Prometheus. Instrumentation uses the OpenTelemetry
// API only; the gateway's telemetry module starts the SDK (or not: then every call here is a no-op).
// Labels are registry names (feature, view, entity, topic), never entity keys or query text.
import { metrics, trace, type Meter, type Tracer } from '@opentelemetry/api';

export const instrumentationScope = 'featuregraph';

export const tracer = (): Tracer => trace.getTracer(instrumentationScope);
export const meter = (): Meter => metrics.getMeter(instrumentationScope);

/** Which serving path answered a GraphQL operation (the `path` label and the featuregraph.path attribute). */
export type ServingPath = 'fast' | 'apollo';

/** Span names: the same on the fast path and on Apollo. */
export const spanNames = {
  /** The HTTP request, by the semantic conventions: `<method> <route>`, the method alone off the known routes. */
  httpRequest: (method: string, route: string | null) => (route ? `${method} ${route}` : method),
  /**
   * The GraphQL operation: `<type> <name>` by the semantic conventions, `<type>` when unnamed, and
   * "GraphQL Operation" when the type is not known (a document that does not parse).
   */
  operation: (type: string | null, name: string | null) => (type === null ? 'GraphQL Operation' : name ? `${type} ${name}` : type),
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
  /** How many values a span or event stands for (the values of one feature with one status in an operation). */
  values: 'featuregraph.values',
  /** The names of the features a span is about (the request-time features an operation computed). */
  features: 'featuregraph.features',
} as const;

/**
 * Events on the operation span, one per feature and status among the values it served: a trace search
 * for a feature name (featuregraph.feature) finds every request that was served it missing, stale or
 * expired. Their attributes: feature, view, entity and values (how many).
 */
export const eventNames = {
  MISSING: 'featuregraph.value.missing',
  STALE: 'featuregraph.value.stale',
  EXPIRED: 'featuregraph.value.expired',
} as const;

/** Label names of the metrics below, as Prometheus shows them and the alert rules select them. */
export const labelNames = {
  feature: 'feature',
  view: 'view',
  entity: 'entity',
  status: 'status',
  path: 'path',
  operation: 'operation',
  store: 'store',
  topic: 'topic',
  partition: 'partition',
  owner: 'owner',
  segment: 'segment',
  direction: 'direction',
} as const;

/** Values of the `store` label: which of the gateway's stores a call went to. */
export const storeLabels = { online: 'online', history: 'history' } as const;

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
  /** The monitor's last run, per feature, entity, view, owner, segment and direction (materializers/monitor/metrics.ts). */
  monitorValues: 'featuregraph_monitor_values',
  monitorMissingRatio: 'featuregraph_monitor_missing_ratio',
  monitorStaleRatio: 'featuregraph_monitor_stale_ratio',
  monitorNullRatio: 'featuregraph_monitor_null_ratio',
  monitorOutOfRangeRatio: 'featuregraph_monitor_out_of_range_ratio',
  monitorPsi: 'featuregraph_monitor_psi',
  monitorSkewRatio: 'featuregraph_monitor_skew_ratio',
  monitorLastRun: 'featuregraph_monitor_last_run_timestamp_seconds',
  monitorFailures: 'featuregraph_monitor_failures_total',
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
