// What the serving paths report per request, through the OpenTelemetry API only (the gateway starts
// the SDK, or not): the operation span with the statuses of the values it served, the store calls'
// spans and durations, and the metrics of feature reads, value ages and request durations. The fast
// path and Apollo report through the same OperationTelemetry, so they cannot differ in what they say.
//
// Cost is what decides the shapes here. A request with 5,000 values must not pay per value: the fast
// path counts per entity and view (plan/tally.ts) and hands the sums over once; feature reads
// accumulate into process-wide totals that an observable counter reports at collection time (an SDK
// counter would hash its attributes on every add); value ages are recorded once per view and
// operation (the oldest), not once per value; label sets are made once and kept, and the histograms
// can be the gateway's own (HistogramSource), which find a series by them without hashing them. The
// operation's counts sit in flat arrays, no object per feature. Without a tracer no span is made; a
// span that is not sampled makes no names, events or attribute lists, and no children: every sampler
// the settings allow decides a child as its parent was decided (parent-based ones by the flag,
// trace-id ratios by the same trace id), so asking again would only cost.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type Context, type Counter, type Meter, type ObservableResult, type Span, type Tracer } from '@opentelemetry/api';
import type { ResolvedFeature, ResolvedRequestFeature, ResolvedView } from '../schema/registry.js';
import type { FeatureStatus } from '../schema/snapshot.js';
import type { OnlineKey } from '../adapters/online/types.js';
import { attributeNames, eventNames, labelNames, metricNames, spanNames, storeLabels, type ServingPath } from '../schema/telemetry.js';

/** Attribute keys of the semantic conventions for GraphQL and databases (GraphQL's are still incubating there). */
export const semconv = {
  graphqlOperationName: 'graphql.operation.name',
  graphqlOperationType: 'graphql.operation.type',
  dbSystem: 'db.system.name',
  dbBatchSize: 'db.operation.batch.size',
  errorType: 'error.type',
} as const;

/** Statuses in the order of the count arrays below. */
export const statusOrder: readonly FeatureStatus[] = ['PRESENT', 'MISSING', 'STALE', 'EXPIRED'];
export const statusSlot: Readonly<Record<FeatureStatus, number>> = { PRESENT: 0, MISSING: 1, STALE: 2, EXPIRED: 3 };
const pathSlot: Readonly<Record<ServingPath, number>> = { fast: 0, apollo: 4 };

/** Most names of stale, missing or expired features listed on an operation span (per status). */
export const maxNamedFeatures = 20;
/** Most distinct operation names the request-duration metric labels; the others are "other". */
export const maxOperationNames = 100;

const plainName = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** Buckets in seconds: request and store-call durations. */
const durationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Buckets in seconds: value ages, from a second to a week. */
const ageBuckets = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400, 604800];

/** Process-wide totals of feature reads by status and path, reported by an observable counter. */
interface ReadTotals {
  counts: Float64Array;
  /** One attribute set per slot (status x path), made on first use. */
  attributes: (Attributes | undefined)[];
  feature: ResolvedFeature;
}

/** A histogram the serving paths record into. */
export interface HistogramSpec {
  name: string;
  description: string;
  unit: string;
  /** Upper bounds of the buckets, ascending (a value equal to one falls in its bucket). */
  boundaries: readonly number[];
}

/** Where a histogram's observations go: an SDK instrument, or an aggregation of the gateway's own. */
export interface HistogramSink {
  record(value: number, attributes: Attributes): void;
}

/** Makes the histograms of the serving paths (gateway/telemetry/histograms.ts: without hashing labels on each record). */
export interface HistogramSource {
  histogram(spec: HistogramSpec): HistogramSink;
}

/** The meter's own histograms, for a gateway given a meter alone. */
const meterHistograms = (meter: Meter): HistogramSource => ({
  histogram: (spec) => meter.createHistogram(spec.name, { description: spec.description, unit: spec.unit, advice: { explicitBucketBoundaries: [...spec.boundaries] } }),
});

