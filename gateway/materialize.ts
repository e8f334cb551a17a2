// `featuregraph materialize`: runs a repo's materializers against the configured stores, through the
// materializer runtime `serve --demo` runs too: stream views from Kafka (reporting throughput and
// consumer lag), and views of tables and collections on their freshness schedule through the BullMQ
// scheduler on Redis, shared by every materialize process. Every change any of them applies is appended to
// the configured history store (an embedded file shared with the gateways, or Snowflake).
//
// Start-up refuses what no wait mends (views whose source is not configured, a missing secret) and
// waits for what is not reachable yet: the history store (before anything, since every change must
// reach it), then, in the background, the Kafka brokers and each topic (one topic's wait never holds
// another's views back). Every wait is a dependency of the Health, logged when it changes and
// reported by the health endpoint (--health-port).
import type { FeatureRegistry } from '../schema/registry.js';
import type { BatchSourceDefinition, DocumentSourceDefinition } from '../schema/types.js';
import { FeaturegraphError } from '../schema/errors.js';
import { WaitAborted, type BackoffOptions } from '../schema/backoff.js';
import type { OnlineStore } from '../adapters/online/types.js';
import { KafkaStreamSource } from '../adapters/sources/kafka/index.js';
import type { KafkaStartupEvent } from '../adapters/sources/kafka/startup.js';
import { startMaterializers, type MaterializerRuntime } from '../materializers/runtime.js';
import { RedisCheckpointStore } from '../adapters/checkpoints/index.js';
import { checkRowSourceSettings, rowSourcesFor } from './sources.js';
import type { HistoryStore } from '../adapters/history/types.js';
import type { GatewayConfig } from './config.js';
import { describeHistory, historyTarget, openHistoryWaiting } from './history.js';
import { chooseViews, describeSkipped } from './materialize-views.js';
import { Health } from './health.js';
import { watchHistory, watchOnlineStore } from './dependencies.js';

export interface MaterializeOptions {
  config: GatewayConfig;
  registry: FeatureRegistry;
  store: OnlineStore;
  views?: string[];
  log: (message: string) => void;
  /** Where the history store's secrets come from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where dependency states are kept (a health endpoint reads it); default: one of its own. */
  health?: Health;
  /** Stops the waits of the start (history, brokers, topics); runMaterialize then rejects with WaitAborted. */
  signal?: AbortSignal;
  /** Told when a part started in the background fails in a way no wait mends (the process should stop, in error). */
  onFatal?: (error: unknown) => void;
  /** Pauses between checks of what the start waits for. */
  backoff?: BackoffOptions;
}

