// The `featuregraph` command line. Each command's --help says what it does and shows an example.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FeaturegraphError, FeatureRepoError } from '../schema/errors.js';
import { loadFeatureRepo } from '../schema/load.js';
import { generateSdl } from '../schema/sdl.js';
import { catalogOf, searchCatalog } from '../resolvers/catalog.js';
import { createOnlineStore } from '../adapters/online/index.js';
import { startMaterializers, type MaterializerRuntime, type SourceBindings } from '../materializers/runtime.js';
import { loadConfig } from './config.js';
import { createGateway } from './server.js';
import { runMaterialize } from './materialize.js';
import { rowSourcesFor } from './sources.js';
import type { HistoryStore } from '../adapters/history/types.js';
import { RedisCheckpointStore } from '../adapters/checkpoints/index.js';
import type { CheckpointStore } from '../adapters/sources/types.js';
import { openHistory, openHistoryStore } from './history.js';
import { createServer } from 'node:http';
import { Health, healthRoutes } from './health.js';
import { listen, type ListenTarget } from './listen.js';
import { openServeHistory, watchOnlineStore } from './dependencies.js';
import { sendJson } from './http.js';
import { exportTrainingSet } from './training-set.js';
import { backfill, progressBar } from '../materializers/batch/backfill.js';
import { parseDuration } from '../schema/duration.js';
import { parseInstant } from '../schema/instant.js';
import type { BatchSourceDefinition, DocumentSourceDefinition } from '../schema/types.js';

const defaultRepo = 'examples/food-delivery/features';

interface Command {
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | undefined>): Promise<number>;
}

const repoOption = { repo: { type: 'string' as const, short: 'r' } };

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

/**
 * Stops a long-running command once on SIGINT or SIGTERM, then exits 0; installed before the start, so
 * that a signal during a wait (a broker, a history store) stops it too. Returns whether it is stopping.
 */
function stopOnSignals(log: (message: string) => void, doing: string, stop: () => Promise<void>): () => boolean {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: ${doing}`);
    await stop();
    process.exit(0);
  };
  // `on`, not `once`: tsx's loader ends the process on a signal nobody else listens to.
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  return () => stopping;
}

/** What a command opened, closed once in reverse order (a connection left open keeps a failed process alive). */
class Closers {
  private readonly closers: (() => Promise<void>)[] = [];

  add(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  async closeAll(): Promise<void> {
    while (this.closers.length > 0) await (this.closers.pop() as () => Promise<void>)().catch(() => undefined);
  }
}

/** How often serve and materialize probe their dependencies, to log a change when it happens. */
const healthEveryMs = 2000;

function portFlag(raw: string | boolean | undefined, flag: string): number {
  const port = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(port) || port < 0 || port > 65535) throw new FeaturegraphError('INVALID_CONFIG', `--${flag} must be a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
  return port;
}

/** materialize's health endpoint: /healthz and /readyz, nothing else. */
async function listenHealth(health: Health, target: ListenTarget): Promise<{ url: string; close(): Promise<void> }> {
  const routes = healthRoutes(health);
  const server = createServer((req, res) => {
    routes(req, res)
      .then((answered) => {
        if (!answered) sendJson(res, 404, { error: 'this port answers /healthz and /readyz only' });
      })
      .catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.end();
      });
  });
  const port = await listen(server, target);
  const host = target.host === '0.0.0.0' || target.host === '::' ? 'localhost' : target.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

