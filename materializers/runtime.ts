// Runs every materializer of a feature repo in this process: one stream consumer per topic and one
// polling loop per column view. The embedded demo uses it; `featuregraph materialize` will too.
import type { FeatureRegistry, ResolvedView } from '../schema/registry.js';
import type { BatchSourceDefinition, DocumentSourceDefinition, StreamSourceDefinition } from '../schema/types.js';
import type { OnlineStore } from '../adapters/online/types.js';
import type { RowSource, StreamConsumer, StreamSource } from '../adapters/sources/types.js';
import type { HistoryStore } from '../adapters/history/types.js';
import type { StreamHaltError } from '../schema/errors.js';
import { StreamMaterializer, type DeadLetterRetry } from './stream/materializer.js';
import { RowMaterializer } from './rows/materializer.js';

/** Where each source definition of the repo is read from (Kafka or in-process, Snowflake or embedded, ...). */
export interface SourceBindings {
  stream(def: StreamSourceDefinition): StreamSource;
  rows(def: BatchSourceDefinition | DocumentSourceDefinition): RowSource;
}

export interface MaterializerRuntimeOptions {
  registry: FeatureRegistry;
  store: OnlineStore;
  bindings: SourceBindings;
  groupId?: string;
  now?: () => number;
  /** Poll interval of column views; default: a tenth of the view's freshness SLA, between 1 s and 60 s. */
  pollIntervalMs?: (view: ResolvedView) => number;
  log?: (message: string) => void;
  history?: HistoryStore;
  /** Only these views (default: every view of the repo). */
  views?: readonly string[];
  /** Sending dead letters: tries and backoff before a stream materializer stops. */
  deadLetterRetry?: Partial<DeadLetterRetry>;
  /** Told when a topic's stream materializer stopped for good (it has been logged too). */
  onHalt?: (topic: string, error: StreamHaltError) => void;
}

export interface MaterializerRuntime {
  streams: StreamMaterializer[];
  rows: RowMaterializer[];
  stop(): Promise<void>;
}

export async function startMaterializers(options: MaterializerRuntimeOptions): Promise<MaterializerRuntime> {
  const { registry, store, bindings } = options;
  const log = options.log ?? (() => {});
  const byTopic = new Map<string, ResolvedView[]>();
  const columnViews: ResolvedView[] = [];
  for (const view of registry.views.values()) {
    if (options.views && !options.views.includes(view.name)) continue;
    if (view.source.kind === 'stream') byTopic.set(view.source.topic, [...(byTopic.get(view.source.topic) ?? []), view]);
    else columnViews.push(view);
  }

  const consumers: StreamConsumer[] = [];
  const streams: StreamMaterializer[] = [];
  for (const [topic, views] of byTopic) {
    const source = bindings.stream(views[0]?.source as StreamSourceDefinition);
    const materializer = new StreamMaterializer({ topic, views, store, source, now: options.now, history: options.history, deadLetterRetry: options.deadLetterRetry, log });
    streams.push(materializer);
    consumers.push(
      await source.consume({
        groupId: options.groupId ?? 'featuregraph-materializer',
        topics: [topic],
        fromBeginning: true,
        handle: (batch) => materializer.handle(batch),
        onError: (error) => log(`topic ${topic}: a batch failed and is retried: ${error instanceof Error ? error.message : String(error)}`),
        onHalt: (error) => {
          log(`topic ${topic}: the stream materializer stopped: ${error.code}: ${error.message}`);
          options.onHalt?.(topic, error);
        },
        onReset: ({ topic: t, partition, from, to }) =>
          log(`topic ${topic}: ${t}[${partition}] was created again (incarnation ${from.incarnation ?? 'unknown'} -> ${to.incarnation}): reading stopped${from.offset === null ? '' : ` at offset ${from.offset}`} in the old one and starts again at offset ${to.offset} of the new one; the old one's uncommitted offsets are dropped`),
      }),
    );
    log(`stream materializer on topic ${topic} for views ${views.map((v) => v.name).join(', ')}`);
  }

  const timers: NodeJS.Timeout[] = [];
  const rows: RowMaterializer[] = [];
  const running = new Set<Promise<unknown>>();
  let stopped = false;
  for (const view of columnViews) {
    const materializer = new RowMaterializer({ view, source: bindings.rows(view.source as BatchSourceDefinition | DocumentSourceDefinition), store, now: options.now, history: options.history });
    rows.push(materializer);
    const interval = options.pollIntervalMs?.(view) ?? Math.min(60_000, Math.max(1_000, view.freshnessMs / 10));
    let busy = false;
    const tick = () => {
      if (busy || stopped) return;
      busy = true;
      const run = materializer
        .runOnce()
        .then(() => {
          materializer.stats.lastError = null;
        })
        .catch((error: unknown) => {
          materializer.stats.lastError = error instanceof Error ? error.message : String(error);
          log(`view ${view.name}: ${materializer.stats.lastError}`);
        })
        .finally(() => {
          busy = false;
          running.delete(run);
        });
      running.add(run);
    };
    tick();
    timers.push(setInterval(tick, interval));
    log(`row materializer for view ${view.name} every ${interval} ms`);
  }

  return {
    streams,
    rows,
    async stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await Promise.all(consumers.map((c) => c.stop()));
      await Promise.all([...running]);
    },
  };
}