/** The gateway's metric instruments; one set per Meter, shared by every gateway that reports to it. */
class ServingInstruments {
  private readonly totals = new Map<string, ReadTotals>();
  private readonly totalsOf = new WeakMap<ResolvedFeature, ReadTotals>();
  private readonly viewAttributes = new WeakMap<ResolvedView, Attributes>();
  private readonly durationAttributes = new Map<string, Record<ServingPath, Attributes>>();
  private readonly storeAttributes = { online: { [labelNames.store]: storeLabels.online }, history: { [labelNames.store]: storeLabels.history } };
  readonly valueAge: HistogramSink;
  readonly requestDuration: HistogramSink;
  readonly storeDuration: HistogramSink;
  readonly storeErrors: Counter;

  constructor(meter: Meter, histograms: HistogramSource) {
    meter
      .createObservableCounter(metricNames.featureReads, { description: 'Feature values served by the gateway from the online store, by feature, view, entity, status and serving path' })
      .addCallback((result) => this.observeReads(result));
    this.valueAge = histograms.histogram({ name: metricNames.featureValueAge, description: 'Per operation and view, the age of the oldest value served from the online store (read instant - eventTime)', unit: 's', boundaries: ageBuckets });
    this.requestDuration = histograms.histogram({ name: metricNames.requestDuration, description: 'GraphQL operations, by operation and serving path', unit: 's', boundaries: durationBuckets });
    this.storeDuration = histograms.histogram({ name: metricNames.storeCallDuration, description: "Calls of the gateway's reads to its stores, by store (online, history)", unit: 's', boundaries: durationBuckets });
    this.storeErrors = meter.createCounter(metricNames.storeErrors, { description: "Failed calls of the gateway's reads to its stores, by store (online, history)" });
  }

  private observeReads(result: ObservableResult): void {
    for (const totals of this.totals.values()) {
      for (let slot = 0; slot < 8; slot++) {
        const count = totals.counts[slot] as number;
        if (count === 0) continue;
        let attributes = totals.attributes[slot];
        if (attributes === undefined) {
          const { feature } = totals;
          attributes = {
            [labelNames.feature]: feature.name,
            [labelNames.view]: feature.view.name,
            [labelNames.entity]: feature.view.entity.name,
            [labelNames.status]: statusOrder[slot % 4] as string,
            [labelNames.path]: slot < 4 ? 'fast' : 'apollo',
          };
          totals.attributes[slot] = attributes;
        }
        result.observe(count, attributes);
      }
    }
  }

  /** The running totals of a feature; features of another registry with the same view and name share them. */
  readTotals(feature: ResolvedFeature): ReadTotals {
    let totals = this.totalsOf.get(feature);
    if (totals) return totals;
    const key = `${feature.view.name}\u0000${feature.name}`;
    totals = this.totals.get(key);
    if (!totals) {
      totals = { counts: new Float64Array(8), attributes: new Array<Attributes | undefined>(8), feature };
      this.totals.set(key, totals);
    }
    this.totalsOf.set(feature, totals);
    return totals;
  }

  viewLabels(view: ResolvedView): Attributes {
    let attributes = this.viewAttributes.get(view);
    if (!attributes) {
      attributes = { [labelNames.view]: view.name, [labelNames.entity]: view.entity.name };
      this.viewAttributes.set(view, attributes);
    }
    return attributes;
  }

  durationLabels(operation: string, path: ServingPath): Attributes {
    let byPath = this.durationAttributes.get(operation);
    if (!byPath) {
      byPath = { fast: { [labelNames.operation]: operation, [labelNames.path]: 'fast' }, apollo: { [labelNames.operation]: operation, [labelNames.path]: 'apollo' } };
      this.durationAttributes.set(operation, byPath);
    }
    return byPath[path];
  }

  storeLabels(store: keyof typeof storeLabels): Attributes {
    return this.storeAttributes[store];
  }
}

const instrumentsOf = new WeakMap<Meter, ServingInstruments>();

