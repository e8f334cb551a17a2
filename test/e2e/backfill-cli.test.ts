// `featuregraph backfill` end to end on the embedded stores: a DuckDB table as the source, a DuckDB
// history file as the target; an interrupted backfill resumes and ends with the same history.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { SharedEmbeddedHistoryStore } from '../../adapters/history/embedded/shared.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EmbeddedSql } from '../../adapters/sources/embedded/index.js';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';

const bin = resolve('bin/featuregraph.mjs');
const interruptOnProgress = pathToFileURL(resolve('test/fixtures/interrupt-on-progress.mjs')).href;
const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
let dir: string;
let config: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fg-backfill-'));
  const db = await EmbeddedSql.open(join(dir, 'warehouse.duckdb'));
  await db.exec('CREATE TABLE RESTAURANT_PREP_STATS (RESTAURANT_ID VARCHAR, COMPUTED_AT TIMESTAMP, AVG_PREP_SECONDS_7D DOUBLE)');
  const rows = [];
  for (let h = 0; h < 48; h++) for (let r = 1; r <= 20; r++) rows.push({ RESTAURANT_ID: `r${r}`, COMPUTED_AT: new Date(T0 + h * HOUR), AVG_PREP_SECONDS_7D: 500 + h + r / 10 });
  await db.insertRows('RESTAURANT_PREP_STATS', rows);
  await db.close();
  config = join(dir, 'featuregraph.json');
  writeFileSync(config, JSON.stringify({ sources: { batch: { type: 'embedded', path: join(dir, 'warehouse.duckdb') } } }));
});

async function historyCount(path: string): Promise<number> {
  const store = await EmbeddedHistoryStore.open(path);
  try {
    return await store.count('restaurant_prep');
  } finally {
    await store.close();
  }
}

test('backfill appends every row of the range to the history file, with progress', async () => {
  const history = join(dir, 'full.duckdb');
  const run = spawnSync(process.execPath, [bin, 'backfill', '--config', config, '--view', 'restaurant_prep', '--from', iso(T0), '--to', iso(T0 + 48 * HOUR), '--slice', '1h', '--history', history], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /backfilled restaurant_prep from 2026-03-01T00:00:00.000Z to 2026-03-03T00:00:00.000Z: 960 rows this run, 960 in its history/);
  assert.match(run.stderr, /restaurant_prep \[#{30}\] 100% slice 48\/48, 960 rows/);
  assert.equal(await historyCount(history), 960);
});

test('an interrupted backfill stops after a slice and the same command resumes it', async () => {
  const history = join(dir, 'resumed.duckdb');
  const args = [bin, 'backfill', '--config', config, '--view', 'restaurant_prep', '--from', iso(T0), '--to', iso(T0 + 48 * HOUR), '--slice', '10m', '--history', history];
  // The child sends itself SIGINT after its first progress line, so the interruption cannot come
  // after the run ended, however busy the machine (the handler is the CLI's own, as for Ctrl-C).
  const child = spawn(process.execPath, ['--import', interruptOnProgress, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted: stopping after the slice in progress/);
  assert.match(stderr, /run the same command again to resume/);
  const stopped = /stopped after (\d+) slices/.exec(stderr);
  assert.ok(stopped && Number(stopped[1]) < 288, `stopped part way: ${stderr}`);
  const partial = await historyCount(history);
  assert.ok(partial > 0 && partial < 960, `only part was written before the interruption (${partial})`);
  const again = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /resumed from 2026-03-0/);
  assert.match(again.stdout, /960 in its history/);
  assert.equal(await historyCount(history), 960);
});

test('backfill into a history file another process has open (a gateway): it appends through that process', async () => {
  const history = join(dir, 'held.duckdb');
  const held = await SharedEmbeddedHistoryStore.open(history);
  try {
    assert.equal(held.owner, true);
    // Asynchronous: the owner is this process, which must keep answering while the backfill runs.
    const child = spawn(process.execPath, [bin, 'backfill', '--config', config, '--view', 'restaurant_prep', '--from', iso(T0), '--to', iso(T0 + 48 * HOUR), '--slice', '6h', '--history', history], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 0, stderr);
    assert.match(stderr, new RegExp(`owned by pid ${process.pid}; this process \\(pid ${child.pid}\\) reads and appends through`));
    assert.match(stdout, /960 rows this run, 960 in its history/);
    assert.equal(await held.count('restaurant_prep'), 960);
    // Its progress is kept beside the history, in the owner's file.
    assert.notEqual(await held.get(`backfill:restaurant_prep:${T0}:${T0 + 48 * HOUR}`), null);
  } finally {
    await held.close();
  }
});

test('bad arguments are named', () => {
  const run = (...extra: string[]) => spawnSync(process.execPath, [bin, 'backfill', '--config', config, ...extra], { encoding: 'utf8', timeout: 30_000 });
  assert.match(run('--view', 'restaurant_prep', '--from', 'yesterday', '--to', iso(T0)).stderr, /^featuregraph backfill: --from "yesterday" is not an instant: it is neither ISO-8601 text nor epoch milliseconds; accepted: ISO-8601/);
  assert.match(run('--view', 'restaurant_prep', '--from', iso(T0), '--to', iso(T0 - 1)).stderr, /must be before --to/);
  assert.match(run('--view', 'nope', '--from', iso(T0), '--to', iso(T0 + HOUR), '--history', join(dir, 'x.duckdb')).stderr, /unknown feature view "nope"/);
  assert.match(run('--view', 'restaurant_order_activity', '--from', iso(T0), '--to', iso(T0 + HOUR), '--history', join(dir, 'x.duckdb')).stderr, /reads a stream/);
  assert.match(run('--view', 'restaurant_prep', '--from', iso(T0), '--to', iso(T0 + HOUR)).stderr, /give --history FILE/);
});
