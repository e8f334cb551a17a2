// How the embedded history store lays out and reads history, measured (bench/README.md, "The embedded
// history store's choices", has the figures). On the training-set benchmark's data (run
// bench/training-set/run.ts once to generate it, or give --data DIR with history.parquet and
// rows.parquet): 10M changes of one column view (f0..f4 DOUBLE, f5..f9 BIGINT), 1M entity rows.
//
//   node --import tsx bench/training-set/engine-choice.ts [--data DIR] [--memory 128MB] [--append 1000000] [--reuse]
//
// Phases, each timed (one process, in order):
//   json-load      the changes into the generic table (values as JSON text), straight from Parquet in SQL
//   typed-migrate  open with the view: its typed table built from the JSON in SQL
//   export         exportTrainingSet, EVENT_TIME, 1M rows -> Parquet
//   floor          bare ASOF LEFT JOIN on the event time over the typed table, same output (ties arbitrary)
//   json-extract   the same ASOF JOIN reading the features out of the JSON text at read time
//   append         HistoryStore.append of --append changes (50,000 a call) into a typed store
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';
import type { HistoryRecord } from '../../adapters/history/types.js';
import { buildRegistry, column, entity, featureView, snowflakeTable } from '../../index.js';
import { argument } from '../common/args.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const data = argument('data', join(root, '.cache', 'bench', 'training-set', 'data', 'r1000000-h10000000-e1000000'));
const memoryLimit = argument('memory', '128MB');
const appendCount = Number(argument('append', '1000000'));
const work = join(root, '.cache', 'bench', 'training-set', 'engine-choice');
const FEATURES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9'];
const TTL_DAYS = 14;

const item = entity({ name: 'Item', key: 'itemId', description: 'benchmark entity' });
const benchItems = featureView({
  name: 'bench_items',
  entity: item,
  source: snowflakeTable({ name: 'bench_items_source', table: 'bench_items', keyColumn: 'key', eventTimeColumn: 'event_time' }),
  features: Object.fromEntries(FEATURES.map((f, i) => [f, column({ type: i < 5 ? 'Float' : 'Int' })] as const)),
  freshness: `${TTL_DAYS}d`,
  ttl: `${TTL_DAYS}d`,
  owner: 'bench',
  description: 'training-set benchmark view',
});
const view = buildRegistry([{ file: 'engine-choice.ts', exports: { item, benchItems } }]).view('bench_items');

async function timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  process.stdout.write(`${JSON.stringify({ bench: 'training-set/engine-choice', phase, seconds: Number(((performance.now() - started) / 1000).toFixed(2)), memory_limit: memoryLimit })}\n`);
  return result;
}

async function raw<T>(path: string, run: (sql: (text: string) => Promise<unknown>) => Promise<T>): Promise<T> {
  // Setup and the baselines run unbounded (DuckDB's default, 80% of RAM), as run.ts's floor does.
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    return await run((text) => connection.run(text));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

// --reuse: start from the store a run left with the JSON loaded (the later phases only).
const reuse = process.argv.includes('--reuse');
if (!reuse) rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const storePath = join(work, 'store.duckdb');
const history = `'${join(data, 'history.parquet')}'`;
const rows = join(data, 'rows.parquet');

if (!reuse) await (await EmbeddedHistoryStore.open(storePath)).close();
if (!reuse) await timed('json-load', () =>
  raw(storePath, (sql) =>
    sql(`INSERT INTO history SELECT 'bench_items', key, CAST(row_number() OVER () AS VARCHAR), epoch_ms(event_time), epoch_ms(available_time), CAST(json_object(${FEATURES.map((f) => `'${f}', ${f}`).join(', ')}) AS VARCHAR), false FROM read_parquet(${history})`),
  ),
);
if (!reuse) await timed('json-extract', () =>
  raw(storePath, (sql) =>
    sql(`COPY (SELECT r.key, r.as_of, ${FEATURES.map((f, i) => `CASE WHEN h.event_time >= epoch_ms(r.as_of) - ${TTL_DAYS * 86_400_000} THEN TRY_CAST(h.vals ->> '$.${f}' AS ${i < 5 ? 'DOUBLE' : 'BIGINT'}) END AS ${f}`).join(', ')}
      FROM (SELECT key, as_of, row_number() OVER () AS rn FROM read_parquet('${rows}')) r ASOF LEFT JOIN history h ON r.key = h.key AND epoch_ms(r.as_of) >= h.event_time ORDER BY r.rn) TO '${join(work, 'json-extract.parquet')}' (FORMAT parquet)`),
  ),
);
const store = await timed('typed-migrate', () => EmbeddedHistoryStore.open(storePath, { views: [view], memoryLimit }));
await timed('export', () => store.exportTrainingSet({ query: { features: view.features, mode: 'EVENT_TIME' }, rows: { path: rows, keyColumn: 'key', asOfColumn: 'as_of' }, out: join(work, 'export.parquet') }));
await store.close();
await timed('floor', () =>
  raw(storePath, (sql) =>
    sql(`COPY (SELECT r.key, r.as_of, ${FEATURES.map((f) => `CASE WHEN h.event_time >= epoch_ms(r.as_of) - ${TTL_DAYS * 86_400_000} THEN h.${'c' + FEATURES.indexOf(f)} END AS ${f}`).join(', ')}
      FROM (SELECT key, as_of, row_number() OVER () AS rn FROM read_parquet('${rows}')) r ASOF LEFT JOIN "history_view_bench_items" h ON r.key = h.key AND epoch_ms(r.as_of) >= h.event_time ORDER BY r.rn) TO '${join(work, 'floor.parquet')}' (FORMAT parquet)`),
  ),
);

const appendPath = join(work, 'append.duckdb');
const appender = await EmbeddedHistoryStore.open(appendPath, { views: [view], memoryLimit });
await timed(`append-${appendCount}`, async () => {
  for (let start = 0; start < appendCount; start += 50_000) {
    const batch: HistoryRecord[] = [];
    for (let i = start; i < Math.min(appendCount, start + 50_000); i++) {
      batch.push({ view: 'bench_items', key: `k${i % 1_000_000}`, id: String(i), eventTime: 1_767_225_600_000 + i * 500, availableTime: 1_767_225_600_000 + i * 500 + 1000, values: Object.fromEntries(FEATURES.map((f, j) => [f, j < 5 ? Math.random() : Math.floor(Math.random() * 1e6)])) });
    }
    await appender.append(batch);
  }
});
await appender.close();
