// The materializers' traces and metrics, through the OpenTelemetry API only: a span per stream batch
// (messaging semantic conventions, linked to the producers' trace contexts from the messages' headers)
// and per run of a row view; lag, events, batches, failures, dead letters, last success and view
// watermarks as metrics (names: schema/telemetry.ts). Whether an SDK is registered is asked once, when
// a materializer is made (the SDK starts before the materializers do): with none, the materializer
// holds null and each batch costs one null check, no attributes are built.
import {
  createNoopMeter,
  createTraceState,
  isSpanContextValid,
  metrics,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Gauge,
  type Link,
  type MeterProvider,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { FeaturegraphError } from '../schema/errors.js';
import type { FeatureRegistry, ResolvedView } from '../schema/registry.js';
import { attributeNames, materializerAttributeNames, meter, metricNames, spanNames, tracer } from '../schema/telemetry.js';
import type { StreamBatch, StreamPayload, TraceHeaders } from '../adapters/sources/types.js';
import type { BatchRun } from './batch/scheduler.js';

/** Links of one batch span, at most: distinct producer contexts past these are not linked. */
export const maxBatchLinks = 32;

/** The messaging semantic conventions' keys (incubating in @opentelemetry/semantic-conventions, so written here). */
const messaging = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  partition: 'messaging.destination.partition.id',
  messageCount: 'messaging.batch.message_count',
} as const;

/** What the API hands out when no SDK registered a tracer provider. */
const noopTracerProvider = new ProxyTracerProvider().getDelegate();

/** The tracer, when an SDK registered a tracer provider. */
function activeTracer(): Tracer | null {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider && provider.getDelegate() === noopTracerProvider ? null : tracer();
}

interface Instruments {
  lag: Gauge;
  events: Counter;
  batches: Counter;
  failures: Counter;
  deadLetters: Counter;
  lastSuccess: Gauge;
  watermark: Gauge;
}

/** The instruments of the meter provider registered now; remade when another is registered (tests do). */
let made: { provider: MeterProvider; instruments: Instruments | null } | null = null;

/** The materializers' instruments, when an SDK registered a meter provider. */
function activeInstruments(): Instruments | null {
  const provider = metrics.getMeterProvider();
  if (made?.provider === provider) return made.instruments;
  const m = meter();
  const instruments: Instruments | null =
    m === createNoopMeter()
      ? null
      : {
          lag: m.createGauge(metricNames.materializerLag, { description: 'Messages of the partition not applied yet when its last batch was: its high watermark then, minus the offset after the batch.' }),
          events: m.createCounter(metricNames.materializerEvents, { description: 'Events (stream messages, rows of a table or collection) applied.' }),
          batches: m.createCounter(metricNames.materializerBatches, { description: 'Stream batches and runs of row views, by outcome.' }),
          failures: m.createCounter(metricNames.materializerFailures, { description: 'Stream batches and runs of row views that failed (a failed batch is fetched again).' }),
          deadLetters: m.createCounter(metricNames.materializerDeadLetters, { description: "Events a view refused and sent to its topic's dead-letter topic." }),
          lastSuccess: m.createGauge(metricNames.materializerLastSuccess, { description: 'When a batch of the partition, or a run of the view, last succeeded (epoch seconds).', unit: 's' }),
          watermark: m.createGauge(metricNames.materializerWatermark, { description: "The view's watermark as this materializer last published it (epoch seconds): its source is applied up to then.", unit: 's' }),
        };
  made = { provider, instruments };
  return instruments;
}

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The producer's span context of a W3C traceparent (and tracestate), or null when it is not a valid one. */
export function producerContext(headers: TraceHeaders): SpanContext | null {
  const match = traceparentPattern.exec(headers.traceparent.trim());
  if (match === null) return null;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  // Version ff is invalid; version 00 has nothing after the flags (later versions may).
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  const context: SpanContext = { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true };
  if (headers.tracestate !== undefined) context.traceState = createTraceState(headers.tracestate);
  return isSpanContextValid(context) ? context : null;
}

