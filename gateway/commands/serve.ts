// `featuregraph serve`: the gateway over a repo, with /healthz and /readyz; with --demo, the demo's
// generated sources materialized in this process too.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, FeaturegraphError } from '../../schema/errors.js';
import { formatDuration } from '../../schema/duration.js';
import { loadFeatureRepo } from '../../schema/load.js';
import { createOnlineStore } from '../../adapters/online/index.js';
import type { HistoryStore } from '../../adapters/history/types.js';
import { startMaterializers, type MaterializerRuntime, type SourceBindings } from '../../materializers/runtime.js';
import { MonitorMetrics } from '../../materializers/monitor/metrics.js';
import { createGateway } from '../server.js';
import { Health } from '../health.js';
import { openServeHistory, watchOnlineStore } from '../dependencies.js';
import { startTelemetry } from '../telemetry/sdk.js';
import { openServedLog } from '../served-log/index.js';
import { configOf, defaultRepo, log, portFlag, repoAndConfigOptions, type Command } from './command.js';
import { healthEveryMs, runUntilStopped } from './long-running.js';
import { openMonitorSources } from '../monitor-sources.js';
import { defaultMonitorSchedule, monitorScheduleOf, startMonitorLoop } from './monitor.js';

/** What a --demo module's createDemo() returns. */
interface DemoModule {
  bindings: SourceBindings;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The store the demo's materializers append to; lets a demo stamp its pre-loaded past realistically. */
  recordHistory?(history: HistoryStore): HistoryStore;
  /** Resolves once the materializers have applied what the demo loaded at start: serving waits for it. */
  caughtUp?(runtime: MaterializerRuntime): Promise<void>;
}