const commands: Record<string, Command> = {
  serve: {
    summary: 'serve a feature repo over GraphQL',
    help: `featuregraph serve [--repo DIR] [--config FILE] [--port N] [--demo MODULE]

Serves the features of a repo at http://localhost:PORT/graphql (GraphiQL in a browser),
with /healthz (the process is up) and /readyz (200 when the online store and the history store
answer; else 503, its JSON naming each one's state, where it is and why).

What cannot work stops the start with one line naming the setting, exit 1: a bad config, a missing
secret of a configured store (FEATUREGRAPH_SNOWFLAKE_PASSWORD for a snowflake history), a port in use.
What is not reachable yet does not: the gateway serves what it can and says what it waits for (in the
log when it changes, and in /readyz): online store down, stored features answer ONLINE_STORE_UNAVAILABLE;
history store not reachable, asOf reads answer HISTORY_STORE_UNAVAILABLE while it is opened again with
backoff.

  --repo DIR       feature repo folder (default ${defaultRepo}, or env FEATUREGRAPH_REPO)
  --config FILE    JSON config file (or env FEATUREGRAPH_CONFIG); env PORT sets the port
  --port N         port to listen on (default 4000; 0 picks a free one)
  --demo MODULE    also run a demo module's generated sources and materialize them in-process
                   (npm start uses examples/food-delivery/demo.ts)

asOf reads and training sets read the history store (config history):
  memory     (default) kept by this process; used with --demo, whose materializers run here
  embedded   a DuckDB file, {"type": "embedded", "path": "history.duckdb"}, shared by the serve,
             materialize, backfill and training-set processes of this machine, started in any order:
             the first to open it owns it and serves it to the others over a local socket; when it
             stops, another takes the file over
  snowflake  a warehouse table shared by every process of every machine, at scale

Example:
  featuregraph serve --demo examples/food-delivery/demo.ts
  curl -s localhost:4000/graphql -H 'content-type: application/json' \\
    -d '{"query":"{ restaurant(restaurantId: \\"r1\\") { ordersLast30m } }"}'`,
    options: { ...repoOption, config: { type: 'string', short: 'c' }, port: { type: 'string', short: 'p' }, demo: { type: 'string' } },
    async run(values) {
      const overrides: Record<string, unknown> = {};
      if (values.repo) overrides.repo = values.repo;
      if (values.port !== undefined) overrides.port = portFlag(values.port, 'port');
      const config = loadConfig({ file: values.config as string | undefined, overrides });
      const log = (message: string) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);
      const registry = await loadFeatureRepo(config.repo);
      const health = new Health({ log });
      // Everything opened, closed in reverse order: on a signal, or when a later step refuses to start.
      const opened = new Closers();
      const stopping = stopOnSignals(log, 'shutting down', async () => {
        health.stop();
        await opened.closeAll();
      });
      try {
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
        const gateway = await createGateway({ config, registry, store, history, log, health });
        opened.add(() => gateway.close());
        // Says at once what is not reachable (a wrong Redis URL), then whenever a state changes.
        await health.check();
        health.watch(healthEveryMs);
        const url = await gateway.listen();
        log(`featuregraph serving ${registry.entities.size} entities, ${[...registry.features()].length} stored and ${[...registry.requestFeatures()].length} request-time features at ${url}`);
      } catch (error) {
        // A signal during the start: the shutdown closes what was opened and exits.
        if (stopping()) return new Promise<number>(() => {});
        health.stop();
        await opened.closeAll();
        throw error;
      }
      return new Promise<number>(() => {});
    },
  },
  materialize: {
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
state and cause.

  --repo DIR         feature repo folder (default ${defaultRepo})
  --config FILE      JSON config: onlineStore (redis or redis-cluster), kafka.brokers, sources, history,
                     materializer.groupId, materializer.healthPort
  --views a,b        only these views (default: every view whose source is configured: stream views
                     with kafka.brokers, tables with sources.batch, collections with sources.document)
  --group ID         consumer group (default featuregraph-materializer, or env FEATUREGRAPH_MATERIALIZER_GROUP)
  --health-port N    serve /healthz and /readyz on this port (default: config materializer.healthPort; off)

Env instead of a file: FEATUREGRAPH_REDIS_URL=redis://127.0.0.1:6379 FEATUREGRAPH_KAFKA_BROKERS=127.0.0.1:9092

Example:
  FEATUREGRAPH_REDIS_URL=redis://127.0.0.1:16379 FEATUREGRAPH_KAFKA_BROKERS=127.0.0.1:19092 \\
    featuregraph materialize --repo examples/food-delivery/features`,
    options: { ...repoOption, config: { type: 'string', short: 'c' }, views: { type: 'string' }, group: { type: 'string' }, 'health-port': { type: 'string' } },
    async run(values) {
      const overrides: Record<string, unknown> = {};
      if (values.repo) overrides.repo = values.repo;
      const config = loadConfig({ file: values.config as string | undefined, overrides });
      if (typeof values.group === 'string') config.materializer.groupId = values.group;
      if (values['health-port'] !== undefined) config.materializer.healthPort = portFlag(values['health-port'], 'health-port');
      const log = (message: string) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);
      const registry = await loadFeatureRepo(config.repo);
      const health = new Health({ log });
      const opened = new Closers();
      const controller = new AbortController();
      const stopping = stopOnSignals(log, 'stopping after the batch in progress', async () => {
        controller.abort();
        health.stop();
        await opened.closeAll();
      });
      // A part started in the background (a topic's consumer) that fails for good ends the process in error.
      let fatal = false;
      const onFatal = (error: unknown) => {
        if (fatal || stopping()) return;
        fatal = true;
        process.stderr.write(`featuregraph materialize: ${error instanceof Error ? error.message : String(error)}\n`);
        health.stop();
        void opened.closeAll().finally(() => process.exit(1));
      };
      try {
        const healthPort = config.materializer.healthPort;
        if (healthPort !== undefined) {
          const server = await listenHealth(health, { port: healthPort, host: config.host, setting: '--health-port or the config\'s materializer.healthPort' });
          opened.add(server.close);
          log(`health at ${server.url}/healthz and /readyz`);
        }
        const store = await createOnlineStore(config.onlineStore);
        opened.add(() => store.close());
        const views = typeof values.views === 'string' ? values.views.split(',').map((v) => v.trim()).filter((v) => v !== '') : undefined;
        // Watched from the start: a wait for the history store or the batch queue's Redis can be long.
        health.watch(healthEveryMs);
        const running = await runMaterialize({ config, registry, store, views, log, health, signal: controller.signal, onFatal });
        opened.add(() => running.stop());
      } catch (error) {
        if (stopping()) return new Promise<number>(() => {});
        health.stop();
        await opened.closeAll();
        throw error;
      }
      return new Promise<number>(() => {});
    },
  },
  backfill: {
    summary: 'rebuild the history of a view over a time range (resumable)',
    help: `featuregraph backfill --view NAME --from TIME --to TIME [--repo DIR] [--config FILE] [--history FILE] [--slice DURATION]

Reads the view's source (a table or a collection, per sources.batch / sources.document in the config)
slice by slice and appends every row to the history store, which point-in-time reads and training
sets use. Progress is saved after each slice: interrupted (Ctrl-C, a crash), the same command resumes
where it stopped. Appends are idempotent, so a slice read twice changes nothing. An embedded file
keeps the progress beside the history, and may be in use by gateways and materializers meanwhile;
a snowflake history keeps it in Redis (scheduler.redisUrl, or a redis online store).

  --view NAME        a view read from a table or collection
  --from, --to TIME  instants: ISO-8601 (2026-01-01T00:00:00Z; no offset means UTC) or epoch ms
  --history FILE     an embedded history file (DuckDB); default: history in the config (embedded or snowflake)
  --slice DURATION   slice length, e.g. 1h (default: a hundredth of the range, at least 1m)

Example:
  featuregraph backfill --config featuregraph.json --view restaurant_prep \\
    --from 2026-01-01T00:00:00Z --to 2026-02-01T00:00:00Z --history history.duckdb`,
    options: { ...repoOption, config: { type: 'string', short: 'c' }, view: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, history: { type: 'string' }, slice: { type: 'string' } },
    async run(values) {
      const instant = (flag: string): number => {
        if (values[flag] === undefined) throw new FeaturegraphError('BAD_USER_INPUT', `--${flag} is required: an instant such as 2026-01-01T00:00:00Z`);
        return parseInstant(values[flag], `--${flag}`);
      };
      if (typeof values.view !== 'string') throw new FeaturegraphError('BAD_USER_INPUT', '--view is required: the view whose history to rebuild');
      const from = instant('from');
      const to = instant('to');
      if (!(to > from)) throw new FeaturegraphError('BAD_USER_INPUT', `--from (${values.from}) must be before --to (${values.to})`);
      const sliceMs = typeof values.slice === 'string' ? parseDuration(values.slice) : undefined;
      if (sliceMs === null) throw new FeaturegraphError('BAD_USER_INPUT', `--slice must be a duration such as 1h or 30m, got ${JSON.stringify(values.slice)}`);
      const overrides: Record<string, unknown> = {};
      if (values.repo) overrides.repo = values.repo;
      const config = loadConfig({ file: values.config as string | undefined, overrides });
      const historyConfig = typeof values.history === 'string' ? { type: 'embedded' as const, path: values.history } : config.history;
      if (historyConfig.type === 'memory') throw new FeaturegraphError('INVALID_CONFIG', 'backfill writes a history store that gateways read: give --history FILE, or history embedded or snowflake in the config');
      const registry = await loadFeatureRepo(config.repo);
      const view = registry.view(values.view, '--view');
      if (view.source.kind === 'stream') throw new FeaturegraphError('BAD_USER_INPUT', `view ${view.name} reads a stream; its history is written by featuregraph materialize as events arrive`);
      const log = (message: string) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);
      const sources = rowSourcesFor(config);
      const source = sources.rows(view.source as BatchSourceDefinition | DocumentSourceDefinition);
      let opened;
      try {
        opened = await openHistory(historyConfig, { views: [view], log });
      } catch (error) {
        await sources.close();
        throw error;
      }
      const history = opened.store;
      let checkpoints: CheckpointStore;
      let closeCheckpoints = async () => {};
      if (opened.checkpoints !== null) {
        checkpoints = opened.checkpoints;
      } else {
        const redisUrl = config.scheduler.redisUrl ?? (config.onlineStore.type === 'redis' ? config.onlineStore.url : undefined);
        if (redisUrl === undefined) {
          await sources.close();
          await history.close();
          throw new FeaturegraphError('INVALID_CONFIG', `backfill saves its progress beside an embedded history, or in Redis: the ${history.name} history store needs scheduler.redisUrl (or a redis online store) in the config`);
        }
        const redis = new RedisCheckpointStore(redisUrl);
        checkpoints = redis;
        closeCheckpoints = () => redis.close();
      }
      const controller = new AbortController();
      const interrupt = () => {
        if (controller.signal.aborted) process.exit(130);
        process.stderr.write('\ninterrupted: stopping after the slice in progress (Ctrl-C again to quit now)\n');
        controller.abort();
      };
      process.on('SIGINT', interrupt);
      process.on('SIGTERM', interrupt);
      try {
        const result = await backfill({ view, source, history, checkpoints, from, to, sliceMs, signal: controller.signal, onProgress: progressBar((text) => process.stderr.write(text), process.stderr.isTTY === true) });
        if (result.resumedFrom !== null) process.stderr.write(`resumed from ${new Date(result.resumedFrom).toISOString()}\n`);
        if (!result.completed) {
          process.stderr.write(`stopped after ${result.slices} slices (${result.rows} rows this run); run the same command again to resume\n`);
          return 130;
        }
        process.stdout.write(`backfilled ${view.name} from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}: ${result.rows} rows this run, ${await history.count(view.name)} in its history\n`);
        return 0;
      } finally {
        await sources.close();
        await closeCheckpoints();
        await history.close();
      }
    },
  },
  'training-set': {
    summary: 'write a point-in-time training set to Parquet, from a file of (entity, instant) rows',
    help: `featuregraph training-set --entities ROWS --features f1,f2 --out FILE.parquet [--mode SERVED|EVENT_TIME]
                          [--entity NAME] [--repo DIR] [--config FILE] [--history FILE]

