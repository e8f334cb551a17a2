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
//        [--feast-max-history 10000000] [--ttl-days 14] [--keep]
//     --scales             rows x history rows x entities, one run per scale (largest first)
//     --feast-max-history  Feast runs only at scales with at most this many history rows; above it
//                          a line says it was skipped, and the ratio is taken at a smaller scale
//     --keep               keep the stores and outputs (under .cache/bench/training-set/run)
//
// Output: one JSON line per phase on stdout, {bench:"training-set", variant, phase, rows,
// history_rows, entities, seconds, rows_per_s, peak_rss_mb, ratio, ratio_vs_floor, ...}: ratio is
// rows/s over Feast's at the same scale (higher is better; the goal is >= 10), ratio_vs_floor over
// the floor's (the goal is >= 0.5). Each output is checked against the floor's, row by row.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, renameSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';
import type { HistoryRecord, HistoryStore } from '../../adapters/history/types.js';
import { buildRegistry, column, entity, featureView, snowflakeTable, type ResolvedView } from '../../index.js';
import { readEndpoints } from '../../test/services/harness.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const self = fileURLToPath(import.meta.url);
const feastScript = join(root, 'bench', 'training-set', 'feast_run.py');
const cacheDir = join(root, '.cache', 'bench', 'training-set');
const DAY = 86_400_000;
const BASE = Date.UTC(2026, 0, 1);
const SPAN = 60 * DAY;
const FLOATS = ['f0', 'f1', 'f2', 'f3', 'f4'];
const INTS = ['f5', 'f6', 'f7', 'f8', 'f9'];
const VIEW = 'bench_items';

interface Scale {
  rows: number;
  history: number;
  entities: number;
}

interface ChildResult {
  seconds: number;
  rows: number;
  skipped?: string;
}

function log(message: string): void {
  process.stderr.write(`[bench:training-set] ${message}\n`);
}

const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

function viewFor(ttlDays: number): ResolvedView {
  const item = entity({ name: 'Item', key: 'itemId', description: 'benchmark entity' });
  const view = featureView({
    name: VIEW,
    entity: item,
    source: snowflakeTable({ name: 'bench_items_source', table: 'bench_items', keyColumn: 'key', eventTimeColumn: 'event_time' }),
    features: Object.fromEntries([...FLOATS.map((f) => [f, column({ type: 'Float' })] as const), ...INTS.map((f) => [f, column({ type: 'Int' })] as const)]),
    freshness: `${ttlDays}d`,
    ttl: `${ttlDays}d`,
    owner: 'bench',
    description: 'training-set benchmark view',
  });
  return buildRegistry([{ file: 'bench.ts', exports: { item, view } }]).view(VIEW);
}