export interface RunningMaterializer {
  stop(): Promise<void>;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function runMaterialize(options: MaterializeOptions): Promise<RunningMaterializer> {
  const { config, registry, store, log } = options;
  const env = options.env ?? process.env;
  const health = options.health ?? new Health({ log });
  // Refusals first, before anything is opened or waited for.
  const choice = chooseViews(registry, config, options.views);
  if (choice.skipped.length > 0) log(`not materializing views whose source is not configured: ${describeSkipped(choice.skipped)}`);
  const kinds = new Set(choice.batch.map((name) => registry.view(name).source.kind as 'batch' | 'document'));
  await checkRowSourceSettings(config, kinds, env);
  const redisUrl = config.scheduler.redisUrl ?? (config.onlineStore.type === 'redis' ? config.onlineStore.url : undefined);
  if (choice.batch.length > 0 && !redisUrl) throw new FeaturegraphError('INVALID_CONFIG', 'views of tables and collections run through a Redis job queue: set scheduler.redisUrl (or use a standalone redis online store)');
  if (store.name === 'memory') log('warning: the online store is memory, private to this process; the gateway will not see these values (configure onlineStore redis)');
  const wanted = [...choice.batch, ...choice.stream];
  watchOnlineStore(health, store, config.onlineStore, 'writes fail and are retried');
  // Said at once: the batch queue, on the same Redis as a rule, waits for it silently.
  await health.check();

  // Every change any materializer applies is appended to the configured history store, so that
  // gateways running apart read it asOf. An embedded file is shared with them (history.ts); with the
  // views, their changes go straight to typed tables (converted once, at append).
  let history: HistoryStore | undefined;
  if (config.history.type === 'memory') {
    log('warning: history is memory, private to this process: no gateway can read what is materialized here asOf (configure history embedded or snowflake); keeping none');
  } else {
    const target = historyTarget(config.history, env);
    health.add('history', { target, meanwhile: 'nothing is materialized: every change must reach history' });
    const opened = await openHistoryWaiting(config.history, {
      views: wanted.map((name) => registry.view(name)),
      env,
      log,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      onWait: (error) => health.set('history', 'waiting', message(error)),
    }).catch((error: unknown) => {
      if (!(error instanceof WaitAborted)) health.set('history', 'failed', message(error));
      throw error;
    });
    history = opened.store;
    watchHistory(health, history, target, 'materialized changes fail to append and are retried');
    health.set('history', 'ready');
    log(`appending every materialized change to the ${describeHistory(config.history)}`);
  }
  const rowSources = rowSourcesFor(config, env);
  try {
    return await start(options, health, { rowSources, streamViews: choice.stream, batchViews: choice.batch, history, redisUrl });
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
  redisUrl: string | undefined;
}

async function start(options: MaterializeOptions, health: Health, prepared: Prepared): Promise<RunningMaterializer> {
  const { rowSources, streamViews, batchViews, history } = prepared;
  // What is running, stopped in reverse order: by stop(), or when a later part fails to start (a
  // scheduler left running would keep the process alive after its error).
  const running: (() => Promise<void>)[] = [];
  let stopped = false;
  const stopAll = async () => {
    stopped = true;
    for (const stop of running.reverse()) await stop().catch(() => undefined);
    running.length = 0;
    await rowSources.close().catch(() => undefined);
    await history?.close().catch(() => undefined);
  };
  try {
    if (batchViews.length > 0) await startBatch(options, health, prepared, running);
    if (streamViews.length > 0) startStreams(options, health, streamViews, history, running, () => stopped);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { stop: stopAll };
}

async function startBatch(options: MaterializeOptions, health: Health, prepared: Prepared, running: (() => Promise<void>)[]): Promise<void> {
  const { config, registry, store, log } = options;
  const { rowSources, batchViews, history } = prepared;
  const redisUrl = prepared.redisUrl as string;
  // A row source is ready once a run of one of its views went through, and fails with its runs.
  const sourceOf = new Map(batchViews.map((name) => [name, registry.view(name).source as BatchSourceDefinition | DocumentSourceDefinition]));
  for (const def of new Set(sourceOf.values())) {
    const where = def.kind === 'batch' ? `${config.sources.batch?.type ?? 'batch'} ${def.table ?? 'query'}` : `mongodb collection ${def.collection}`;
    const views = batchViews.filter((v) => sourceOf.get(v) === def);
    health.add(`source:${def.name}`, { target: `${where}, views ${views.join(', ')}`, meanwhile: 'runs are retried with backoff; values turn STALE past their freshness SLA' });
  }
  // Watermarks and change-feed resume tokens live in the queue's Redis, shared by every materialize process.
  const checkpoints = new RedisCheckpointStore(redisUrl);
  running.push(() => checkpoints.close());
  const runtime = await startMaterializers({
    registry,
    store,
    views: batchViews,
    history,
    log,
    bindings: { rows: (def) => rowSources.rows(def) },
    scheduler: { type: 'bullmq', redisUrl },
    checkpoints,
    schedule: {
      overlapMs: config.scheduler.overlapMs,
      onRun: (run) => {
        const def = sourceOf.get(run.view);
        if (run.outcome === 'done') log(`view ${run.view}: ${run.rows} rows in ${run.finishedAt - run.startedAt} ms`);
        if (def && run.outcome === 'done') health.set(`source:${def.name}`, 'ready');
        if (def && run.outcome === 'failed') health.fail(`source:${def.name}`, run.error ?? 'run failed');
      },
    },
  });
  running.push(() => runtime.stop());
}

/**
 * Starts one consumer per topic in the background: each waits for the brokers and its topic (the Kafka
 * source's start-up), so a missing topic holds back only its own views. A start that fails in a way no
 * wait mends is fatal (options.onFatal).
 */
function startStreams(options: MaterializeOptions, health: Health, streamViews: string[], history: HistoryStore | undefined, running: (() => Promise<void>)[], stopped: () => boolean): void {
  const { config, registry, store, log } = options;
  const kafka = config.kafka;
  if (!kafka) throw new FeaturegraphError('INVALID_CONFIG', 'stream views need kafka.brokers in the config');
  const brokers = kafka.brokers.join(',');
  const byTopic = new Map<string, string[]>();
  for (const name of streamViews) {
    const topic = (registry.view(name).source as { topic: string }).topic;
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), name]);
  }
  health.add('kafka', { target: brokers, meanwhile: `views ${streamViews.join(', ')} wait; checked again with backoff` });
  for (const [topic, views] of byTopic) health.add(`topic:${topic}`, { target: `kafka ${brokers}`, meanwhile: `views ${views.join(', ')} wait; checked again with backoff` });
  const onStartup = (event: KafkaStartupEvent) => {
    if (event.kind === 'broker') {
      if (event.state === 'ready') health.set('kafka', 'ready');
      else health.fail('kafka', event.cause);
    } else if (event.state === 'ready') {
      health.set(`topic:${event.topic}`, 'ready');
    } else {
      health.set(`topic:${event.topic}`, 'waiting', event.cause);
    }
  };
  const source = new KafkaStreamSource({ brokers: kafka.brokers, clientId: kafka.clientId ?? 'featuregraph-materializer', ssl: kafka.ssl, sessionTimeoutMs: kafka.sessionTimeoutMs, chunkSize: kafka.chunkSize, maxMessageBytes: kafka.maxMessageBytes, onStartup, ...(options.backoff ? { startupBackoff: options.backoff } : {}) });
  running.push(() => source.close());
  // One consumer per topic, so one group per topic when there are several: members of one group that
  // subscribe to different topics are handed partitions of topics they never read (kafkajs assigns
  // over the union of the group's subscriptions), which then stall. A single topic keeps the group's
  // own name, and its committed offsets.
  const groupOf = (topic: string): string => (byTopic.size > 1 ? `${config.materializer.groupId}.${topic}` : config.materializer.groupId);
  const runtimes: MaterializerRuntime[] = [];
  const consuming: string[] = [];
  for (const [topic, views] of byTopic) {
    void (async () => {
      try {
        const runtime = await startMaterializers({
          registry,
          store,
          views,
          groupId: groupOf(topic),
          history,
          bindings: { stream: () => source },
          log,
          // A stream stopped for good (a batch failed in a way no retry mends, such as a dead-letter topic
          // that refuses writes; logged with its code) is fatal.
          onHalt: (_topic, error) => options.onFatal?.(error),
        });
        if (stopped()) return void (await runtime.stop().catch(() => undefined));
        runtimes.push(runtime);
        running.push(() => runtime.stop());
        consuming.push(topic);
        log(`materializing ${views.join(', ')} from kafka topic ${topic} (group ${groupOf(topic)}) into ${store.name}`);
      } catch (error) {
        if (stopped() || error instanceof WaitAborted) return;
        options.onFatal?.(error);
      }
    })();
  }