export interface ServingTelemetryOptions {
  /** Spans are made only with a tracer. */
  tracer?: Tracer | null;
  /** Metrics are recorded only with a meter. */
  meter?: Meter | null;
  /** Where the histograms go (default: the meter's own instruments). */
  histograms?: HistogramSource | null;
  /** db.system.name of the online store's spans ("redis"). */
  onlineSystem: string;
  /** db.system.name of the history store's spans ("duckdb"). */
  historySystem?: string;
}

/** A store call's span attributes, made only when its span records. */
type StoreCallAttributes = () => Attributes;

/** The gateway's telemetry: null in the services when there is neither a tracer nor a meter. */
export class ServingTelemetry {
  readonly tracer: Tracer | null;
  readonly instruments: ServingInstruments | null;
  private readonly onlineSystem: string;
  private readonly historySystem: string;
  /** Labels by operation type, then name. */
  private readonly operationLabels = new Map<string, Map<string, string>>();
  private namedOperations = 0;

  constructor(options: ServingTelemetryOptions) {
    this.tracer = options.tracer ?? null;
    const meter = options.meter ?? null;
    let instruments = meter ? instrumentsOf.get(meter) : undefined;
    if (meter && !instruments) {
      instruments = new ServingInstruments(meter, options.histograms ?? meterHistograms(meter));
      instrumentsOf.set(meter, instruments);
    }
    this.instruments = instruments ?? null;
    this.onlineSystem = options.onlineSystem;
    this.historySystem = options.historySystem ?? 'unknown';
  }

  /** The telemetry of one HTTP request, under the span of `parent` (the request's span), if any. */
  request(parent: Context = ROOT_CONTEXT): RequestTelemetry {
    return new RequestTelemetry(this, parent);
  }

  /**
   * The `operation` label: the span name for operations of a plain GraphQL name, among the first
   * maxOperationNames names seen; "<type> other" past them. The label set stays bounded whatever
   * clients send.
   */
  operationLabel(type: string | null, name: string | null): string {
    if (type === null || name === null) return spanNames.operation(type, name);
    let ofType = this.operationLabels.get(type);
    if (!ofType) {
      ofType = new Map();
      this.operationLabels.set(type, ofType);
    }
    const known = ofType.get(name);
    if (known !== undefined) return known;
    if (!plainName.test(name) || this.namedOperations >= maxOperationNames) return spanNames.operation(type, 'other');
    this.namedOperations++;
    const label = spanNames.operation(type, name);
    ofType.set(name, label);
    return label;
  }

  /** The tracer for a child of `parent`: none when there is no tracer, or the parent was not sampled. */
  tracerUnder(parent: Context): Tracer | null {
    if (!this.tracer) return null;
    const context = trace.getSpanContext(parent);
    return context === undefined || (context.traceFlags & TraceFlags.SAMPLED) !== 0 ? this.tracer : null;
  }

  /** Runs a store call under a client span (when traced) and records its duration, and its failure. */
  async storeCall<T>(store: keyof typeof storeLabels, parent: Context, name: string, attributes: StoreCallAttributes, call: () => Promise<T>): Promise<T> {
    const start = performance.now();
    let span: Span | null = null;
    const tracer = this.tracerUnder(parent);
    if (tracer) {
      span = tracer.startSpan(name, { kind: SpanKind.CLIENT }, parent);
      if (span.isRecording()) span.setAttributes({ [semconv.dbSystem]: store === 'online' ? this.onlineSystem : this.historySystem, ...attributes() });
    }
    try {
      return await call();
    } catch (error) {
      this.instruments?.storeErrors.add(1, this.instruments.storeLabels(store));
      if (span) failSpan(span, error);
      throw error;
    } finally {
      this.instruments?.storeDuration.record((performance.now() - start) / 1000, this.instruments.storeLabels(store));
      span?.end();
    }
  }
}