Reads each row's features as of the row's own instant from the history store, and writes the rows
with one column per feature. Nothing that happened after a row's instant can reach it.

  --entities ROWS    a .csv or .parquet file (or .ndjson) with the entity's key column (restaurantId
                     for Restaurant), an asOf column (ISO-8601 such as 2026-06-01T12:00:00Z, no
                     offset meaning UTC; a timestamp; or epoch ms, fractions floored) and, for
                     request-time features, their arguments: a column per argument, named
                     "distanceKm" or "etaMinutes.distanceKm"
  --features f1,f2   stored and request-time features of one entity, in output order
  --mode MODE        SERVED (default): what the online store answered at asOf, staleness and
                     outages included: the features the model will really get. EVENT_TIME: the
                     latest facts that had happened by asOf, however late they became readable.
  --out FILE         the Parquet file to write (replaced): key, asOf, the other input columns,
                     then one column per feature (null where MISSING or EXPIRED)
  --entity NAME      the entity, when the feature names alone do not say
  --history FILE     an embedded history file (DuckDB), instead of history in the config; it may be
                     in use by a running serve or materialize (this command then reads through them)

The history store is the config's history (embedded or snowflake); a store that can compute the
whole set itself does (pushdown) when no request-time feature is asked. Progress goes to stderr.

