// Which embedded SQL engine backs adapters/sources/embedded: DuckDB (@duckdb/node-api) or SQLite
// (better-sqlite3@12). Both load the same table (N rows: a text key, an epoch-ms event time, 10 float
// features; event times shuffled, as a warehouse table is not stored in event-time order) into a temp
// file, then read it back the way a RowSource does: every row with since < eventTime <= until, ordered
// by eventTime, turned into SourceRow objects, in batches of 1,000. Each (engine, phase, size) runs in
// a fresh child process, so its peak RSS (process.resourceUsage().maxRSS) is its own.
//
//   node --import tsx bench/batch/embedded-choice.ts [--sizes 250000,1000000] [--engines sqlite,sqlite-pages,duckdb]
//
// Variants: sqlite = one better-sqlite3 iterate() over the ordered query (index on the event time);
// sqlite-pages = keyset pages of 1,000 on (eventTime, rowid), nothing left open between batches;
// duckdb = connection.stream() + fetchChunk() with DuckDB's default memory_limit (80% of RAM);
// duckdb-128mb = the same with memory_limit 128MB (the sort spills to disk); adapter = the chosen
// adapter (adapters/sources/embedded, DuckDB at 128MB), to check it costs what its engine costs.
// When the engine's package is not installed (only the chosen one stays a dependency), its variant
// prints {"skipped": ...} instead of a number.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

const FEATURES = 10;
const BATCH = 1000;
const BASE_TIME = Date.UTC(2026, 0, 1);

interface Row {
  key: string;
  eventTime: number;
  values: Record<string, unknown>;
}

const featureNames = Array.from({ length: FEATURES }, (_, i) => `f${i}`);

/** Row i of the generated table: a deterministic shuffle of event times, pseudo-random floats. */
export function generatedRow(i: number, n: number): { key: string; eventTime: number; features: number[] } {
  // 7919 is prime and coprime with the sizes used here, so (i * 7919) % n is a permutation of 0..n-1.
  const slot = (i * 7919) % n;
  const features: number[] = new Array(FEATURES);
  let x = (i + 1) * 2654435761;
  for (let f = 0; f < FEATURES; f++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    features[f] = x / 2147483648;
  }
  return { key: `k${i}`, eventTime: BASE_TIME + slot * 10, features };
}

function peakRssMb(): number {
  // maxRSS is in kilobytes.
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

/** Consumes batches as a materializer would, so that no engine can skip building the rows. */
class Sink {
  rows = 0;
  checksum = 0;
  lastTime = -Infinity;
  take(batch: Row[]): void {
    for (const row of batch) {
      if (row.eventTime < this.lastTime) throw new Error(`out of order at row ${this.rows}`);
      this.lastTime = row.eventTime;
      this.checksum += row.key.length + (row.values.f9 as number);
    }
    this.rows += batch.length;
  }
}

const require = createRequire(import.meta.url);

// The few better-sqlite3 calls used here, typed locally: better-sqlite3 (and its @types package) is
// not a dependency once DuckDB was chosen; install it (npm install --no-save better-sqlite3@12) to rerun.
interface SqliteStatement {
  run(...params: unknown[]): unknown;
  iterate(...params: unknown[]): IterableIterator<unknown>;
  all(...params: unknown[]): unknown[];
  raw(on?: boolean): SqliteStatement;
}
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  pragma(source: string): unknown;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
}
function openSqlite(path: string): SqliteDatabase {
  const Database = require('better-sqlite3') as new (path: string) => SqliteDatabase;
  return new Database(path);
}