/** The code of an error (a FeaturegraphError's, a GraphQL error's extensions'), else its class name. */
function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    return (error as Error).constructor?.name ?? 'Error';
  }
  return 'Error';
}

function failSpan(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.setAttribute(semconv.errorType, errorCode(error));
}

/** The view names among keys, each once, sorted. */
function viewsOf(keys: readonly { view: string }[]): string[] {
  const views = new Set<string>();
  for (const key of keys) views.add(key.view);
  return [...views].sort();
}

/**
 * The telemetry of one HTTP request to /graphql: its operations (one, or those of a batch), and the
 * store reads its loaders make, which belong to its operation (or, in a batch, to the request).
 */
export class RequestTelemetry {
  private pending: OperationTelemetry | null = null;
  private first: OperationTelemetry | null = null;
  private begun = 0;

  constructor(
    readonly serving: ServingTelemetry,
    readonly parent: Context,
  ) {}

  /** Starts an operation of this request (the fast path's, or one Apollo runs). */
  startOperation(): OperationTelemetry {
    const operation = new OperationTelemetry(this.serving, this.parent);
    this.begun++;
    this.first ??= operation;
    return operation;
  }

  /** Leaves an operation the fast path did not answer for Apollo to go on with. */
  handOver(operation: OperationTelemetry): void {
    this.pending = operation;
  }

  /** The operation the fast path handed over, if any (once), else a new one: for Apollo's plugin. */
  takeOperation(): OperationTelemetry {
    const pending = this.pending;
    this.pending = null;
    return pending ?? this.startOperation();
  }

  /** An operation handed over that Apollo never began (it refused the request before any operation): finished as its. */
  finishPending(): void {
    const pending = this.pending;
    this.pending = null;
    pending?.finish('apollo');
  }

  /** Where a loader's store reads belong: the operation of a one-operation request, else the request. */
  private readParent(): Context {
    return this.begun === 1 && this.first ? this.first.context : this.parent;
  }

  /** An online-store read of the request's loader. */
  onlineRead<T>(keys: readonly OnlineKey[], call: () => Promise<T>): Promise<T> {
    return onlineRead(this.serving, this.readParent(), keys, call);
  }

  /** A history-store read of the request's loader: `rows` entity instants of `views`. */
  historyRead<T>(views: readonly string[], rows: number, call: () => Promise<T>): Promise<T> {
    return this.serving.storeCall('history', this.readParent(), spanNames.historyRead, () => ({ [attributeNames.views]: [...new Set(views)].sort(), [semconv.dbBatchSize]: rows }), call);
  }
}

function onlineRead<T>(serving: ServingTelemetry, parent: Context, keys: readonly OnlineKey[], call: () => Promise<T>): Promise<T> {
  return serving.storeCall('online', parent, spanNames.onlineRead, () => ({ [attributeNames.views]: viewsOf(keys), [semconv.dbBatchSize]: keys.length }), call);
}

/**
 * One GraphQL operation: its span (when traced), the statuses of the feature values it served, and at
 * its end the metrics. Values are counted as served (a field of a stored feature); a featureMeta entry
 * describes a value and is not counted again, and request-time features are counted as computed.
 * Metrics count reads of the online store only: reads of the past (asOf, training sets) are not what
 * the gateway serves now, and would drown a missing rate in history from before a feature existed.
 */
export class OperationTelemetry {
  readonly span: Span | null;
  /** Where this operation's children go: its span's context (or its parent's when untraced). */
  readonly context: Context;
  private readonly recording: boolean;
  private readonly start = performance.now();
  private type: string | null = null;
  private name: string | null = null;
  private error: string | null = null;
  private finished = false;
  /**
   * Entry i: features[i], with its online statuses at counts[8i .. 8i + 3] and its past ones after
   * them. Flat arrays, a feature possibly in several entries (the fast path appends one per field):
   * no object per feature on the way, summed per feature only where a span shows them.
   */
  private readonly features: ResolvedFeature[] = [];
  private readonly counts: number[] = [];
  /** Apollo's entry of each feature, made on its first value. */
  private entries: Map<ResolvedFeature, number> | null = null;
  /** Views and the oldest age (ms) of their values read from the online store. */
  private readonly ageViews: ResolvedView[] = [];
  private readonly ages: number[] = [];
  private oldestAgeMs = -1;
  private requestFeatures: Map<ResolvedRequestFeature, number> | null = null;
  private requestFirstAt = 0;
  private requestLastAt = 0;

