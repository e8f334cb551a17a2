// `featuregraph materialize`: runs a repo's materializers against the configured stores: stream views
// from Kafka (reporting throughput and consumer lag), and views of tables and collections on their
// freshness schedule through the shared batch queue.
import type { FeatureRegistry } from '../schema/registry.js';
import type { BatchSourceDefinition, DocumentSourceDefinition } from '../schema/types.js';
import { FeaturegraphError } from '../schema/errors.js';
import type { OnlineStore } from '../adapters/online/types.js';
import { KafkaStreamSource } from '../adapters/sources/kafka/index.js';
import { startMaterializers } from '../materializers/runtime.js';
import { BatchScheduler } from '../materializers/batch/scheduler.js';
import { RedisCheckpointStore } from '../adapters/checkpoints/index.js';
import { rowSourcesFor } from './sources.js';
import { followChanges } from '../materializers/rows/watcher.js';
import type { RowWatch } from '../adapters/sources/types.js';
import type { HistoryStore } from '../adapters/history/types.js';
import { EmbeddedHistoryStore } from '../adapters/history/embedded.js';
import type { GatewayConfig } from './config.js';

export interface MaterializeOptions {
  config: GatewayConfig;
  registry: FeatureRegistry;
  store: OnlineStore;
  views?: string[];
  log: (message: string) => void;
}

export interface RunningMaterializer {
  stop(): Promise<void>;
}

