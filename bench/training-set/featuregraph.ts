// featuregraph: EmbeddedHistoryStore.exportTrainingSet (rows Parquet in, training Parquet out), through
// the HistoryStore interface, the store opened with the view as the gateway opens it. Loading the
// history into the store (HistoryStore.append) is its setup, timed and reported apart.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';
import type { HistoryRecord, HistoryStore } from '../../adapters/history/types.js';
import { buildRegistry, column, entity, featureView, snowflakeTable, type ResolvedView } from '../../index.js';
import { FLOATS, INTS, log, sqlString, VIEW, withDuckDb, type ChildResult } from './common.js';
import type { Data } from './data.js';
import { failure, measurePhase, type Measured, type VariantResult } from './measure.js';
import type { TrainingSetOptions } from './options.js';

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

/** The store as the gateway opens it: with the view (appends go to its typed table), DuckDB's memory_limit its default unless --store-memory-limit. */
function openStore(storePath: string, ttlDays: number, memoryLimit: string): Promise<EmbeddedHistoryStore> {
  return EmbeddedHistoryStore.open(storePath, { views: [viewFor(ttlDays)], ...(memoryLimit === 'default' ? {} : { memoryLimit }) });
}

/** Child phase `featuregraph-setup`: the history appended to the store, `appendBatch` records a call. */
export async function featuregraphLoad(storePath: string, historyPath: string, ttlDays: number, memoryLimit: string, appendBatch: number): Promise<ChildResult> {
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

/** Child phase `featuregraph-run`: exportTrainingSet of the rows, EVENT_TIME. */
export async function featuregraphExport(storePath: string, rowsPath: string, out: string, ttlDays: number, memoryLimit: string): Promise<ChildResult> {
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

/** Setup and run at one scale, each measured in its own child; a failure (out of memory, say) is a result too. */
export async function runFeaturegraph(work: string, data: Data, out: string, options: TrainingSetOptions): Promise<VariantResult> {
  const ttl = String(options.ttlDays);
  log('featuregraph: appending the history to the embedded store');
  const storePath = join(work, 'history.duckdb');
  let setup: Measured | null = null;
  let result: VariantResult;
  try {
    setup = await measurePhase('featuregraph-setup', storePath, data.history, ttl, options.storeMemoryLimit, String(options.appendBatch));
    log(`featuregraph: exportTrainingSet (${setup.seconds.toFixed(1)} s of setup)`);
    const run = await measurePhase('featuregraph-run', storePath, data.rows, out, ttl, options.storeMemoryLimit);
    result = run.skipped ? { setup, run: null, note: run.skipped } : { setup, run };
  } catch (error) {
    // The line says so, and the other variants still run.
    result = { setup, run: null, note: `failed: ${failure(error)}` };
  }
  if (!options.keep) rmSync(storePath, { force: true });
  return result;
}
