// Runs the materializers of a feature repo's views in this process: one stream consumer per topic,
// and the views of tables and collections through a Scheduler (on their freshness schedule, one run
// of a view at a time, retried with backoff, from their watermark checkpoints), plus the change feed
// of each collection whose source has one. `serve --demo` runs it with an in-process scheduler and
// memory checkpoints; `featuregraph materialize` with BullMQ and checkpoints on Redis, and starts each
// topic's consumer through it on its own, so that one topic's wait holds back no other view.
import type { FeatureRegistry, ResolvedView } from '../schema/registry.js';
import type { BatchSourceDefinition, DocumentSourceDefinition, StreamSourceDefinition } from '../schema/types.js';
import { ConfigError, type FeaturegraphError } from '../schema/errors.js';
import type { OnlineStore } from '../adapters/online/types.js';
import type { CheckpointStore, RowSource, RowWatch, StreamConsumer, StreamSource } from '../adapters/sources/types.js';
import type { HistoryStore } from '../adapters/history/types.js';
import { MemoryCheckpointStore } from '../adapters/checkpoints/index.js';
import { StreamMaterializer, type DeadLetterRetry } from './stream/materializer.js';
import type { RowMaterializer } from './rows/materializer.js';
import { followChanges } from './rows/watcher.js';
import type { Scheduler, SchedulerOptions } from './batch/scheduler.js';
import { createScheduler, type SchedulerConfig } from './batch/schedulers.js';
import { observeRowRuns } from './telemetry.js';

/**
 * Where each source definition of the repo is read from (Kafka or in-process, Snowflake or embedded,
 * ...). A process binds only the kinds it runs; a view whose kind is not bound stops the start.
 */
export interface SourceBindings {
  stream?(def: StreamSourceDefinition): StreamSource;
  rows?(def: BatchSourceDefinition | DocumentSourceDefinition): RowSource;
}

/** How the views of tables and collections are run: the scheduler's own options. */
export type ScheduleOptions = Pick<SchedulerOptions, 'intervalMs' | 'overlapMs' | 'attempts' | 'backoffMs' | 'random' | 'leaseMs' | 'workerId' | 'reconcileEvery' | 'onRun' | 'onStart'>;

export interface MaterializerRuntimeOptions {
  registry: FeatureRegistry;
  store: OnlineStore;
  bindings: SourceBindings;
  groupId?: string;
  now?: () => number;
  log?: (message: string) => void;
  history?: HistoryStore;
  /** Only these views (default: every view of the repo). */
  views?: readonly string[];
  /** Sending dead letters: tries and backoff before a stream materializer stops. */
  deadLetterRetry?: Partial<DeadLetterRetry>;
  /** Told when a topic's stream stopped for good: a batch failed in a way no retry mends (it has been logged too). */
  onHalt?: (topic: string, error: FeaturegraphError) => void;
  /** The scheduler of the views of tables and collections (default: in this process). */
  scheduler?: SchedulerConfig;
  /** Where watermarks and change-feed resume tokens are kept (default: memory, lost with the process). */
  checkpoints?: CheckpointStore;
  schedule?: ScheduleOptions;
}