  constructor(
    private readonly serving: ServingTelemetry,
    parent: Context,
  ) {
    const tracer = serving.tracerUnder(parent);
    this.span = tracer ? tracer.startSpan(spanNames.operation(null, null), { kind: SpanKind.INTERNAL }, parent) : null;
    this.recording = this.span?.isRecording() ?? false;
    this.context = this.span ? trace.setSpan(parent, this.span) : parent;
  }

  /** The operation's type ("query") and name (null: anonymous), once known. */
  identify(type: string, name: string | null): void {
    this.type = type;
    this.name = name;
  }

  /** The response carries errors: the first one's code. */
  failed(code: string): void {
    this.error ??= code;
  }

  /** An online-store read of this operation (the fast path's). */
  onlineRead<T>(keys: readonly OnlineKey[], call: () => Promise<T>): Promise<T> {
    return onlineRead(this.serving, this.context, keys, call);
  }

  private age(view: ResolvedView, ageMs: number, online: boolean): void {
    if (ageMs > this.oldestAgeMs) this.oldestAgeMs = ageMs;
    if (!online) return;
    // An operation reads few views: a scan beats a map.
    const i = this.ageViews.indexOf(view);
    if (i < 0) {
      this.ageViews.push(view);
      this.ages.push(ageMs);
    } else if (ageMs > (this.ages[i] as number)) this.ages[i] = ageMs;
  }

  /** One value served (Apollo's resolvers): read online, or from the past. */
  read(feature: ResolvedFeature, status: FeatureStatus, ageMs: number | null, online: boolean): void {
    this.entries ??= new Map();
    let entry = this.entries.get(feature);
    if (entry === undefined) {
      entry = this.features.push(feature) - 1;
      this.counts.push(0, 0, 0, 0, 0, 0, 0, 0);
      this.entries.set(feature, entry);
    }
    (this.counts[entry * 8 + statusSlot[status] + (online ? 0 : 4)] as number)++;
    if (ageMs !== null) this.age(feature.view, ageMs, online);
  }

  /** Values served of one feature, counted by status (the fast path's, all read online): counts[at..at+3]. */
  readCounts(feature: ResolvedFeature, counts: ArrayLike<number>, at: number): void {
    this.features.push(feature);
    this.counts.push(counts[at] as number, counts[at + 1] as number, counts[at + 2] as number, counts[at + 3] as number, 0, 0, 0, 0);
  }

  /** The oldest age (ms) among the online values of a view the fast path served. */
  viewAge(view: ResolvedView, ageMs: number): void {
    this.age(view, ageMs, true);
  }

  /** A request-time feature computed `count` times, from `from` to `to` (performance.now() instants). */
  computed(feature: ResolvedRequestFeature, count = 1, from = this.recording ? performance.now() : 0, to = from): void {
    this.requestFeatures ??= new Map();
    this.requestFeatures.set(feature, (this.requestFeatures.get(feature) ?? 0) + count);
    if (this.requestFirstAt === 0 || from < this.requestFirstAt) this.requestFirstAt = from;
    if (to > this.requestLastAt) this.requestLastAt = to;
  }

  /** Whether the operation's span records: only then are names, events and instants worth making. */
  get recorded(): boolean {
    return this.recording;
  }

