// What the training-set bench's parent and its phase children share: where things go, the view's
// features, the scale of a run, what a child reports, and DuckDB at hand.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cacheDir = join(root, '.cache', 'bench', 'training-set');
export const DAY = 86_400_000;
export const FLOATS = ['f0', 'f1', 'f2', 'f3', 'f4'];
export const INTS = ['f5', 'f6', 'f7', 'f8', 'f9'];
export const VIEW = 'bench_items';

/** One run's size: entity rows asked for, history rows, and entities (keys) the history spreads over. */
export interface Scale {
  rows: number;
  history: number;
  entities: number;
}

/** Where a scale's generated data is (history.parquet, rows.parquet) and, under `run/`, its work. */
export function scaleName(scale: Scale): string {
  return `r${scale.rows}-h${scale.history}-e${scale.entities}`;
}

/** What a phase's child prints as its last stdout line. */
export interface ChildResult {
  seconds: number;
  rows: number;
  skipped?: string;
}

export function log(message: string): void {
  process.stderr.write(`[bench:training-set] ${message}\n`);
}

export const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;

export async function withDuckDb<T>(path: string, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    return await work(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
