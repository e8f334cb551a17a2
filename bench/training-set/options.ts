// bench:training-set's command line.
import { argument, checkFlags } from '../common/args.js';
import type { Scale } from './common.js';

export interface TrainingSetOptions {
  /** One run per scale, in the order given. */
  scales: Scale[];
  /** Feast runs only at scales with at most this many history rows. */
  feastMaxHistory: number;
  ttlDays: number;
  /** Keep the stores and outputs under .cache/bench/training-set/run. */
  keep: boolean;
  /** Records per HistoryStore.append in featuregraph's setup. */
  appendBatch: number;
  /** The embedded store's DuckDB memory_limit; 'default': the store's own. */
  storeMemoryLimit: string;
}

const usage = `usage: npm run bench:training-set [-- options]

  --scales RxHxE,...        entity rows x history rows x entities, one run per scale
                            (default 1000000x10000000x1000000)
  --feast-max-history N     Feast runs only at scales with at most this many history rows
  --ttl-days N              the views' ttl (default 14)
  --keep                    keep the stores and outputs under .cache/bench/training-set/run
  --append-batch N          records per HistoryStore.append in featuregraph's setup (default 50000)
  --store-memory-limit X    the embedded store's DuckDB memory_limit, e.g. 2GB (default: the store's own)

Prints one JSON line per phase; ratio = rows/s over Feast's at the same scale, ratio_vs_floor over bare
DuckDB's (see the header of bench/training-set/run.ts and bench/README.md).`;

export function readOptions(): TrainingSetOptions {
  checkFlags(usage, ['scales', 'feast-max-history', 'ttl-days', 'append-batch', 'store-memory-limit'], ['keep']);
  const scales: Scale[] = argument('scales', '1000000x10000000x1000000')
    .split(',')
    .map((text) => {
      const [rows, history, entities] = text.split('x').map(Number);
      if (![rows, history, entities].every((n) => Number.isInteger(n) && (n as number) > 0)) throw new Error(`--scales takes rows x history x entities, e.g. 1000000x10000000x1000000; got ${text}`);
      return { rows, history, entities } as Scale;
    });
  return {
    scales,
    feastMaxHistory: Number(argument('feast-max-history', String(Number.MAX_SAFE_INTEGER))),
    ttlDays: Number(argument('ttl-days', '14')),
    keep: process.argv.includes('--keep'),
    appendBatch: Number(argument('append-batch', '50000')),
    storeMemoryLimit: argument('store-memory-limit', 'default'),
  };
}