async function sqliteLoad(path: string, n: number): Promise<void> {
  const db = openSqlite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE t (k TEXT NOT NULL, ts INTEGER NOT NULL, ${featureNames.map((f) => `${f} REAL`).join(', ')})`);
  const insert = db.prepare(`INSERT INTO t VALUES (${['?', '?', ...featureNames.map(() => '?')].join(', ')})`);
  const chunk = 50_000;
  const load = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const row = generatedRow(i, n);
      insert.run(row.key, row.eventTime, ...row.features);
    }
  });
  for (let i = 0; i < n; i += chunk) load(i, Math.min(n, i + chunk));
  db.exec('CREATE INDEX t_ts ON t (ts)');
  db.close();
}

async function sqliteRead(path: string, sink: Sink): Promise<void> {
  const db = openSqlite(path);
  const stmt = db.prepare(`SELECT k, ts, ${featureNames.join(', ')} FROM t WHERE ts > ? AND ts <= ? ORDER BY ts`).raw(true);
  let batch: Row[] = [];
  for (const raw of stmt.iterate(-1, Number.MAX_SAFE_INTEGER) as IterableIterator<unknown[]>) {
    const values: Record<string, unknown> = {};
    for (let f = 0; f < FEATURES; f++) values[featureNames[f] as string] = raw[f + 2];
    batch.push({ key: raw[0] as string, eventTime: raw[1] as number, values });
    if (batch.length === BATCH) {
      sink.take(batch);
      batch = [];
      // A RowSource yields here; the consumer awaits its writes.
      await Promise.resolve();
    }
  }
  if (batch.length > 0) sink.take(batch);
  db.close();
}

async function sqlitePagesRead(path: string, sink: Sink): Promise<void> {
  const db = openSqlite(path);
  const stmt = db
    .prepare(`SELECT k, ts, ${featureNames.join(', ')}, rowid FROM t WHERE (ts, rowid) > (?, ?) AND ts <= ? ORDER BY ts, rowid LIMIT ${BATCH}`)
    .raw(true);
  let lastTs = -1;
  let lastRowid = -1;
  for (;;) {
    const page = stmt.all(lastTs, lastRowid, Number.MAX_SAFE_INTEGER) as unknown[][];
    if (page.length === 0) break;
    const batch: Row[] = new Array(page.length);
    for (let r = 0; r < page.length; r++) {
      const raw = page[r] as unknown[];
      const values: Record<string, unknown> = {};
      for (let f = 0; f < FEATURES; f++) values[featureNames[f] as string] = raw[f + 2];
      batch[r] = { key: raw[0] as string, eventTime: raw[1] as number, values };
    }
    const last = page[page.length - 1] as unknown[];
    lastTs = last[1] as number;
    lastRowid = last[FEATURES + 2] as number;
    sink.take(batch);
    await Promise.resolve();
  }
  db.close();
}


async function duckdbLoad(path: string, n: number): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  await connection.run(`CREATE TABLE t (k VARCHAR NOT NULL, ts BIGINT NOT NULL, ${featureNames.map((f) => `${f} DOUBLE`).join(', ')})`);
  const appender = await connection.createAppender('t');
  for (let i = 0; i < n; i++) {
    const row = generatedRow(i, n);
    appender.appendVarchar(row.key);
    appender.appendBigInt(BigInt(row.eventTime));
    for (const value of row.features) appender.appendDouble(value);
    appender.endRow();
  }
  appender.closeSync();
  connection.closeSync();
  instance.closeSync();
}

async function duckdbRead(path: string, sink: Sink, config: Record<string, string> = {}): Promise<void> {
  const instance = await DuckDBInstance.create(path, config);
  const connection = await instance.connect();
  const result = await connection.stream(`SELECT k, ts, ${featureNames.join(', ')} FROM t WHERE ts > $1 AND ts <= $2 ORDER BY ts`, [-1n, BigInt(Number.MAX_SAFE_INTEGER)]);
  let batch: Row[] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const columns = chunk.getColumns();
    const keys = columns[0] as unknown[];
    const times = columns[1] as unknown[];
    for (let r = 0; r < chunk.rowCount; r++) {
      const values: Record<string, unknown> = {};
      for (let f = 0; f < FEATURES; f++) values[featureNames[f] as string] = (columns[f + 2] as unknown[])[r];
      batch.push({ key: keys[r] as string, eventTime: Number(times[r] as bigint), values });
      if (batch.length === BATCH) {
        sink.take(batch);
        batch = [];
      }
    }
  }
  if (batch.length > 0) sink.take(batch);
  connection.closeSync();
  instance.closeSync();
}

async function adapterRead(path: string, sink: Sink): Promise<void> {
  const { EmbeddedSql } = await import('../../adapters/sources/embedded/index.js');
  const db = await EmbeddedSql.open(path);
  const source = db.source({ kind: 'batch', name: 't', table: 't', keyColumn: 'k', eventTimeColumn: 'ts' });
  for await (const batch of source.read({ since: null, until: Number.MAX_SAFE_INTEGER, columns: featureNames })) sink.take(batch);
  await source.close();
  await db.close();
}

type Engine = 'sqlite' | 'sqlite-pages' | 'duckdb' | 'duckdb-128mb' | 'adapter';
const engines: Record<Engine, { file: 'sqlite' | 'duckdb'; module: string; load: typeof sqliteLoad; read: typeof sqliteRead }> = {
  sqlite: { file: 'sqlite', module: 'better-sqlite3', load: sqliteLoad, read: sqliteRead },
  'sqlite-pages': { file: 'sqlite', module: 'better-sqlite3', load: sqliteLoad, read: sqlitePagesRead },
  duckdb: { file: 'duckdb', module: '@duckdb/node-api', load: duckdbLoad, read: duckdbRead },
  'duckdb-128mb': { file: 'duckdb', module: '@duckdb/node-api', load: duckdbLoad, read: (path, sink) => duckdbRead(path, sink, { memory_limit: '128MB' }) },
  adapter: { file: 'duckdb', module: '@duckdb/node-api', load: duckdbLoad, read: adapterRead },
};

function installed(module: string): boolean {
  try {
    require.resolve(module);
    return true;
  } catch {
    return false;
  }
}

async function child(engine: Engine, phase: 'load' | 'read', path: string, n: number): Promise<void> {
  const spec = engines[engine];
  const started = performance.now();
  let rows = n;
  if (phase === 'load') {
    await spec.load(path, n);
  } else {
    const sink = new Sink();
    await spec.read(path, sink);
    if (sink.rows !== n) throw new Error(`${engine} read ${sink.rows} rows, expected ${n}`);
    rows = sink.rows;
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ rows, seconds, rows_per_s: Math.round(rows / seconds), peak_rss_mb: peakRssMb() })}\n`);
}

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const [, , , engine, phase, path, n] = process.argv;
    await child(engine as Engine, phase as 'load' | 'read', path as string, Number(n));
    return;
  }
  const sizes = argument('sizes', '250000,1000000').split(',').map(Number);
  const chosen = argument('engines', 'sqlite,sqlite-pages,duckdb,duckdb-128mb,adapter').split(',') as Engine[];
  const dir = mkdtempSync(join(tmpdir(), 'fg-embedded-choice-'));
  const self = fileURLToPath(import.meta.url);
  const info = { node: process.version, cpus: cpus().length };
  try {
    for (const n of sizes) {
      const loaded = new Set<string>();
      for (const engine of chosen) {
        const spec = engines[engine];
        if (!installed(spec.module)) {
          console.log(JSON.stringify({ bench: 'embedded-choice', variant: engine, skipped: `${spec.module} is not installed` }));
          continue;
        }
        const path = join(dir, `${spec.file}-${n}.db`);
        const phases: ('load' | 'read')[] = loaded.has(path) ? ['read'] : ['load', 'read'];
        loaded.add(path);
        for (const phase of phases) {
          const run = spawnSync(process.execPath, [...process.execArgv, self, '--child', engine, phase, path, String(n)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
          if (run.status !== 0) throw new Error(`${engine} ${phase} ${n} failed (exit ${run.status ?? run.signal})`);
          const result = JSON.parse(run.stdout.trim().split('\n').pop() as string) as { rows: number; rows_per_s: number; peak_rss_mb: number; seconds: number };
          const fileMb = phase === 'load' ? { file_mb: Math.round(statSync(path).size / 1048576) } : {};
          console.log(JSON.stringify({ bench: 'embedded-choice', variant: engine, phase, ...result, ...fileMb, ...info }));
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Only when run directly: the batch bench imports generatedRow from here.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
