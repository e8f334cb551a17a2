// The seed scenario's training set: ordersLast30m for 10,000 (restaurant, instant) rows, SERVED next to
// EVENT_TIME. The demo's day of orders goes through the stream materializer into a history store, each
// change stamped with when it really became readable: a few seconds after the order (consume, tile,
// write) and, during a 10-minute materializer outage, only once the materializer was back and had
// caught up. SERVED then gives what the online store answered at each instant, staleness included;
// EVENT_TIME what had happened. The summary says where and by how much they differ.
//
//   node --import tsx examples/food-delivery/training-set.ts [--rows 10000] [--outage-minutes 10]
//        [--seed 7] [--history history.duckdb] [--out DIR]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadFeatureRepo } from '../../schema/load.js';
import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import { MemoryHistoryStore } from '../../adapters/history/memory/index.js';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';
import type { HistoryRecord, HistoryStore, TimeMode } from '../../adapters/history/types.js';
import { EmbeddedSql } from '../../adapters/sources/embedded/index.js';
import { startMaterializers } from '../../materializers/runtime.js';
import { exportTrainingSet } from '../../gateway/training-set.js';
import { createDemo, pastLagMs, random, restaurantIds } from './demo.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

export interface ScenarioOptions {
  rows?: number;
  outageMinutes?: number;
  seed?: number;
  /** An embedded history file; default a memory store. */
  history?: string;
  /** Where the rows and the two Parquet files go; default a fresh temp folder. */
  out?: string;
  /** The instant the demo starts at (its day of orders ends there); default now, to the minute. */
  at?: number;
  log?: (line: string) => void;
}

export interface ModeSummary {
  rows: number;
  differ: number;
  meanAbsDiff: number;
  maxAbsDiff: number;
}

export interface ScenarioResult {
  files: Record<TimeMode, string>;
  outage: { from: number; to: number };
  all: ModeSummary;
  inOutage: ModeSummary;
  outsideOutage: ModeSummary;
  /** Rows where SERVED counted fewer orders than had happened (it can never count more). */
  servedLower: number;
  servedHigher: number;
  exportMs: Record<TimeMode, number>;
}

export async function runScenario(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const log = options.log ?? (() => {});
  const rows = options.rows ?? 10_000;
  const rand = random(options.seed ?? 7);
  const at = options.at ?? Math.floor(Date.now() / MIN) * MIN;
  const now = () => at;
  // The outage: six hours before the end of the day, the stream materializer was down for 10 minutes;
  // back up, it needed a minute to catch up on what had queued.
  const outage = { from: at - 6 * HOUR, to: at - 6 * HOUR + (options.outageMinutes ?? 10) * MIN };
  const catchUpMs = MIN;
  const availability = (record: HistoryRecord): number => {
    const lag = pastLagMs[record.view] ?? MIN;
    if (!record.view.endsWith('order_activity')) return record.eventTime + lag;
    if (record.eventTime >= outage.from && record.eventTime < outage.to) return outage.to + catchUpMs * ((record.eventTime - outage.from) / (outage.to - outage.from));
    // Normal operation: the usual couple of seconds, sometimes more (a slow batch, a rebalance).
    return record.eventTime + lag / 2 + Math.floor(-Math.log(1 - rand()) * lag);
  };

  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const history: HistoryStore = options.history ? await EmbeddedHistoryStore.open(options.history) : new MemoryHistoryStore();
  const demo = createDemo({ now, seed: options.seed ?? 7, pastAvailability: availability });
  const dir = options.out ?? mkdtempSync(join(tmpdir(), 'featuregraph-seed-training-set-'));
  try {
    await demo.start();
    const runtime = await startMaterializers({ registry, store: new MemoryOnlineStore({ now }), bindings: demo.bindings, history: demo.recordHistory(history), now });
    await demo.caughtUp(runtime);
    await runtime.stop();
    await demo.stop();
    log(`history: ${await history.count('restaurant_order_activity')} orders of the last 24 h, materializer outage ${new Date(outage.from).toISOString()} to ${new Date(outage.to).toISOString()}`);

    // Rows: restaurants weighted as the demo's traffic is (popular ones often), instants over the last
    // 23 hours (so each 30-minute window lies inside the day), one in ten during or just after the outage.
    const lines = ['restaurantId,asOf'];
    for (let i = 0; i < rows; i++) {
      const id = restaurantIds[Math.floor(Math.pow(rand(), 2) * restaurantIds.length)] as string;
      const t = i % 10 === 0 ? outage.from + Math.floor(rand() * (outage.to - outage.from + 2 * catchUpMs)) : at - Math.floor(rand() * 23 * HOUR);
      lines.push(`${id},${new Date(t).toISOString()}`);
    }
    const rowsPath = join(dir, 'rows.csv');
    writeFileSync(rowsPath, `${lines.join('\n')}\n`);

    const files = { SERVED: join(dir, 'served.parquet'), EVENT_TIME: join(dir, 'event-time.parquet') };
    const exportMs = { SERVED: 0, EVENT_TIME: 0 };
    for (const mode of ['SERVED', 'EVENT_TIME'] as const) {
      const started = performance.now();
      await exportTrainingSet({ registry, history, features: ['ordersLast30m'], mode, rowsPath, out: files[mode], now: at });
      exportMs[mode] = Math.round(performance.now() - started);
      log(`${mode}: ${files[mode]} in ${exportMs[mode]} ms`);
    }
    return { files, outage, exportMs, ...(await summarize(files, outage, catchUpMs)) };
  } finally {
    await history.close();
  }
}