Example:
  printf 'restaurantId,asOf,distanceKm\\nr1,2026-06-01T11:00:00Z,3.5\\n' > rows.csv
  featuregraph training-set --history history.duckdb --entities rows.csv \\
    --features ordersLast30m,avgPrepSeconds7d,etaMinutes --mode SERVED --out train.parquet
  python -c "import pandas; print(pandas.read_parquet('train.parquet'))"`,
    options: { ...repoOption, config: { type: 'string', short: 'c' }, entities: { type: 'string' }, features: { type: 'string' }, mode: { type: 'string' }, out: { type: 'string', short: 'o' }, entity: { type: 'string' }, history: { type: 'string' } },
    async run(values) {
      const need = (flag: string, what: string): string => {
        const value = values[flag];
        if (typeof value !== 'string' || value === '') throw new FeaturegraphError('BAD_USER_INPUT', `--${flag} is required: ${what}`);
        return value;
      };
      const rowsPath = need('entities', 'the .csv or .parquet file of entity rows (key, asOf, request-time arguments)');
      const features = need('features', 'the features to compute, comma-separated').split(',').map((f) => f.trim()).filter(Boolean);
      const out = need('out', 'the Parquet file to write');
      const mode = ((values.mode as string | undefined) ?? 'SERVED').toUpperCase();
      if (mode !== 'SERVED' && mode !== 'EVENT_TIME') throw new FeaturegraphError('BAD_USER_INPUT', `--mode must be SERVED or EVENT_TIME, got ${JSON.stringify(values.mode)}`);
      const overrides: Record<string, unknown> = {};
      if (values.repo) overrides.repo = values.repo;
      const config = loadConfig({ file: values.config as string | undefined, overrides });
      const historyConfig = typeof values.history === 'string' ? { type: 'embedded' as const, path: values.history } : config.history;
      if (historyConfig.type === 'memory') {
        throw new FeaturegraphError('INVALID_CONFIG', 'training-set reads a history store that materializers or backfills wrote: give --history FILE, or history embedded or snowflake in the config (a memory history lives inside one serving process: ask it with POST /training-set)');
      }
      const registry = await loadFeatureRepo(config.repo);
      const log = (message: string) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);
      const history = await openHistoryStore(historyConfig, { views: [...registry.views.values()], log });
      try {
        let started = Date.now();
        const bar = progressBar((text) => process.stderr.write(text), process.stderr.isTTY === true);
        const chunk = 10_000;
        const result = await exportTrainingSet({
          registry,
          history,
          entity: values.entity as string | undefined,
          features,
          mode,
          rowsPath,
          out,
          now: Date.now(),
          chunkRows: chunk,
          onProgress: ({ rowsDone, rowsTotal }) => {
            if (rowsDone === 0) started = Date.now();
            const rate = (rowsDone * 1000) / Math.max(1, Date.now() - started);
            bar({ view: 'training set', slice: Math.ceil(rowsDone / chunk), slices: Math.ceil(rowsTotal / chunk), rows: rowsDone, rate, etaMs: rate > 0 ? ((rowsTotal - rowsDone) / rate) * 1000 : null, resumedFrom: null });
          },
        });
        process.stdout.write(`wrote ${result.rows} ${result.entity} rows x ${features.length} features (${mode}${result.pushdown ? `, computed by the ${history.name} history store` : ''}) to ${out}: ${result.columns.join(', ')}\n`);
        return 0;
      } finally {
        await history.close();
      }
    },
  },
  validate: {
    summary: 'check a feature repo and list what it defines',
    help: `featuregraph validate [--repo DIR]

