// Backfill rebuilds a view's history over a range, and an interrupted backfill resumes where it stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { MemoryRows } from '../../../../adapters/sources/memory/rows.js';
import { MemoryHistoryStore } from '../../../../adapters/history/memory/index.js';
import { MemoryCheckpointStore } from '../../../../adapters/checkpoints/index.js';
import { backfill, progressBar, type BackfillProgress } from '../../../../materializers/batch/backfill.js';
import type { HistoryRecord } from '../../../../adapters/history/types.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-05-01T00:00:00Z');

async function setup() {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const view = registry.view('restaurant_prep');
  const source = new MemoryRows('restaurant_prep_stats');
  for (let h = 0; h < 48; h++) for (let r = 1; r <= 5; r++) source.upsert({ key: `r${r}`, eventTime: T0 + h * HOUR, values: { AVG_PREP_SECONDS_7D: 600 + h + r } });
  return { view, source, history: new MemoryHistoryStore(), checkpoints: new MemoryCheckpointStore() };
}

async function all(history: MemoryHistoryStore): Promise<HistoryRecord[]> {
  const out: HistoryRecord[] = [];
  for await (const batch of history.scan({ view: 'restaurant_prep' })) out.push(...batch);
  return out;
}

test('backfill writes every row of the range to history, with availableTime on the view’s schedule', async () => {
  const { view, source, history, checkpoints } = await setup();
  const progress: BackfillProgress[] = [];
  const result = await backfill({ view, source, history, checkpoints, from: T0, to: T0 + 24 * HOUR, sliceMs: HOUR, onProgress: (p) => progress.push(p) });
  assert.deepEqual(result, { rows: 125, slices: 24, completed: true, resumedFrom: null });
  const records = await all(history);
  assert.equal(records.length, 125, 'hours 0..24 inclusive of the first instant: 25 hours x 5 restaurants');
  assert.deepEqual(records[0], { view: 'restaurant_prep', key: 'r1', id: `r1:${T0}`, eventTime: T0, availableTime: T0 + HOUR, values: { avgPrepSeconds7d: 601 } });
  assert.equal(progress.length, 24);
  assert.equal(progress.at(-1)?.slice, 24);
});

test('an interrupted backfill resumes after the last completed slice and ends with the same history', async () => {
  const { view, source, history, checkpoints } = await setup();
  const controller = new AbortController();
  let slices = 0;
  const first = await backfill({ view, source, history, checkpoints, from: T0, to: T0 + 48 * HOUR, sliceMs: HOUR, signal: controller.signal, onProgress: () => ++slices === 10 && controller.abort() });
  assert.equal(first.completed, false);
  assert.equal(first.slices, 10);
  const second = await backfill({ view, source, history, checkpoints, from: T0, to: T0 + 48 * HOUR, sliceMs: HOUR });
  assert.equal(second.completed, true);
  assert.equal(second.resumedFrom, T0 + 10 * HOUR);
  assert.equal(second.rows, 37 * 5, 'only the hours after the checkpoint (11..47) were read');
  const fresh = await setup();
  await backfill({ view: fresh.view, source: fresh.source, history: fresh.history, checkpoints: fresh.checkpoints, from: T0, to: T0 + 48 * HOUR, sliceMs: HOUR });
  assert.deepEqual(await all(history), await all(fresh.history));
});

test('an empty or reversed range is refused', async () => {
  const { view, source, history, checkpoints } = await setup();
  await assert.rejects(backfill({ view, source, history, checkpoints, from: T0, to: T0 }), /backfill range is empty/);
});

test('the progress bar prints a line per 10% when not on a terminal', () => {
  const lines: string[] = [];
  const bar = progressBar((t) => lines.push(t), false);
  for (let i = 1; i <= 20; i++) bar({ view: 'v', slice: i, slices: 20, rows: i * 10, rate: 100, etaMs: (20 - i) * 100, resumedFrom: null });
  assert.equal(lines.length, 11, 'the first slice, then one line per 10%');
  assert.match(lines.at(-1) ?? '', /^v \[#{30}\] 100% slice 20\/20, 200 rows \(100\/s, 0 s left\)\n$/);
});