export const serve: Command = {
  summary: 'serve a feature repo over GraphQL',
  help: `featuregraph serve [--repo DIR] [--config FILE] [--port N] [--demo MODULE] [--monitor]

Serves the features of a repo at http://localhost:PORT/graphql (GraphiQL in a browser),
with /healthz (the process is up) and /readyz (200 when the online store and the history store
answer; else 503, its JSON naming each one's state, where it is and why).

What cannot work stops the start with one line naming the setting, exit 1: a bad config, a missing
secret of a configured store (FEATUREGRAPH_SNOWFLAKE_PASSWORD for a snowflake history), a port in use.
What is not reachable yet does not: the gateway serves what it can and says what it waits for (in the
log when it changes, and in /readyz): online store down, stored features answer ONLINE_STORE_UNAVAILABLE;
history store not reachable, asOf reads answer HISTORY_STORE_UNAVAILABLE while it is opened again with
backoff.

Telemetry, by the standard OpenTelemetry variables only: /metrics serves Prometheus's text format
unless OTEL_METRICS_EXPORTER=none (it may add otlp and console); traces start only when an exporter
is configured (OTEL_TRACES_EXPORTER=otlp|console, or OTEL_EXPORTER_OTLP_ENDPOINT; protocol by
OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf, http/json or grpc), sampled by OTEL_TRACES_SAMPLER(_ARG),
named by OTEL_SERVICE_NAME (default featuregraph-gateway) and OTEL_RESOURCE_ATTRIBUTES. An incoming
W3C traceparent is continued.

  --repo DIR       feature repo folder (default ${defaultRepo}, or env FEATUREGRAPH_REPO)
  --config FILE    JSON config file (or env FEATUREGRAPH_CONFIG); env PORT sets the port
  --port N         port to listen on (default 4000; 0 picks a free one)
  --demo MODULE    also run a demo module's generated sources and materialize them in-process
                   (npm start uses examples/food-delivery/demo.ts)
  --monitor        also run the monitor in this process (featuregraph help monitor): its gauges on
                   this gateway's /metrics, and GraphQL featureHealth (without it, featureHealth
                   answers MONITOR_UNAVAILABLE). The way to monitor a gateway whose served log is in memory.
  --monitor-every DURATION, --monitor-interval DURATION
                   the monitor's schedule and window (defaults ${formatDuration(defaultMonitorSchedule.everyMs)} and ${formatDuration(defaultMonitorSchedule.intervalMs)})

asOf reads and training sets read the history store (config history):
  memory     (default) kept by this process; used with --demo, whose materializers run here
  embedded   a DuckDB file, {"type": "embedded", "path": "history.duckdb"}, shared by the serve,
             materialize, backfill and training-set processes of this machine, started in any order:
             the first to open it owns it and serves it to the others over a local socket; when it
             stops, another takes the file over
  snowflake  a warehouse table shared by every process of every machine, at scale

A sample of online answers is logged for the monitor (config servedLog: sampleRate, default 0.02;
a request with the header x-featuregraph-log: 1 is always logged): to memory with memory history, to
the embedded history file, else to the kafka topic featuregraph.served-log; the start log says where.

Example:
  featuregraph serve --demo examples/food-delivery/demo.ts
  curl -s localhost:4000/graphql -H 'content-type: application/json' \\
    -d '{"query":"{ restaurant(restaurantId: \\"r1\\") { ordersLast30m } }"}'`,
  options: {
    ...repoAndConfigOptions,
    port: { type: 'string', short: 'p' },
    demo: { type: 'string' },
    monitor: { type: 'boolean' },
    'monitor-every': { type: 'string' },
    'monitor-interval': { type: 'string' },
  },
  async run(values) {
    const config = configOf(values, values.port !== undefined ? { port: portFlag(values.port, 'port') } : {});
    if (values.monitor !== true && (values['monitor-every'] !== undefined || values['monitor-interval'] !== undefined)) {
      throw new ConfigError('--monitor-every and --monitor-interval set the schedule of --monitor, which is not given');
    }
    const schedule = values.monitor === true ? monitorScheduleOf(values, { every: 'monitor-every', interval: 'monitor-interval' }) : null;
    const registry = await loadFeatureRepo(config.repo);
    const health = new Health({ log });
    return runUntilStopped({ log, doing: 'shutting down', health }, async (opened) => {
      const monitorMetrics = schedule ? new MonitorMetrics(registry) : null;
      // Closed last: the spans of the last requests are flushed once the gateway has stopped.
      const telemetry = await startTelemetry({ serviceName: 'featuregraph-gateway', producers: monitorMetrics ? [monitorMetrics] : [] });
      opened.add(() => telemetry.shutdown());
      log(`telemetry: ${telemetry.description}`);
      const store = await createOnlineStore(config.onlineStore);
      opened.add(() => store.close());
      watchOnlineStore(health, store, config.onlineStore, 'GraphQL reads of stored features answer ONLINE_STORE_UNAVAILABLE');
      // A memory history is private to this process: worth having only where materializers run here.
      const inProcess = typeof values.demo === 'string';
      let history: HistoryStore | undefined;
      if (inProcess || config.history.type !== 'memory') {
        const past = await openServeHistory(config.history, { views: [...registry.views.values()], log, health });
        opened.add(() => past.close());
        history = past;
      } else {
        log('no history store: asOf reads and training sets answer AS_OF_UNAVAILABLE (configure history, see featuregraph help serve)');
      }
      if (typeof values.demo === 'string') {
        const module = (await import(pathToFileURL(resolve(values.demo)).href)) as { createDemo?: () => DemoModule };
        if (typeof module.createDemo !== 'function') throw new FeaturegraphError('INVALID_CONFIG', `--demo ${values.demo} must export createDemo()`);
        const demo = module.createDemo();
        opened.add(() => demo.stop());
        await demo.start();
        const recorded = history && demo.recordHistory ? demo.recordHistory(history) : history;
        // The runtime of `featuregraph materialize`, with the scheduler in this process: the demo's
        // sources live here and are generated afresh at each start, so a shared queue's other workers
        // could not read them, and watermarks kept past this process would skip the regenerated past.
        const runtime = await startMaterializers({ registry, store, bindings: demo.bindings, history: recorded, log, scheduler: { type: 'in-process' } });
        opened.add(() => runtime.stop());
        // The first query then sees the demo's day, not a store half way through loading it.
        await demo.caughtUp?.(runtime);
        log(`demo running: ${values.demo}${history ? `, every materialized change kept in the ${history.name} history store` : ''}`);
      }
      // Closed after the gateway (the last requests' records are written) and before history (an embedded sink is its file).
      const served = await openServedLog(config, history, null, { meter: telemetry.meter, log });
      if (served) opened.add(() => served.close());
      // featureHealth computes on demand from what this gateway logs and reads, --monitor or not; the
      // loop and its gauges run only with --monitor.
      const monitorSources = served || history ? await openMonitorSources(config, registry, { log, health, history: history ?? undefined, servedLog: served?.store ?? null }) : null;
      if (monitorSources) opened.add(() => monitorSources.close());
      const gateway = await createGateway({ config, registry, store, history, log, health, telemetry, servedLog: served?.logger ?? null, featureHealth: monitorSources?.engine ?? null });
      opened.add(() => gateway.close());
      // Says at once what is not reachable (a wrong Redis URL), then whenever a state changes.
      await health.check();
      health.watch(healthEveryMs);
      const url = await gateway.listen();
      if (schedule && monitorSources && monitorMetrics) startMonitorLoop(opened, monitorSources, monitorMetrics, schedule, { where: 'in the gateway' });
      log(`featuregraph serving ${registry.entities.size} entities, ${[...registry.features()].length} stored and ${[...registry.requestFeatures()].length} request-time features at ${url}`);
    });
  },
};