/** How to read a batch's trace headers by index: its payload's, else its messages' (null: it has none). */
function headersOf(batch: StreamBatch, payload: StreamPayload): ((i: number) => TraceHeaders | null | undefined) | null {
  if (payload.headersAt) return payload.headersAt.bind(payload);
  // The materializer made the payload from `messages`, which carry the headers themselves.
  if (batch.payload === undefined) return (i) => batch.messages[i]?.headers;
  return null;
}

/** Links to the distinct producer contexts of a batch's messages, at most maxBatchLinks. */
function producerLinks(batch: StreamBatch, payload: StreamPayload): Link[] {
  const headersAt = headersOf(batch, payload);
  if (headersAt === null) return [];
  const links: Link[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < payload.count && links.length < maxBatchLinks; i++) {
    const headers = headersAt(i);
    if (!headers) continue;
    const context = producerContext(headers);
    if (context === null || seen.has(context.traceId + context.spanId)) continue;
    seen.add(context.traceId + context.spanId);
    links.push({ context });
  }
  return links;
}

/** An error as a span's status message: with its code when featuregraph's. */
function errorText(error: unknown): string {
  if (error instanceof FeaturegraphError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function failSpan(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(error) });
}

/** One batch being observed: told what it prepared, then how it ended. */
export interface BatchObservation {
  /** The tile writes the batch prepared and the messages its views refused (dead letters once it is through). */
  prepared(prepared: { writes: readonly unknown[]; refused: readonly { view: string }[] }): void;
  /** The batch's outcome: the promise handle() returned for it. */
  settle(run: Promise<void>): void;
}

/** The telemetry of one stream materializer (one topic). */
export class StreamTelemetry {
  /** The materializer's telemetry, or null when no SDK is registered: then nothing is observed at all. */
  static start(topic: string, views: readonly ResolvedView[], system: string, now: () => number): StreamTelemetry | null {
    const tracing = activeTracer();
    const instruments = activeInstruments();
    return tracing === null && instruments === null ? null : new StreamTelemetry(topic, views, system, now, tracing, instruments);
  }

  private readonly viewNames: string[];

  private constructor(
    private readonly topic: string,
    views: readonly ResolvedView[],
    private readonly system: string,
    private readonly now: () => number,
    private readonly tracer: Tracer | null,
    private readonly instruments: Instruments | null,
  ) {
    this.viewNames = views.map((view) => view.name);
    // From 0, so that increase() sees the first dead letters of a view too (a series starting at 1 has none).
    for (const view of this.viewNames) instruments?.deadLetters.add(0, { topic, view });
  }

  batch(batch: StreamBatch, payload: StreamPayload): BatchObservation {
    const count = payload.count;
    const first = count > 0 ? payload.offsetAt(0) : null;
    const last = count > 0 ? payload.offsetAt(count - 1) : null;
    const lag = last !== null && batch.highWatermark !== undefined && Number.isFinite(batch.highWatermark) ? Math.max(0, batch.highWatermark - (last + 1)) : null;
    const span = this.tracer === null ? null : this.startSpan(batch, payload, first, last, lag);
    let writes = 0;
    let refused: readonly { view: string }[] = [];
    return {
      prepared: (prepared) => {
        writes = prepared.writes.length;
        refused = prepared.refused;
      },
      settle: (run) => {
        run.then(
          () => {
            span?.setAttributes({ [attributeNames.writes]: writes, [attributeNames.deadLetters]: refused.length, [materializerAttributeNames.outcome]: 'applied' });
            span?.end();
            this.applied(batch.partition, count, refused, lag);
          },
          (error: unknown) => {
            if (span) {
              span.setAttribute(materializerAttributeNames.outcome, 'failed');
              failSpan(span, error);
              span.end();
            }
            const partition = { topic: this.topic, partition: String(batch.partition) };
            this.instruments?.batches.add(1, { ...partition, outcome: 'failed' });
            this.instruments?.failures.add(1, partition);
          },
        )
          // Telemetry that fails must not become an unhandled rejection: the batch's outcome stands.
          .catch(() => undefined);
      },
    };
  }

