// `featuregraph materialize`: the materializers of gateway/materialize.ts as a process, with its health
// endpoint (--health-port) and its metrics (--metrics-port), until a signal stops it or a part fails for good.
import { loadFeatureRepo } from '../../schema/load.js';
import { createOnlineStore } from '../../adapters/online/index.js';
import { runMaterialize } from '../materialize.js';
import { Health, healthRoutes } from '../health.js';
import { listenRoutes } from '../listen.js';
import { startTelemetry } from '../telemetry/sdk.js';
import { configOf, defaultRepo, listFlag, log, portFlag, repoAndConfigOptions, type Command } from './command.js';
import { healthEveryMs, runUntilStopped, serveMetricsPort } from './long-running.js';

export const materialize: Command = {
  summary: 'keep the online store fresh: stream views from Kafka, tables and collections on schedule',
  help: `featuregraph materialize [--repo DIR] [--config FILE] [--views a,b] [--group ID]

Consumes the topics of the repo's stream views and keeps their sliding windows in the online store,
and runs the views of tables and collections (sources.batch / sources.document in the config) on
their freshness schedule through a Redis job queue shared by every materialize process. Exactly once in effect: every write carries its Kafka partition and offsets, and the store applies an
offset only once, so a crash or a rebalance at any point loses and doubles nothing. Run several with
the same --group to share the partitions. Every few seconds it logs events applied, rate, and the
group's lag per partition (with the time left to catch up from old offsets).

Every change it applies is appended to the history store of the config (history embedded or
snowflake), which asOf reads and training sets of gateways running apart read: an embedded file is
shared with them (whichever process opened it first serves it to the others). A memory history
would be private to this process: it keeps none, and says so.

Start-up: views whose source the config does not configure are named in one line and skipped (with
--views they stop the start); nothing to materialize, or a missing secret (FEATUREGRAPH_SNOWFLAKE_PASSWORD
for sources.batch or history snowflake), stops it with one line naming the setting, exit 1. What is
not reachable yet is waited for with backoff, for as long as it takes, and named in the log when its
state changes: the history store (before anything is materialized), the Kafka brokers, each topic
(a missing topic holds back only its own views). --health-port serves /healthz and /readyz: 200 when
the brokers, topics, online store, history store and row sources answer, else 503 naming each one's
state and cause. --metrics-port serves /metrics for Prometheus (unless OTEL_METRICS_EXPORTER=none);
traces start when an exporter is configured, by the same OTEL_* variables as serve's (featuregraph
help serve), named featuregraph-materialize unless OTEL_SERVICE_NAME says otherwise.

  --repo DIR         feature repo folder (default ${defaultRepo})
  --config FILE      JSON config: onlineStore (redis or redis-cluster), kafka.brokers, sources, history,
                     materializer.groupId, materializer.healthPort
  --views a,b        only these views (default: every view whose source is configured: stream views
                     with kafka.brokers, tables with sources.batch, collections with sources.document)
  --group ID         consumer group (default featuregraph-materializer, or env FEATUREGRAPH_MATERIALIZER_GROUP)
  --health-port N    serve /healthz and /readyz on this port (default: config materializer.healthPort; off)
  --metrics-port N   serve /metrics on this port (default: config materializer.metricsPort; off)

Env instead of a file: FEATUREGRAPH_REDIS_URL=redis://127.0.0.1:6379 FEATUREGRAPH_KAFKA_BROKERS=127.0.0.1:9092

Example:
  FEATUREGRAPH_REDIS_URL=redis://127.0.0.1:16379 FEATUREGRAPH_KAFKA_BROKERS=127.0.0.1:19092 \\
    featuregraph materialize --repo examples/food-delivery/features`,
  options: { ...repoAndConfigOptions, views: { type: 'string' }, group: { type: 'string' }, 'health-port': { type: 'string' }, 'metrics-port': { type: 'string' } },
  async run(values) {
    const config = configOf(values);
    if (typeof values.group === 'string') config.materializer.groupId = values.group;
    if (values['health-port'] !== undefined) config.materializer.healthPort = portFlag(values['health-port'], 'health-port');
    if (values['metrics-port'] !== undefined) config.materializer.metricsPort = portFlag(values['metrics-port'], 'metrics-port');
    const registry = await loadFeatureRepo(config.repo);
    const health = new Health({ log });
    const controller = new AbortController();
    return runUntilStopped({ log, doing: 'stopping after the batch in progress', health, onSignal: () => controller.abort() }, async (opened, stopping) => {
      // A part started in the background (a topic's consumer) that fails for good ends the process in error.
      let fatal = false;
      const onFatal = (error: unknown) => {
        if (fatal || stopping()) return;
        fatal = true;
        process.stderr.write(`featuregraph materialize: ${error instanceof Error ? error.message : String(error)}\n`);
        health.stop();
        void opened.closeAll().finally(() => process.exit(1));
      };
      // Closed last: what the materializers reported up to their stop is flushed.
      const telemetry = await startTelemetry({ serviceName: 'featuregraph-materialize' });
      opened.add(() => telemetry.shutdown());
      log(`telemetry: ${telemetry.description}`);
      const { metricsPort } = config.materializer;
      if (metricsPort !== undefined) await serveMetricsPort(opened, telemetry, { port: metricsPort, host: config.host, setting: "--metrics-port or the config's materializer.metricsPort" }, log);
      const healthPort = config.materializer.healthPort;
      if (healthPort !== undefined) {
        const server = await listenRoutes(healthRoutes(health), { port: healthPort, host: config.host, setting: '--health-port or the config\'s materializer.healthPort' }, '/healthz and /readyz');
        opened.add(server.close);
        log(`health at ${server.url}/healthz and /readyz`);
      }
      const store = await createOnlineStore(config.onlineStore);
      opened.add(() => store.close());
      const views = typeof values.views === 'string' ? listFlag(values.views) : undefined;
      // Watched from the start: a wait for the history store or the batch queue's Redis can be long.
      health.watch(healthEveryMs);
      const running = await runMaterialize({ config, registry, store, views, log, health, signal: controller.signal, onFatal });
      opened.add(() => running.stop());
    });
  },
};