Loads every module of the repo and checks all definitions together. Each problem names its
file, view and field; the exit code is 1 when there is any.

Example:
  featuregraph validate --repo examples/food-delivery/features`,
    options: repoOption,
    async run(values) {
      const registry = await loadFeatureRepo((values.repo as string | undefined) ?? defaultRepo);
      for (const entity of registry.entities.values()) {
        process.stdout.write(`${entity.name} (key ${entity.key})\n`);
        for (const view of entity.views) process.stdout.write(`  view ${view.name}: ${view.features.map((f) => f.name).join(', ')}\n`);
        for (const feature of entity.requestFeatures.values()) process.stdout.write(`  request-time ${feature.name}(${Object.keys(feature.def.arguments).join(', ')})\n`);
      }
      process.stdout.write('ok\n');
      return 0;
    },
  },
  sdl: {
    summary: 'print the GraphQL schema (SDL) a repo serves',
    help: `featuregraph sdl [--repo DIR]

Prints the subgraph SDL: entity types with @key, one field per feature (its description carries
owner, source, freshness SLA, ttl and tags), the lookup, list and training-set roots.`,
    options: repoOption,
    async run(values) {
      process.stdout.write(generateSdl(await loadFeatureRepo((values.repo as string | undefined) ?? defaultRepo)));
      return 0;
    },
  },
  catalog: {
    summary: 'list and search the features of a repo',
    help: `featuregraph catalog [--repo DIR] [--search TEXT] [--entity NAME] [--tag TAG] [--json]