async function withDuckDb<T>(path: string, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    return await work(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

// ---------------------------------------------------------------------------------------------
// Data: generated by DuckDB once per scale, kept in the git-ignored cache.

function dataDir(scale: Scale): string {
  return join(cacheDir, 'data', `r${scale.rows}-h${scale.history}-e${scale.entities}`);
}

async function ensureData(scale: Scale, ttlDays: number): Promise<{ history: string; rows: string }> {
  const dir = dataDir(scale);
  const history = join(dir, 'history.parquet');
  const rows = join(dir, 'rows.parquet');
  if (existsSync(history) && existsSync(rows)) return { history, rows };
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const nullable = (expression: string) => `CASE WHEN random() < 0.02 THEN NULL ELSE ${expression} END`;
  const features = [...FLOATS.map((f) => `${nullable('random()')} AS ${f}`), ...INTS.map((f) => `${nullable('CAST(floor(random() * 1000000) AS BIGINT)')} AS ${f}`)].join(', ');
  await withDuckDb(':memory:', async (db) => {
    await db.run('SELECT setseed(0.42)');
    // Written to a temporary name first, so that an interrupted run never leaves a half file cached.
    await db.run(`COPY (
        SELECT key, epoch_ms(t) AS event_time,
               epoch_ms(t + CASE WHEN late < 0.1 THEN CAST(delay * 3 * ${DAY} AS BIGINT) ELSE CAST(delay * 60000 AS BIGINT) END) AS available_time,
               ${[...FLOATS, ...INTS].join(', ')}
        FROM (SELECT 'k' || (i % ${scale.entities}) AS key, ${BASE} + CAST(floor(random() * ${SPAN}) AS BIGINT) AS t, random() AS late, random() AS delay, ${features}
              FROM range(${scale.history}) r(i))
      ) TO ${sqlString(`${history}.tmp`)} (FORMAT parquet)`);
    await db.run(`COPY (
        SELECT 'k' || CAST(floor(random() * ${scale.entities}) AS BIGINT) AS key, epoch_ms(${BASE} + CAST(floor(random() * ${SPAN + (ttlDays * DAY) / 2}) AS BIGINT)) AS as_of
        FROM range(${scale.rows})
      ) TO ${sqlString(`${rows}.tmp`)} (FORMAT parquet)`);
  });
  renameSync(`${history}.tmp`, history);
  renameSync(`${rows}.tmp`, rows);
  log(`generated ${scale.history} history rows and ${scale.rows} entity rows in ${Math.round(performance.now() - started)} ms (${dir})`);
  return { history, rows };
}

// ---------------------------------------------------------------------------------------------
// Children: one phase each, then exit; the last stdout line is a ChildResult.

/** The store as the gateway opens it: with the view (appends go to its typed table), DuckDB's memory_limit its default unless --store-memory-limit. */
function openStore(storePath: string, ttlDays: number, memoryLimit: string): Promise<EmbeddedHistoryStore> {
  return EmbeddedHistoryStore.open(storePath, { views: [viewFor(ttlDays)], ...(memoryLimit === 'default' ? {} : { memoryLimit }) });
}

async function featuregraphLoad(storePath: string, historyPath: string, ttlDays: number, memoryLimit: string, appendBatch: number): Promise<ChildResult> {
  const started = performance.now();
  const store = await openStore(storePath, ttlDays, memoryLimit);
  let rows = 0;
  await withDuckDb(':memory:', async (db) => {
    const result = await db.stream(
      `SELECT key, CAST(epoch_ms(event_time) AS DOUBLE), CAST(epoch_ms(available_time) AS DOUBLE), ${FLOATS.join(', ')}, ${INTS.map((f) => `CAST(${f} AS INTEGER)`).join(', ')} FROM read_parquet(${sqlString(historyPath)})`,
    );
    let batch: HistoryRecord[] = [];
    for await (const chunk of result.yieldRowsJs()) {
      for (const row of chunk) {
        const values: Record<string, unknown> = {};
        for (let f = 0; f < 10; f++) values[`f${f}`] = row[3 + f] ?? null;
        batch.push({ view: VIEW, key: row[0] as string, id: String(rows++), eventTime: row[1] as number, availableTime: row[2] as number, values });
      }
      if (batch.length >= appendBatch) {
        await store.append(batch);
        batch = [];
        if (rows % 1_000_000 < appendBatch) log(`featuregraph: ${rows} history rows appended`);
      }
    }
    if (batch.length > 0) await store.append(batch);
  });
  await store.close();
  return { seconds: (performance.now() - started) / 1000, rows };
}

async function featuregraphExport(storePath: string, rowsPath: string, out: string, ttlDays: number, memoryLimit: string): Promise<ChildResult> {
  // Through the interface: exportTrainingSet is an optional capability of a history store.
  const store: HistoryStore = await openStore(storePath, ttlDays, memoryLimit);
  try {
    if (store.exportTrainingSet === undefined) return { seconds: 0, rows: 0, skipped: 'EmbeddedHistoryStore has no exportTrainingSet (yet)' };
    const view = viewFor(ttlDays);
    const started = performance.now();
    const { rows } = await store.exportTrainingSet({ query: { features: view.features, mode: 'EVENT_TIME' }, rows: { path: rowsPath, keyColumn: 'key', asOfColumn: 'as_of' }, out });
    return { seconds: (performance.now() - started) / 1000, rows };
  } finally {
    await store.close();
  }
}

async function floorLoad(dbPath: string, historyPath: string): Promise<ChildResult> {
  const started = performance.now();
  const rows = await withDuckDb(dbPath, async (db) => {
    await db.run(`CREATE TABLE history AS SELECT * FROM read_parquet(${sqlString(historyPath)})`);
    const reader = await db.runAndReadAll('SELECT count(*)::INTEGER FROM history');
    return reader.getRowsJS()[0]?.[0] as number;
  });
  return { seconds: (performance.now() - started) / 1000, rows };
}

/** The floor: one ASOF JOIN, the ttl as a CASE, the rows' order kept (as TrainingSetExport promises). */
async function floorJoin(dbPath: string, rowsPath: string, out: string, ttlDays: number): Promise<ChildResult> {
  const started = performance.now();
  const inTtl = `h.event_time >= r.as_of - INTERVAL ${ttlDays} DAY`;
  const rows = await withDuckDb(dbPath, async (db) => {
    await db.run(`COPY (
        SELECT r.key, r.as_of, ${[...FLOATS, ...INTS].map((f) => `CASE WHEN ${inTtl} THEN h.${f} END AS ${f}`).join(', ')}
        FROM (SELECT key, as_of, row_number() OVER () AS rn FROM read_parquet(${sqlString(rowsPath)})) r
        ASOF LEFT JOIN history h ON r.key = h.key AND r.as_of >= h.event_time
        ORDER BY r.rn
      ) TO ${sqlString(out)} (FORMAT parquet)`);
    const reader = await db.runAndReadAll(`SELECT count(*)::INTEGER FROM read_parquet(${sqlString(out)})`);
    return reader.getRowsJS()[0]?.[0] as number;
  });
  return { seconds: (performance.now() - started) / 1000, rows };
}

async function child(): Promise<void> {
  const [phase, ...args] = process.argv.slice(process.argv.indexOf('--child') + 1);
  const a = (i: number) => args[i] as string;
  let result: ChildResult;
  switch (phase) {
    case 'featuregraph-setup':
      result = await featuregraphLoad(a(0), a(1), Number(a(2)), a(3), Number(a(4)));
      break;
    case 'featuregraph-run':
      result = await featuregraphExport(a(0), a(1), a(2), Number(a(3)), a(4));
      break;
    case 'floor-setup':
      result = await floorLoad(a(0), a(1));
      break;
    case 'floor-run':
      result = await floorJoin(a(0), a(1), a(2), Number(a(3)));
      break;
    default:
      throw new Error(`unknown child phase ${phase}`);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Parent.

interface Measured extends ChildResult {
  peak_rss_mb: number;
  /** How busy the shared machine was when the phase started (other work runs beside benchmarks). */
  loadavg_1m: number;
}

/** Runs a command under /usr/bin/time -v: its last stdout line (JSON) plus its peak RSS. */
function measure(command: string, args: readonly string[]): Promise<Measured> {
  const timeFile = join(cacheDir, 'run', `time-${process.pid}.txt`);
  const load = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  return new Promise((resolvePromise, reject) => {
    const spawned = spawn('/usr/bin/time', ['-v', '-o', timeFile, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
    let out = '';
    let errTail = '';
    spawned.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    // The child's stderr still reaches ours; its tail is kept to say why a phase failed.
    spawned.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      process.stderr.write(chunk);
      errTail = (errTail + chunk).slice(-8192);
    });
    spawned.on('error', reject);
    spawned.on('exit', (code, signal) => {
      const report = existsSync(timeFile) ? readFileSync(timeFile, 'utf8') : '';
      rmSync(timeFile, { force: true });
      if (code !== 0) {
        const cause = /\b\w*(?:Error|Exception): [^\n]*/.exec(errTail)?.[0] ?? '';
        return reject(new Error(`${[command, ...args].join(' ')} failed (${signal ?? `exit code ${code}`}${cause ? `: ${cause.slice(0, 200)}` : ''})\n${report}`));
      }
      const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(report)?.[1] ?? NaN);
      const last = out.trim().split('\n').pop() as string;
      resolvePromise({ ...(JSON.parse(last) as ChildResult), peak_rss_mb: Math.round(kb / 102.4) / 10, loadavg_1m: load });
    });
  });
}

/** The gist of a child's failure: its exit status and peak RSS (its stderr went to ours). */
function failure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const status = /failed \((.*)\)\n/.exec(message)?.[1] ?? message.split('\n')[0];
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(message)?.[1];
  return `${status}${kb ? `, peak RSS ${Math.round(Number(kb) / 1024)} MB` : ''}`;
}

const node = (phase: string, ...args: string[]) => measure(process.execPath, [...process.execArgv, self, '--child', phase, ...args]);

function feastPython(): string | null {
  const python = readEndpoints().feast?.python;
  if (python && existsSync(python)) return python;
  log('Feast is not installed: starting test/services/up feast');
  try {
    execFileSync(join(root, 'test', 'services', 'up'), ['feast'], { cwd: root, stdio: ['ignore', 2, 2] });
  } catch {
    return null;
  }
  return readEndpoints().feast?.python ?? null;
}

/** Cells that differ from the floor's output, over rows present in both (keyed by key and asOf). */
async function differences(out: string, floorOut: string): Promise<{ compared: number; differing: number }> {
  return withDuckDb(':memory:', async (db) => {
    const differ = [...FLOATS, ...INTS].map((f) => `a.${f} IS DISTINCT FROM b.${f}`).join(' OR ');
    const reader = await db.runAndReadAll(
      `SELECT count(*)::INTEGER, count(*) FILTER (WHERE ${differ})::INTEGER FROM read_parquet(${sqlString(out)}) a JOIN read_parquet(${sqlString(floorOut)}) b ON a.key = b.key AND a.as_of = b.as_of`,
    );
    const [compared, differing] = reader.getRowsJS()[0] as number[];
    return { compared: compared as number, differing: differing as number };
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) return child();
  const scales: Scale[] = argument('scales', '1000000x10000000x1000000')
    .split(',')
    .map((text) => {
      const [rows, history, entities] = text.split('x').map(Number);
      if (![rows, history, entities].every((n) => Number.isInteger(n) && (n as number) > 0)) throw new Error(`--scales takes rows x history x entities, e.g. 1000000x10000000x1000000; got ${text}`);
      return { rows, history, entities } as Scale;
    });
  const feastMaxHistory = Number(argument('feast-max-history', String(Number.MAX_SAFE_INTEGER)));
  const ttlDays = Number(argument('ttl-days', '14'));
  const keep = process.argv.includes('--keep');
  const appendBatch = Number(argument('append-batch', '50000'));
  const storeMemoryLimit = argument('store-memory-limit', 'default');
  const commit = (() => {
    try {
      const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
      const dirty = execFileSync('git', ['status', '--porcelain', '--', 'adapters/history', 'bench/training-set'], { cwd: root, encoding: 'utf8' }).trim() !== '';
      return dirty ? `${sha}-dirty` : sha;
    } catch {
      return 'unknown';
    }
  })();
  const info = { node: process.version, cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', commit };
  const python = feastPython();
  mkdirSync(join(cacheDir, 'run'), { recursive: true });

  for (const scale of scales) {
    const data = await ensureData(scale, ttlDays);
    const work = join(cacheDir, 'run', `r${scale.rows}-h${scale.history}-e${scale.entities}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const outs = { featuregraph: join(work, 'featuregraph.parquet'), floor: join(work, 'floor.parquet'), feast: join(work, 'feast.parquet') };
    const results: Record<string, { setup: Measured | null; run: Measured | null; note?: string }> = {};
    const line = (variant: string, phase: 'setup' | 'run', m: Measured, extra: Record<string, unknown> = {}) => ({
      bench: 'training-set',
      variant,
      phase,
      mode: 'EVENT_TIME',
      rows: phase === 'setup' ? scale.history : scale.rows,
      rows_out: m.rows,
      history_rows: scale.history,
      entities: scale.entities,
      features: 10,
      seconds: Math.round(m.seconds * 100) / 100,
      rows_per_s: Math.round((phase === 'setup' ? scale.history : scale.rows) / m.seconds),
      peak_rss_mb: m.peak_rss_mb,
      loadavg_1m: m.loadavg_1m,
      ...(variant === 'featuregraph' ? { store_memory_limit: storeMemoryLimit, append_batch: appendBatch } : {}),
      ...extra,
    });

    log(`scale: ${scale.rows} rows x 10 features over ${scale.history} history rows of ${scale.entities} entities`);
    log('floor: loading the typed rows into a DuckDB table');
    const floorDb = join(work, 'floor.duckdb');
    const floorSetup = await node('floor-setup', floorDb, data.history);
    log(`floor: ASOF JOIN (${floorSetup.seconds.toFixed(1)} s of setup)`);
    const floorRun = await node('floor-run', floorDb, data.rows, outs.floor, String(ttlDays));
    results.floor = { setup: floorSetup, run: floorRun };
    rmSync(floorDb, { force: true });

    log('featuregraph: appending the history to the embedded store');
    const storePath = join(work, 'history.duckdb');
    let fgSetup: Measured | null = null;
    try {
      fgSetup = await node('featuregraph-setup', storePath, data.history, String(ttlDays), storeMemoryLimit, String(appendBatch));
      log(`featuregraph: exportTrainingSet (${fgSetup.seconds.toFixed(1)} s of setup)`);
      const fgRun = await node('featuregraph-run', storePath, data.rows, outs.featuregraph, String(ttlDays), storeMemoryLimit);
      results.featuregraph = fgRun.skipped ? { setup: fgSetup, run: null, note: fgRun.skipped } : { setup: fgSetup, run: fgRun };
    } catch (error) {
      // A failure is a result too (out of memory, say): the line says so and the other variants still run.
      results.featuregraph = { setup: fgSetup, run: null, note: `failed: ${failure(error)}` };
    }
    if (!keep) rmSync(storePath, { force: true });

    if (python === null) {
      results.feast = { setup: null, run: null, note: 'Feast is not installed (test/services/up feast failed)' };
    } else if (scale.history > feastMaxHistory) {
      results.feast = { setup: null, run: null, note: `skipped above --feast-max-history ${feastMaxHistory}` };
    } else {
      log('feast: FileSource copy and apply');
      const repo = join(work, 'feast-repo');
      try {
        const feastSetup = await measure(python, [feastScript, 'setup', repo, data.history, String(ttlDays * DAY)]);
        log(`feast: get_historical_features (${feastSetup.seconds.toFixed(1)} s of setup)`);
        const feastRun = await measure(python, [feastScript, 'run', repo, data.rows, outs.feast]);
        results.feast = { setup: feastSetup, run: feastRun };
      } catch (error) {
        results.feast = { setup: null, run: null, note: `failed: ${failure(error)}` };
      }
    }

    const rate = (variant: string) => {
      const run = results[variant]?.run;
      return run ? scale.rows / run.seconds : null;
    };
    const ratio = (variant: string, base: string) => {
      const a = rate(variant);
      const b = rate(base);
      return a !== null && b !== null ? Math.round((a / b) * 1000) / 1000 : null;
    };
    for (const variant of ['feast', 'floor', 'featuregraph']) {
      const r = results[variant];
      if (!r) continue;
      if (r.setup) console.log(JSON.stringify({ ...line(variant, 'setup', r.setup), ...info }));
      if (r.run) {
        const check = variant === 'floor' ? null : await differences(outs[variant as keyof typeof outs], outs.floor);
        console.log(
          JSON.stringify({
            ...line(variant, 'run', r.run, {
              ratio: ratio(variant, 'feast'),
              ratio_vs_floor: ratio(variant, 'floor'),
              ...(check ? { compared_with_floor: check.compared, rows_differing_from_floor: check.differing } : {}),
            }),
            ...info,
          }),
        );
      } else {
        console.log(JSON.stringify({ bench: 'training-set', variant, phase: 'run', rows: scale.rows, history_rows: scale.history, entities: scale.entities, skipped: r.note, ...info }));
      }
    }
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

await main();