  let last = { at: Date.now(), events: 0 };
  const report = async () => {
    // Nothing to say before a topic is consumed: the waits log their own changes.
    if (consuming.length === 0) return;
    const streams = runtimes.flatMap((r) => r.streams);
    const events = streams.reduce((sum, m) => sum + m.stats.events, 0);
    const dead = streams.reduce((sum, m) => sum + m.stats.deadLetters, 0);
    const duplicates = streams.reduce((sum, m) => sum + m.stats.duplicates, 0);
    const resets = streams.reduce((sum, m) => sum + m.stats.resets, 0);
    const now = Date.now();
    const rate = ((events - last.events) * 1000) / Math.max(1, now - last.at);
    last = { at: now, events };
    let lagText = 'lag unknown';
    try {
      const lag = (await Promise.all([...consuming].map((topic) => source.lag(groupOf(topic), [topic])))).flat();
      const total = lag.reduce((sum, p) => sum + p.lag, 0);
      const eta = rate > 0 && total > 0 ? `, about ${Math.ceil(total / rate)} s to catch up` : '';
      lagText = `lag ${total} (${lag.map((p) => `${p.topic}[${p.partition}] ${p.lag}`).join(', ')})${eta}`;
      health.set('kafka', 'ready');
    } catch (error) {
      lagText = `lag unknown (${message(error)})`;
      health.fail('kafka', message(error));
    }
    log(`events ${events} (${rate.toFixed(0)}/s), replays skipped ${duplicates}, dead letters ${dead}, partitions reset ${resets}, ${lagText}`);
  };
  const timer = setInterval(() => void report(), config.materializer.progressEveryMs);
  timer.unref();
  running.push(async () => clearInterval(timer));
}