The same catalog as the featureCatalog GraphQL field.

Example:
  featuregraph catalog --tag eta`,
    options: { ...repoOption, search: { type: 'string', short: 's' }, entity: { type: 'string', short: 'e' }, tag: { type: 'string', short: 't' }, json: { type: 'boolean' } },
    async run(values) {
      const registry = await loadFeatureRepo((values.repo as string | undefined) ?? defaultRepo);
      const found = searchCatalog(catalogOf(registry), { search: values.search as string, entity: values.entity as string, tag: values.tag as string });
      if (values.json) process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
      else for (const f of found) process.stdout.write(`${f.id.padEnd(32)} ${f.type.padEnd(9)} ${f.sourceKind.padEnd(9)} ${f.owner.padEnd(14)} ${f.tags.join(',')}\n`);
      return 0;
    },
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return `featuregraph: serve machine-learning features over GraphQL from the stores you already run.

Usage: featuregraph <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run "featuregraph <command> --help" for a command's options and an example.
Start here: npm start (the food-delivery demo), then open http://localhost:4000/graphql.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    process.stdout.write(`${topic && commands[topic] ? commands[topic].help : usage()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`featuregraph: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true }) as { values: Record<string, string | boolean | undefined> });
  } catch (error) {
    process.stderr.write(`featuregraph ${name}: ${error instanceof Error ? error.message : String(error)}\n\n${command.help}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(values);
  } catch (error) {
    if (error instanceof FeatureRepoError || error instanceof FeaturegraphError) {
      process.stderr.write(`featuregraph ${name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
