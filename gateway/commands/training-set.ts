// `featuregraph training-set`: a point-in-time training set from a history store, written to Parquet.
import { FeaturegraphError } from '../../schema/errors.js';
import { loadFeatureRepo } from '../../schema/load.js';
import { progressBar } from '../../materializers/batch/backfill.js';
import { openHistoryStore } from '../history.js';
import { exportTrainingSet } from '../training-set.js';
import { configOf, historyOf, listFlag, log, repoAndConfigOptions, type Command } from './command.js';

export const trainingSet: Command = {
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
  options: { ...repoAndConfigOptions, entities: { type: 'string' }, features: { type: 'string' }, mode: { type: 'string' }, out: { type: 'string', short: 'o' }, entity: { type: 'string' }, history: { type: 'string' } },
  async run(values) {
    const need = (flag: string, what: string): string => {
      const value = values[flag];
      if (typeof value !== 'string' || value === '') throw new FeaturegraphError('BAD_USER_INPUT', `--${flag} is required: ${what}`);
      return value;
    };
    const rowsPath = need('entities', 'the .csv or .parquet file of entity rows (key, asOf, request-time arguments)');
    const features = listFlag(need('features', 'the features to compute, comma-separated'));
    const out = need('out', 'the Parquet file to write');
    const mode = ((values.mode as string | undefined) ?? 'SERVED').toUpperCase();
    if (mode !== 'SERVED' && mode !== 'EVENT_TIME') throw new FeaturegraphError('BAD_USER_INPUT', `--mode must be SERVED or EVENT_TIME, got ${JSON.stringify(values.mode)}`);
    const config = configOf(values);
    const historyConfig = historyOf(values, config);
    if (historyConfig.type === 'memory') {
      throw new FeaturegraphError('INVALID_CONFIG', 'training-set reads a history store that materializers or backfills wrote: give --history FILE, or history embedded or snowflake in the config (a memory history lives inside one serving process: ask it with POST /training-set)');
    }
    const registry = await loadFeatureRepo(config.repo);
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
};