  private startSpan(batch: StreamBatch, payload: StreamPayload, first: number | null, last: number | null, lag: number | null): Span {
    const attributes: Attributes = {
      [messaging.system]: this.system,
      [messaging.operationType]: 'process',
      [messaging.operationName]: 'process',
      [messaging.destination]: batch.topic,
      [messaging.partition]: String(batch.partition),
      [messaging.messageCount]: payload.count,
      [attributeNames.events]: payload.count,
      [attributeNames.views]: this.viewNames,
    };
    if (first !== null && last !== null) {
      attributes[materializerAttributeNames.firstOffset] = first;
      attributes[materializerAttributeNames.lastOffset] = last;
    }
    if (lag !== null) attributes[materializerAttributeNames.lag] = lag;
    // A root of its own: the batch is many producers' work, which it links to rather than continues.
    return (this.tracer as Tracer).startSpan(spanNames.streamBatch, { kind: SpanKind.CONSUMER, attributes, links: producerLinks(batch, payload) }, ROOT_CONTEXT);
  }

  private applied(partitionNumber: number, events: number, refused: readonly { view: string }[], lag: number | null): void {
    const instruments = this.instruments;
    if (instruments === null) return;
    const partition = { topic: this.topic, partition: String(partitionNumber) };
    instruments.events.add(events, partition);
    instruments.batches.add(1, { ...partition, outcome: 'applied' });
    instruments.lastSuccess.record(this.now() / 1000, partition);
    if (lag !== null) instruments.lag.record(lag, partition);
    if (refused.length === 0) return;
    const byView = new Map<string, number>();
    for (const { view } of refused) byView.set(view, (byView.get(view) ?? 0) + 1);
    for (const [view, n] of byView) instruments.deadLetters.add(n, { topic: this.topic, view });
  }
}

/**
 * A scheduler's onRun that also makes each run of a row view a span (from its start to its end) and
 * counts it; `onRun` itself when no SDK is registered. Runs are told when they end, so their spans are
 * made then, with the run's own times.
 */
export function observeRowRuns(registry: FeatureRegistry, onRun: ((run: BatchRun) => void) | undefined): ((run: BatchRun) => void) | undefined {
  const runTracer = activeTracer();
  const instruments = activeInstruments();
  if (runTracer === null && instruments === null) return onRun;
  return (run) => {
    const view = registry.views.get(run.view);
    if (runTracer !== null) {
      const span = runTracer.startSpan(
        spanNames.rowsRun,
        {
          startTime: new Date(run.startedAt),
          attributes: {
            [attributeNames.view]: run.view,
            [attributeNames.entity]: view?.entity.name ?? '',
            [attributeNames.mode]: view?.source.kind === 'document' ? 'poll' : 'run',
            [attributeNames.events]: run.rows,
            [materializerAttributeNames.outcome]: run.outcome,
            [materializerAttributeNames.attempt]: run.attempt,
          },
        },
        ROOT_CONTEXT,
      );
      if (run.outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: run.error ?? 'failed' });
      span.end(new Date(run.finishedAt));
    }
    if (instruments !== null) {
      const labels = { view: run.view };
      instruments.batches.add(1, { ...labels, outcome: run.outcome });
      if (run.outcome === 'done') {
        instruments.events.add(run.rows, labels);
        instruments.lastSuccess.record(run.finishedAt / 1000, labels);
      } else if (run.outcome === 'failed') {
        instruments.failures.add(1, labels);
      }
    }
    onRun?.(run);
  };
}

/**
 * Records a view's watermark as a materializer published it (epoch ms), as
 * featuregraph_materializer_watermark_timestamp_seconds{view}: for the materializers' watermark
 * publishing to call after each publish. Nothing when no SDK is registered.
 */
export function recordViewWatermark(view: string, watermarkMs: number): void {
  activeInstruments()?.watermark.record(watermarkMs / 1000, { view });
}