export async function runMaterialize(options: MaterializeOptions): Promise<RunningMaterializer> {
  const { config, registry, store, log } = options;
  const wanted = options.views ?? [...registry.views.keys()];
  for (const name of wanted) registry.view(name);
  const rowSources = rowSourcesFor(config);
  const streamViews = wanted.filter((name) => registry.view(name).source.kind === 'stream');
  const batchViews = wanted.filter((name) => {
    const kind = registry.view(name).source.kind;
    return kind !== 'stream' && rowSources.serves(kind);
  });
  const skipped = wanted.filter((name) => !streamViews.includes(name) && !batchViews.includes(name));
  if (skipped.length > 0) log(`no source configured for views ${skipped.join(', ')} (sources.batch / sources.document): not materialized`);
  if (streamViews.length === 0 && batchViews.length === 0) throw new FeaturegraphError('INVALID_CONFIG', 'nothing to materialize: no view has a configured source');
  if (streamViews.length > 0 && !config.kafka) throw new FeaturegraphError('INVALID_CONFIG', 'stream views need kafka.brokers in the config (or env FEATUREGRAPH_KAFKA_BROKERS=host:port,...)');
  if (store.name === 'memory') log('warning: the online store is memory, private to this process; the gateway will not see these values (configure onlineStore redis)');

  // The embedded history file belongs to one process (DuckDB locks it): run one materializer per file.
  // With the views, their changes go straight to typed tables (converted once, at append).
  let history: EmbeddedHistoryStore | undefined;
  if (config.history.type === 'embedded') {
    history = await EmbeddedHistoryStore.open(config.history.path, { views: wanted.map((name) => registry.view(name)) });
    log(`appending every materialized change to the history store ${config.history.path}`);
  }
  const historyStore: HistoryStore | undefined = history;
  let scheduler: BatchScheduler | null = null;
  const watches: RowWatch[] = [];
  if (batchViews.length > 0) {
    const redisUrl = config.scheduler.redisUrl ?? (config.onlineStore.type === 'redis' ? config.onlineStore.url : undefined);
    if (!redisUrl) throw new FeaturegraphError('INVALID_CONFIG', 'views of tables and collections run through a Redis job queue: set scheduler.redisUrl (or use a standalone redis online store)');
    scheduler = new BatchScheduler({
      registry,
      store,
      checkpoints: new RedisCheckpointStore(redisUrl),
      rows: (def) => rowSources.rows(def),
      history: historyStore,
      redisUrl,
      views: batchViews,
      overlapMs: config.scheduler.overlapMs,
      log,
      onRun: (run) => {
        if (run.outcome === 'done') log(`view ${run.view}: ${run.rows} rows in ${run.finishedAt - run.startedAt} ms`);
      },
    });
    await scheduler.schedule();
    await scheduler.start();
    log(`materializing ${batchViews.join(', ')} on their freshness schedules (worker ${scheduler.workerId})`);
    // Collections also follow their change feed where the server has one; polling stays as the safety net.
    const checkpoints = new RedisCheckpointStore(redisUrl);
    for (const name of batchViews) {
      const view = registry.view(name);
      if (view.source.kind !== 'document') continue;
      const watch = await followChanges({ view, source: rowSources.rows(view.source), store, checkpoints, history: historyStore }).catch((error: unknown) => {
        log(`view ${name}: change feed failed, polling only: ${error instanceof Error ? error.message : String(error)}`);
        return null;
      });
      if (watch) {
        watches.push(watch);
        log(`view ${name}: following its change stream (resume token saved after each batch)`);
      } else {
        log(`view ${name}: no change stream on this server; polling by ${view.source.updatedAtField}`);
      }
    }
  }
  const stopWatches = () => Promise.all(watches.map((w) => w.stop().catch(() => undefined)));
  if (streamViews.length === 0) {
    return {
      async stop() {
        await stopWatches();
        await scheduler?.close();
        await rowSources.close();
        await history?.close();
      },
    };
  }

  const kafka = config.kafka;
  if (!kafka) throw new FeaturegraphError('INVALID_CONFIG', 'stream views need kafka.brokers in the config');
  const source = new KafkaStreamSource({ brokers: kafka.brokers, clientId: kafka.clientId ?? 'featuregraph-materializer', ssl: kafka.ssl, sessionTimeoutMs: kafka.sessionTimeoutMs, chunkSize: kafka.chunkSize, maxMessageBytes: kafka.maxMessageBytes });
  let stopAll: (() => Promise<void>) | null = null;
  const groupId = config.materializer.groupId;
  const runtime = await startMaterializers({
    registry,
    store,
    views: streamViews,
    groupId,
    history: historyStore,
    bindings: {
      stream: () => source,
      rows: (def: BatchSourceDefinition | DocumentSourceDefinition) => {
        throw new FeaturegraphError('UNSUPPORTED_CAPABILITY', `source ${def.name}: tables and collections are not materialized by this command yet`);
      },
    },
    log,
    // A stream stopped for good (logged with its code) ends the process in error, for a supervisor to see.
    onHalt: () => void (stopAll?.() ?? Promise.resolve()).finally(() => process.exit(1)),
  });
  const topics = [...new Set(streamViews.map((name) => (registry.view(name).source as { topic: string }).topic))];
  log(`materializing ${streamViews.join(', ')} from kafka topics ${topics.join(', ')} (group ${groupId}) into ${store.name}`);

  let last = { at: Date.now(), events: 0 };
  const report = async () => {
    const events = runtime.streams.reduce((sum, m) => sum + m.stats.events, 0);
    const dead = runtime.streams.reduce((sum, m) => sum + m.stats.deadLetters, 0);
    const duplicates = runtime.streams.reduce((sum, m) => sum + m.stats.duplicates, 0);
    const resets = runtime.streams.reduce((sum, m) => sum + m.stats.resets, 0);
    const now = Date.now();
    const rate = ((events - last.events) * 1000) / Math.max(1, now - last.at);
    last = { at: now, events };
    let lagText = 'lag unknown';
    try {
      const lag = await source.lag(groupId, topics);
      const total = lag.reduce((sum, p) => sum + p.lag, 0);
      const eta = rate > 0 && total > 0 ? `, about ${Math.ceil(total / rate)} s to catch up` : '';
      lagText = `lag ${total} (${lag.map((p) => `${p.topic}[${p.partition}] ${p.lag}`).join(', ')})${eta}`;
    } catch (error) {
      lagText = `lag unknown (${error instanceof Error ? error.message : String(error)})`;
    }
    log(`events ${events} (${rate.toFixed(0)}/s), replays skipped ${duplicates}, dead letters ${dead}, partitions reset ${resets}, ${lagText}`);
  };
  const timer = setInterval(() => void report(), config.materializer.progressEveryMs);
  timer.unref();
  const running = {
    async stop() {
      clearInterval(timer);
      await runtime.stop();
      await source.close();
      await stopWatches();
      await scheduler?.close();
      await rowSources.close();
      await history?.close();
    },
  };
  stopAll = () => running.stop();
  return running;
}