export interface MaterializerRuntime {
  streams: StreamMaterializer[];
  /** The row materializer of each view of a table or collection (their stats say what the runs did). */
  rows: RowMaterializer[];
  scheduler: Scheduler | null;
  stop(): Promise<void>;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function startMaterializers(options: MaterializerRuntimeOptions): Promise<MaterializerRuntime> {
  const { registry, store, bindings } = options;
  const log = options.log ?? (() => {});
  const byTopic = new Map<string, ResolvedView[]>();
  const rowViews: ResolvedView[] = [];
  for (const view of registry.views.values()) {
    if (options.views && !options.views.includes(view.name)) continue;
    if (view.source.kind === 'stream') byTopic.set(view.source.topic, [...(byTopic.get(view.source.topic) ?? []), view]);
    else rowViews.push(view);
  }
  const unbound = [...(bindings.stream ? [] : [...byTopic.values()].flat()), ...(bindings.rows ? [] : rowViews)];
  if (unbound.length > 0) throw new ConfigError(`no source is bound for views ${unbound.map((v) => `${v.name} (${v.source.kind})`).join(', ')}`);

  // What is running, stopped in reverse order: by stop(), or when a later part fails to start.
  const running: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of running.reverse()) await stop().catch(() => undefined);
    running.length = 0;
  };
  const streams: StreamMaterializer[] = [];
  let scheduler: Scheduler | null = null;
  try {
    for (const [topic, views] of byTopic) {
      const source = (bindings.stream as NonNullable<SourceBindings['stream']>)(views[0]?.source as StreamSourceDefinition);
      const materializer = new StreamMaterializer({ topic, views, store, source, now: options.now, history: options.history, deadLetterRetry: options.deadLetterRetry, log });
      streams.push(materializer);
      // Stopped after its consumer (running stops in reverse): the last watermarks are published then.
      materializer.start();
      running.push(() => materializer.stop());
      const consumer: StreamConsumer = await source.consume({
        groupId: options.groupId ?? 'featuregraph-materializer',
        topics: [topic],
        fromBeginning: true,
        handle: (batch) => materializer.handle(batch),
        onCaughtUp: (caughtUp) => materializer.caughtUp(caughtUp),
        onError: (error) => log(`topic ${topic}: a batch failed and is retried: ${message(error)}`),
        onHalt: (error) => {
          log(`topic ${topic}: the stream materializer stopped: ${error.code}: ${error.message}`);
          options.onHalt?.(topic, error);
        },
        onReset: ({ topic: t, partition, from, to }) =>
          log(`topic ${topic}: ${t}[${partition}] was created again (incarnation ${from.incarnation ?? 'unknown'} -> ${to.incarnation}): reading stopped${from.offset === null ? '' : ` at offset ${from.offset}`} in the old one and starts again at offset ${to.offset} of the new one; the old one's uncommitted offsets are dropped`),
      });
      running.push(() => consumer.stop());
      log(`stream materializer on topic ${topic} for views ${views.map((v) => v.name).join(', ')}`);
    }

    if (rowViews.length > 0) {
      const rows = bindings.rows as NonNullable<SourceBindings['rows']>;
      const checkpoints = options.checkpoints ?? new MemoryCheckpointStore();
      const config = options.scheduler ?? { type: 'in-process' };
      // Each run is a span and counted (telemetry.ts) when an OpenTelemetry SDK is registered.
      const onRun = observeRowRuns(registry, options.schedule?.onRun);
      scheduler = createScheduler(config, { ...options.schedule, onRun, registry, store, checkpoints, history: options.history, rows, views: rowViews.map((v) => v.name), now: options.now, log });
      const started = scheduler;
      running.push(() => started.close());
      await scheduler.schedule();
      await scheduler.start();
      log(`materializing ${rowViews.map((v) => v.name).join(', ')} on their freshness schedules (${config.type === 'bullmq' ? 'BullMQ queue' : 'in-process queue'}, worker ${scheduler.workerId})`);
      // Collections also follow their change feed where the source has one; the schedule stays as the safety net.
      for (const view of rowViews) {
        if (view.source.kind !== 'document') continue;
        const watch: RowWatch | null = await followChanges({ view, source: rows(view.source), store, checkpoints, history: options.history, now: options.now, log }).catch((error: unknown) => {
          log(`view ${view.name}: change feed failed, polling only: ${message(error)}`);
          return null;
        });
        if (watch) {
          running.push(() => watch.stop());
          log(`view ${view.name}: following its change stream (resume token saved after each batch)`);
        } else {
          log(`view ${view.name}: no change stream on this source; polling by ${view.source.updatedAtField}`);
        }
      }
    }
  } catch (error) {
    await stopAll();
    throw error;
  }

  return {
    streams,
    rows: scheduler ? [...scheduler.materializers.values()] : [],
    scheduler,
    stop: stopAll,
  };
}
