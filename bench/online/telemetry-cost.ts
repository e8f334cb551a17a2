// The telemetry's own cost on the fast path, in process and without a network: a plan answered from
// the memory store, over and over, with no telemetry, with the operation's bookkeeping alone, with
// metrics, with 10% and with all of the operations traced (an HTTP-like root span each, spans batched
// to an exporter that drops them: what OTLP's encoding costs is bench:online --telemetry's to show).
// The variants alternate, and each one's median over the rounds is reported: on a shared machine an
// in-process loop is far steadier than served load, so this is where a change of a few microseconds
// shows.
//
//   node --import tsx bench/online/telemetry-cost.ts [--shape 1x10|100x50] [--rounds N]
//
// One JSON line per variant: microseconds per answer, and `ratio`, the no-telemetry variant's time
// over this one's (its throughput over the baseline's, measured in the same run).
import { parseArgs } from 'node:util';
import { specifiedRules } from 'graphql';
import { ROOT_CONTEXT, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { loadFeatureRepo } from '../../schema/load.js';
import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import { FastPath, type GraphqlRequestBody } from '../../resolvers/plan/index.js';
import { ServingTelemetry } from '../../resolvers/telemetry.js';
import { buildSchema } from '../../gateway/server.js';
import { ServingHistograms } from '../../gateway/telemetry/histograms.js';
import { PrometheusEndpoint } from '../../gateway/telemetry/metrics-endpoint.js';
import { allFeatures, isShapeName, itemIds, shapes, viewName } from './shapes.js';

const { values: flags } = parseArgs({ options: { shape: { type: 'string', default: '1x10' }, rounds: { type: 'string', default: '11' } }, strict: true });
if (!isShapeName(flags.shape)) throw new Error(`--shape must be 1x10 or 100x50, got ${JSON.stringify(flags.shape)}`);
const shape = shapes[flags.shape];
const rounds = Number(flags.rounds);

const registry = await loadFeatureRepo('bench/online/repo');
const store = new MemoryOnlineStore();
const now = Date.now();
await store.writeValues(itemIds.map((key) => ({ view: viewName, key, eventTime: now, availableTime: now, values: Object.fromEntries(allFeatures.map((f) => [f, Math.random() * 1000])), retentionMs: 30 * 24 * 3600 * 1000 })));
const fastPath = new FastPath({ registry, schema: buildSchema(registry), store, rules: specifiedRules, maxEntitiesPerField: 1000, maxTokens: 10_000 });
const bodies: GraphqlRequestBody[] = shape.variableSets.map((variables) => ({ query: shape.query, variables }));

const histograms = new ServingHistograms();
const meter = new MeterProvider({ readers: [new PrometheusEndpoint([histograms]).reader] }).getMeter('featuregraph');
const dropped: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
const tracerOf = (ratio: number): Tracer => new BasicTracerProvider({ sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }), spanProcessors: [new BatchSpanProcessor(dropped)] }).getTracer('featuregraph');

interface Variant {
  name: string;
  telemetry: ServingTelemetry | null;
  tracer?: Tracer;
}
const variants: Variant[] = [
  { name: 'off', telemetry: null },
  { name: 'bookkeeping', telemetry: new ServingTelemetry({ onlineSystem: 'memory' }) },
  { name: 'metrics', telemetry: new ServingTelemetry({ meter, histograms, onlineSystem: 'memory' }) },
  ...[0.1, 1].map((ratio) => {
    const tracer = tracerOf(ratio);
    return { name: ratio === 1 ? 'traced' : 'sampled', telemetry: new ServingTelemetry({ meter, histograms, tracer, onlineSystem: 'memory' }), tracer };
  }),
];

/** Microseconds per answer over `count` answers. */
async function run({ telemetry, tracer }: Variant, count: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const root = tracer?.startSpan('POST /graphql', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
    const operation = telemetry?.request(root ? trace.setSpan(ROOT_CONTEXT, root) : ROOT_CONTEXT).startOperation() ?? null;
    const answer = await fastPath.answer(bodies[i % bodies.length] as GraphqlRequestBody, operation);
    if (answer.body === null) throw new Error(`the fast path declined ${shape.name}`);
    operation?.finish('fast');
    root?.end();
  }
  return ((performance.now() - start) * 1000) / count;
}

const count = shape.name === '1x10' ? 20_000 : 400;
for (const variant of variants) await run(variant, count);
const times = new Map(variants.map((v) => [v, [] as number[]]));
for (let round = 0; round < rounds; round++) for (const variant of variants) times.get(variant)?.push(await run(variant, count));
const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] as number;
const off = median(times.get(variants[0] as Variant) as number[]);
for (const variant of variants) {
  const us = median(times.get(variant) as number[]);
  process.stdout.write(`${JSON.stringify({ bench: 'online-telemetry-cost', shape: shape.name, variant: variant.name, rounds, answers_per_round: count, us_per_answer: Math.round(us * 100) / 100, ratio: Math.round((off / us) * 1000) / 1000 })}\n`);
}
process.exit(0);
