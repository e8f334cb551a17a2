// The floor: bare DuckDB, what the engine alone costs. Setup loads the same typed rows into a table;
// the run is one ASOF LEFT JOIN with the ttl as a CASE, in the rows' order, COPY to Parquet.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FLOATS, INTS, log, sqlString, withDuckDb, type ChildResult } from './common.js';
import type { Data } from './data.js';
import { measurePhase, type VariantResult } from './measure.js';

/** Child phase `floor-setup`: the history into a DuckDB table. */
export async function floorLoad(dbPath: string, historyPath: string): Promise<ChildResult> {
  const started = performance.now();
  const rows = await withDuckDb(dbPath, async (db) => {
    await db.run(`CREATE TABLE history AS SELECT * FROM read_parquet(${sqlString(historyPath)})`);
    const reader = await db.runAndReadAll('SELECT count(*)::INTEGER FROM history');
    return reader.getRowsJS()[0]?.[0] as number;
  });
  return { seconds: (performance.now() - started) / 1000, rows };
}

/** Child phase `floor-run`: one ASOF JOIN, the ttl as a CASE, the rows' order kept (as TrainingSetExport promises). */
export async function floorJoin(dbPath: string, rowsPath: string, out: string, ttlDays: number): Promise<ChildResult> {
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

/** The floor's setup and run at one scale, each measured in its own child; `out` gets the training set. */
export async function runFloor(work: string, data: Data, out: string, ttlDays: number): Promise<VariantResult> {
  log('floor: loading the typed rows into a DuckDB table');
  const floorDb = join(work, 'floor.duckdb');
  const setup = await measurePhase('floor-setup', floorDb, data.history);
  log(`floor: ASOF JOIN (${setup.seconds.toFixed(1)} s of setup)`);
  const run = await measurePhase('floor-run', floorDb, data.rows, out, String(ttlDays));
  rmSync(floorDb, { force: true });
  return { setup, run };
}
