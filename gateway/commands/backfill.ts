// `featuregraph backfill`: rebuilds a view's history over a time range, slice by slice, resumable.
import { FeaturegraphError } from '../../schema/errors.js';
import { loadFeatureRepo } from '../../schema/load.js';
import { parseDuration } from '../../schema/duration.js';
import { parseInstant } from '../../schema/instant.js';
import type { BatchSourceDefinition, DocumentSourceDefinition } from '../../schema/types.js';
import { RedisCheckpointStore } from '../../adapters/checkpoints/index.js';
import type { CheckpointStore } from '../../adapters/sources/types.js';
import { backfill as runBackfill, progressBar } from '../../materializers/batch/backfill.js';
import { rowSourcesFor } from '../sources.js';
import { openHistory } from '../history.js';
import { configOf, historyOf, log, repoAndConfigOptions, type Command } from './command.js';

export const backfill: Command = {
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
  options: { ...repoAndConfigOptions, view: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, history: { type: 'string' }, slice: { type: 'string' } },
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
    const config = configOf(values);
    const historyConfig = historyOf(values, config);
    if (historyConfig.type === 'memory') throw new FeaturegraphError('INVALID_CONFIG', 'backfill writes a history store that gateways read: give --history FILE, or history embedded or snowflake in the config');
    const registry = await loadFeatureRepo(config.repo);
    const view = registry.view(values.view, '--view');
    if (view.source.kind === 'stream') throw new FeaturegraphError('BAD_USER_INPUT', `view ${view.name} reads a stream; its history is written by featuregraph materialize as events arrive`);
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
      const result = await runBackfill({ view, source, history, checkpoints, from, to, sliceMs, signal: controller.signal, onProgress: progressBar((text) => process.stderr.write(text), process.stderr.isTTY === true) });
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
};