  /** Ends the operation: its metrics, and its span's counts, names and events. Once. */
  finish(path: ServingPath): void {
    if (this.finished) return;
    this.finished = true;
    const instruments = this.serving.instruments;
    if (instruments) {
      const slot = pathSlot[path];
      const { features, counts } = this;
      for (let entry = 0; entry < features.length; entry++) {
        const totals = instruments.readTotals(features[entry] as ResolvedFeature).counts;
        for (let i = 0; i < 4; i++) (totals[slot + i] as number) += counts[entry * 8 + i] as number;
      }
      this.ageViews.forEach((view, i) => instruments.valueAge.record((this.ages[i] as number) / 1000, instruments.viewLabels(view)));
      instruments.requestDuration.record((performance.now() - this.start) / 1000, instruments.durationLabels(this.serving.operationLabel(this.type, this.name), path));
    }
    const span = this.span;
    if (!span) return;
    if (this.recording) this.describe(span, path);
    span.end();
  }

  private describe(span: Span, path: ServingPath): void {
    span.updateName(spanNames.operation(this.type, this.name));
    const totals = [0, 0, 0, 0];
    const named: Record<'MISSING' | 'STALE' | 'EXPIRED', { feature: ResolvedFeature; values: number }[]> = { MISSING: [], STALE: [], EXPIRED: [] };
    // Online and past statuses together, per feature.
    const byFeature = new Map<ResolvedFeature, number[]>();
    this.features.forEach((feature, entry) => {
      const sums = byFeature.get(feature) ?? [0, 0, 0, 0];
      for (let i = 0; i < 4; i++) sums[i] = (sums[i] as number) + (this.counts[entry * 8 + i] as number) + (this.counts[entry * 8 + 4 + i] as number);
      byFeature.set(feature, sums);
    });
    for (const [feature, sums] of byFeature) {
      for (let i = 0; i < 4; i++) {
        const values = sums[i] as number;
        if (values === 0) continue;
        totals[i] = (totals[i] as number) + values;
        if (i > 0) named[statusOrder[i] as 'MISSING' | 'STALE' | 'EXPIRED'].push({ feature, values });
      }
    }
    const attributes: Attributes = {
      [attributeNames.path]: path,
      [attributeNames.present]: totals[0],
      [attributeNames.missing]: totals[1],
      [attributeNames.stale]: totals[2],
      [attributeNames.expired]: totals[3],
    };
    if (this.type !== null) attributes[semconv.graphqlOperationType] = this.type;
    if (this.name !== null) attributes[semconv.graphqlOperationName] = this.name;
    if (this.oldestAgeMs >= 0) attributes[attributeNames.oldestAgeMs] = this.oldestAgeMs;
    const lists = { MISSING: attributeNames.missingFeatures, STALE: attributeNames.staleFeatures, EXPIRED: attributeNames.expiredFeatures } as const;
    for (const status of ['MISSING', 'STALE', 'EXPIRED'] as const) {
      const entries = named[status].sort((a, b) => compareFeatures(a.feature, b.feature));
      if (entries.length === 0) continue;
      attributes[lists[status]] = [...new Set(entries.map((e) => e.feature.name))].slice(0, maxNamedFeatures);
      for (const { feature, values } of entries) {
        span.addEvent(eventNames[status], { [attributeNames.feature]: feature.name, [attributeNames.view]: feature.view.name, [attributeNames.entity]: feature.view.entity.name, [attributeNames.values]: values });
      }
    }
    if (this.error !== null) {
      attributes[semconv.errorType] = this.error;
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.setAttributes(attributes);
    if (this.requestFeatures && this.serving.tracer) {
      const computed = [...this.requestFeatures].sort(([a], [b]) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const child = this.serving.tracer.startSpan(
        spanNames.requestFeatures,
        { startTime: this.requestFirstAt, attributes: { [attributeNames.features]: computed.map(([f]) => f.name), [attributeNames.values]: computed.reduce((n, [, count]) => n + count, 0) } },
        this.context,
      );
      child.end(this.requestLastAt);
    }
  }
}

const compareFeatures = (a: ResolvedFeature, b: ResolvedFeature): number => {
  const x = `${a.view.entity.name}.${a.name}`;
  const y = `${b.view.entity.name}.${b.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
};