async function summarize(files: Record<TimeMode, string>, outage: { from: number; to: number }, catchUpMs: number): Promise<Omit<ScenarioResult, 'files' | 'outage' | 'exportMs'>> {
  const db = await EmbeddedSql.open(':memory:');
  try {
    // The two files keep the rows' order: row i of one is row i of the other. Null (no orders yet) counts as 0.
    await db.exec(`CREATE TABLE pairs AS
      SELECT s.restaurantId, epoch_ms(s."asOf") AS t, coalesce(s.ordersLast30m, 0) AS served, coalesce(e.ordersLast30m, 0) AS event
      FROM (SELECT *, row_number() OVER () AS n FROM read_parquet('${files.SERVED}')) s
      JOIN (SELECT *, row_number() OVER () AS n FROM read_parquet('${files.EVENT_TIME}')) e USING (n)`);
    const summary = async (where: string): Promise<ModeSummary> => {
      const [r] = await db.query(`SELECT count(*) AS n, count(*) FILTER (WHERE served <> event) AS differ, coalesce(avg(abs(served - event)), 0) AS mad, coalesce(max(abs(served - event)), 0) AS mx FROM pairs WHERE ${where}`);
      return { rows: Number(r?.n), differ: Number(r?.differ), meanAbsDiff: Number(r?.mad), maxAbsDiff: Number(r?.mx) };
    };
    const inOutage = `t >= ${outage.from} AND t < ${outage.to + catchUpMs}`;
    const [sides] = await db.query(`SELECT count(*) FILTER (WHERE served < event) AS lower, count(*) FILTER (WHERE served > event) AS higher FROM pairs`);
    return { all: await summary('true'), inOutage: await summary(inOutage), outsideOutage: await summary(`NOT (${inOutage})`), servedLower: Number(sides?.lower), servedHigher: Number(sides?.higher) };
  } finally {
    await db.close();
  }
}

export function formatSummary(result: ScenarioResult): string {
  const line = (label: string, s: ModeSummary) =>
    `  ${label.padEnd(34)} ${String(s.rows).padStart(6)} ${String(s.differ).padStart(7)} ${`${((100 * s.differ) / Math.max(1, s.rows)).toFixed(1)}%`.padStart(7)} ${s.meanAbsDiff.toFixed(3).padStart(10)} ${String(s.maxAbsDiff).padStart(5)}`;
  const iso = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  return [
    `ordersLast30m, SERVED next to EVENT_TIME (outage ${iso(result.outage.from)}-${iso(result.outage.to)} UTC):`,
    `  ${'rows'.padEnd(34)} ${'rows'.padStart(6)} ${'differ'.padStart(7)} ${'share'.padStart(7)} ${'mean |d|'.padStart(10)} ${'max'.padStart(5)}`,
    line('all', result.all),
    line('asOf in the outage (+ catch-up)', result.inOutage),
    line('asOf outside it (materializer lag)', result.outsideOutage),
    `  SERVED counted fewer orders than had happened in ${result.servedLower} rows, more in ${result.servedHigher}.`,
    `  files: ${result.files.SERVED} and ${result.files.EVENT_TIME} (${result.exportMs.SERVED} and ${result.exportMs.EVENT_TIME} ms)`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rows: { type: 'string' }, 'outage-minutes': { type: 'string' }, seed: { type: 'string' }, history: { type: 'string' }, out: { type: 'string' }, at: { type: 'string' } } });
  const number = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const result = await runScenario({
    rows: number(values.rows),
    outageMinutes: number(values['outage-minutes']),
    seed: number(values.seed),
    history: values.history,
    out: values.out,
    at: values.at === undefined ? undefined : Date.parse(values.at),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${formatSummary(result)}\n`);
}
