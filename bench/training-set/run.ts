// The training-set benchmark (npm run bench:training-set): a point-in-time training set of 1M entity
// rows x 10 features over 10M history rows, written to Parquet, three ways in one run:
//
//   featuregraph: EmbeddedHistoryStore.exportTrainingSet (rows Parquet -> training Parquet). Loading
//                 the history into the store (HistoryStore.append) is setup: timed and reported apart.
//   floor:        bare DuckDB: the same typed rows in a table (setup), then one ASOF LEFT JOIN with the
//                 ttl, in the rows' order, COPY to Parquet. What the engine alone costs.
//   feast:        Feast's get_historical_features(...).to_df() over a FileSource (file offline store,
//                 dask), written to Parquet, in the Feast venv (test/services up feast). The FileSource
//                 copy and FeatureStore.apply are setup. The baseline (DESIGN: Feast for peers).
//
// Mode EVENT_TIME (Feast's default). Every phase runs in its own child process under /usr/bin/time -v,
// so each peak RSS is its own. The data (DuckDB SQL: keys k0..k(E-1), uniform event times over 60
// days, 10% of changes available days late, f0..f4 DOUBLE and f5..f9 BIGINT with 2% nulls; entity rows
// at uniform instants) is Parquet under .cache/bench/training-set/data, generated once per scale.
//
//   node --import tsx bench/training-set/run.ts [--scales 1000000x10000000x1000000,...]
//        [--feast-max-history 10000000] [--ttl-days 14] [--keep] [--append-batch 50000] [--store-memory-limit 2GB]
//     --scales             rows x history rows x entities, one run per scale (largest first)
//     --feast-max-history  Feast runs only at scales with at most this many history rows; above it
//                          a line says it was skipped, and the ratio is taken at a smaller scale
//     --keep               keep the stores and outputs (under .cache/bench/training-set/run)
//     --append-batch       records per HistoryStore.append in featuregraph's setup
//     --store-memory-limit the embedded store's DuckDB memory_limit (default: the store's own)
//
// Output: one JSON line per phase on stdout, {bench:"training-set", variant, phase, rows,
// history_rows, entities, seconds, rows_per_s, peak_rss_mb, ratio, ratio_vs_floor, ...}: ratio is
// rows/s over Feast's at the same scale (higher is better; the goal is >= 10), ratio_vs_floor over
// the floor's (the goal is >= 0.5). Each output is checked against the floor's, row by row.
//
// Modules: options.ts (the flags), data.ts (the generated data), floor.ts, featuregraph.ts and
// feast.ts (each variant's phases), measure.ts and child.ts (a phase in a child of its own),
// report.ts (the lines).
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, log, scaleName } from './common.js';
import { ensureData } from './data.js';
import { feastPython, runFeast } from './feast.js';
import { runFeaturegraph } from './featuregraph.js';
import { runFloor } from './floor.js';
import { readOptions } from './options.js';
import { machine, printResults } from './report.js';

const options = readOptions();
const info = machine();
const python = feastPython();
mkdirSync(join(cacheDir, 'run'), { recursive: true });

for (const scale of options.scales) {
  const data = await ensureData(scale, options.ttlDays);
  const work = join(cacheDir, 'run', scaleName(scale));
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const outs = { featuregraph: join(work, 'featuregraph.parquet'), floor: join(work, 'floor.parquet'), feast: join(work, 'feast.parquet') };
  log(`scale: ${scale.rows} rows x 10 features over ${scale.history} history rows of ${scale.entities} entities`);
  const floor = await runFloor(work, data, outs.floor, options.ttlDays);
  const featuregraph = await runFeaturegraph(work, data, outs.featuregraph, options);
  const feast = await runFeast(python, scale, work, data, outs.feast, options);
  await printResults(scale, { feast, floor, featuregraph }, outs, options, info);
  if (!options.keep) rmSync(work, { recursive: true, force: true });
}
