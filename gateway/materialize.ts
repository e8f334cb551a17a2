// `featuregraph materialize`: runs a repo's materializers against the configured stores: stream views
// from Kafka (reporting throughput and consumer lag), and views of tables and collections on their
// freshness schedule through the shared batch queue. Every change any of them applies is appended to
// the configured history store (an embedded file shared with the gateways, or Snowflake).
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
import type { HistoryStore } from '../adapters/history/types.js';
import type { GatewayConfig } from './config.js';
import { describeHistory, openHistoryStore } from './history.js';

export interface MaterializeOptions {
  config: GatewayConfig;
  registry: FeatureRegistry;
  store: OnlineStore;
  views?: string[];
  log: (message: string) => void;
  /** Where the history store's secrets come from (default process.env). */
  env?: NodeJS.ProcessEnv;
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

  // Every change any materializer applies is appended to the configured history store, so that
  // gateways running apart read it asOf. An embedded file is shared with them (history.ts); with the
  // views, their changes go straight to typed tables (converted once, at append).
  let history: HistoryStore | undefined;
  if (config.history.type === 'memory') {
    log('warning: history is memory, private to this process: no gateway can read what is materialized here asOf (configure history embedded or snowflake); keeping none');
  } else {
    history = await openHistoryStore(config.history, { views: wanted.map((name) => registry.view(name)), env: options.env, log });
    log(`appending every materialized change to the ${describeHistory(config.history)}`);
  }
  try {
    return await start(options, { rowSources, streamViews, batchViews, history });
  } catch (error) {
    await rowSources.close().catch(() => undefined);
    await history?.close().catch(() => undefined);
    throw error;
  }
}

interface Prepared {
  rowSources: ReturnType<typeof rowSourcesFor>;
  streamViews: string[];
  batchViews: string[];
  history: HistoryStore | undefined;
}

async function start(options: MaterializeOptions, prepared: Prepared): Promise<RunningMaterializer> {
  const { rowSources, streamViews, batchViews, history } = prepared;
  // What is running, stopped in reverse order: by stop(), or when a later part fails to start (a
  // scheduler left running would keep the process alive after its error).
  const running: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of running.reverse()) await stop().catch(() => undefined);
    running.length = 0;
    await rowSources.close().catch(() => undefined);
    await history?.close().catch(() => undefined);
  };
  try {
    if (batchViews.length > 0) await startBatch(options, rowSources, batchViews, history, running);
    // A stream stopped for good (logged with its code) ends the process in error, for a supervisor to see.
    if (streamViews.length > 0) await startStreams(options, streamViews, history, running, () => void stopAll().finally(() => process.exit(1)));
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { stop: stopAll };
}

async function startBatch(options: MaterializeOptions, rowSources: Prepared['rowSources'], batchViews: string[], history: HistoryStore | undefined, running: (() => Promise<void>)[]): Promise<void> {
  const { config, registry, store, log } = options;
  const redisUrl = config.scheduler.redisUrl ?? (config.onlineStore.type === 'redis' ? config.onlineStore.url : undefined);
  if (!redisUrl) throw new FeaturegraphError('INVALID_CONFIG', 'views of tables and collections run through a Redis job queue: set scheduler.redisUrl (or use a standalone redis online store)');
  const watermarks = new RedisCheckpointStore(redisUrl);
  running.push(() => watermarks.close());
  const scheduler = new BatchScheduler({
    registry,
    store,
    checkpoints: watermarks,
    rows: (def) => rowSources.rows(def),
    history,
    redisUrl,
    views: batchViews,
    overlapMs: config.scheduler.overlapMs,
    log,
    onRun: (run) => {
      if (run.outcome === 'done') log(`view ${run.view}: ${run.rows} rows in ${run.finishedAt - run.startedAt} ms`);
    },
  });
  running.push(() => scheduler.close());
  await scheduler.schedule();
  await scheduler.start();
  log(`materializing ${batchViews.join(', ')} on their freshness schedules (worker ${scheduler.workerId})`);
  // Collections also follow their change feed where the server has one; polling stays as the safety net.
  const checkpoints = new RedisCheckpointStore(redisUrl);
  running.push(() => checkpoints.close());
  for (const name of batchViews) {
    const view = registry.view(name);
    if (view.source.kind !== 'document') continue;
    const watch = await followChanges({ view, source: rowSources.rows(view.source), store, checkpoints, history }).catch((error: unknown) => {
      log(`view ${name}: change feed failed, polling only: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    });
    if (watch) {
      running.push(() => watch.stop());
      log(`view ${name}: following its change stream (resume token saved after each batch)`);
    } else {
      log(`view ${name}: no change stream on this server; polling by ${view.source.updatedAtField}`);
    }
  }
}

async function startStreams(options: MaterializeOptions, streamViews: string[], history: HistoryStore | undefined, running: (() => Promise<void>)[], onHalt: () => void): Promise<void> {
  const { config, registry, store, log } = options;
  const kafka = config.kafka;
  if (!kafka) throw new FeaturegraphError('INVALID_CONFIG', 'stream views need kafka.brokers in the config');
  const source = new KafkaStreamSource({ brokers: kafka.brokers, clientId: kafka.clientId ?? 'featuregraph-materializer', ssl: kafka.ssl, sessionTimeoutMs: kafka.sessionTimeoutMs, chunkSize: kafka.chunkSize, maxMessageBytes: kafka.maxMessageBytes });
  running.push(() => source.close());
  const groupId = config.materializer.groupId;
  const runtime = await startMaterializers({
    registry,
    store,
    views: streamViews,
    groupId,
    history,
    bindings: {
      stream: () => source,
      rows: (def: BatchSourceDefinition | DocumentSourceDefinition) => {
        throw new FeaturegraphError('UNSUPPORTED_CAPABILITY', `source ${def.name}: tables and collections are not materialized by this command yet`);
      },
    },
    log,
    onHalt,
  });
  running.push(() => runtime.stop());
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
  running.push(async () => clearInterval(timer));
}
