// `featuregraph health` end to end on an embedded history file and the demo repo: incoming rows per
// city as a table and as JSON lines, drift against a training-set file and a past period, and every
// bad flag named in one line.
import { test, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';
import type { HistoryRecord } from '../../adapters/history/types.js';
import { loadFeatureRepo } from '../../schema/load.js';
import { health as healthCommand } from '../../gateway/commands/health.js';
import type { FlagValues } from '../../gateway/commands/command.js';

const bin = resolve('bin/featuregraph.mjs');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-02T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
let dir: string;
let history: string;

/** Restaurants r1 (Berlin) and r2 (Hamburg); the day before T0 both take an order every 10 minutes, in the hour after T0 r1 every 10 and r2 every 2. */
function records(): HistoryRecord[] {
  const out: HistoryRecord[] = [];
  let seq = 0;
  const order = (key: string, at: number) => out.push({ view: 'restaurant_order_activity', key, id: `orders:0:${++seq}`, eventTime: at, availableTime: at + 1000, values: { orderId: `o${seq}`, restaurantId: key, userId: 'u1', createdAt: iso(at), totalPrice: 20, cuisine: 'thai' } });
  for (const [key, city] of [['r1', 'Berlin'], ['r2', 'Hamburg']] as const) {
    out.push({ view: 'restaurant_profile', key, id: `${key}:p`, eventTime: T0 - 2 * DAY, availableTime: T0 - 2 * DAY + 1000, values: { isOpen: true, menuSize: 12, cuisineTags: ['thai'], city } });
  }
  for (let at = T0 - DAY; at < T0; at += 10 * MIN) {
    order('r1', at);
    order('r2', at + MIN);
  }
  for (let at = T0; at < T0 + HOUR; at += 10 * MIN) order('r1', at);
  for (let at = T0; at < T0 + HOUR; at += 2 * MIN) order('r2', at + 30_000);
  return out;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fg-health-'));
  history = join(dir, 'history.duckdb');
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const store = await EmbeddedHistoryStore.open(history, { views: registry.views.values() });
  await store.append(records());
  await store.close();
  // A training set of the day before: ordersLast30m 3 for both cities.
  writeFileSync(join(dir, 'train.csv'), `restaurantId,asOf,ordersLast30m,city\n${Array.from({ length: 40 }, (_, i) => `r${(i % 2) + 1},${iso(T0 - DAY + i * MIN)},3,${i % 2 ? 'Hamburg' : 'Berlin'}`).join('\n')}\n`);
});

function health(...args: string[]) {
  return spawnSync(process.execPath, [bin, 'health', ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** Flags as the CLI parses them, for the refusals, which come before anything is computed (run in process: fast). */
const parse = (args: string[]): FlagValues => parseArgs({ args, options: healthCommand.options, strict: true }).values as FlagValues;

const range = () => ['--history', history, '--from', iso(T0), '--to', iso(T0 + HOUR)];

test('a table of incoming rows per city', () => {
  const run = health(...range(), '--feature', 'ordersLast30m', '--direction', 'incoming');
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trimEnd().split('\n');
  assert.deepEqual(lines[0]?.split(/\s+/), ['feature', 'segment', 'direction', 'values', 'missing%', 'stale%', 'null%', 'range%', 'mean', 'p50', 'p99', 'psi', 'skew']);
  // Berlin: 6 orders in the hour, each with 3 in its 30 minutes; Hamburg: 30, busier and busier.
  assert.match(lines[1] ?? '', /^Restaurant\.ordersLast30m\s+\*\s+incoming\s+36\s+0\.0\s+0\.0\s+0\.0\s+0\.0\s+10\.58\s/);
  assert.match(lines[2] ?? '', /^Restaurant\.ordersLast30m\s+city=Berlin\s+incoming\s+6\s+0\.0\s+0\.0\s+0\.0\s+0\.0\s+3\s.*\s-\s+-$/);
  assert.match(lines[3] ?? '', /^Restaurant\.ordersLast30m\s+city=Hamburg\s+incoming\s+30\s+0\.0\s+0\.0\s+0\.0\s+0\.0\s+12\.1\s/);
  assert.equal(lines.length, 4);
  // Columns line up: every line is as long as the header, or shorter by trailing space only.
  assert.ok(lines.every((line) => line.length === (lines[0] as string).length));
  assert.match(run.stderr, /health of 1 features from 2026-03-02T00:00:00.000Z to 2026-03-02T01:00:00.000Z; baseline: none/);
});

test('JSON lines against a training-set file: Hamburg drifted, Berlin did not', () => {
  const run = health(...range(), '--feature', 'ordersLast30m', '--direction', 'incoming', '--baseline', join(dir, 'train.csv'), '--json');
  assert.equal(run.status, 0, run.stderr);
  const rows = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(rows.map((r) => [r.feature, r.entity, r.view, r.owner, r.segment, r.direction, r.from, r.to, r.values]), [
    ['ordersLast30m', 'Restaurant', 'restaurant_order_activity', 'eta-team', '*', 'incoming', iso(T0), iso(T0 + HOUR), 36],
    ['ordersLast30m', 'Restaurant', 'restaurant_order_activity', 'eta-team', 'city=Berlin', 'incoming', iso(T0), iso(T0 + HOUR), 6],
    ['ordersLast30m', 'Restaurant', 'restaurant_order_activity', 'eta-team', 'city=Hamburg', 'incoming', iso(T0), iso(T0 + HOUR), 30],
  ]);
  // The baseline is all 3s: bins (<= 3) and (> 3). Berlin is all 3s too; Hamburg's 30 values hold 3
  // at most once (the first order), the rest above.
  const psi = (segment: string) => rows.find((r) => r.segment === segment)?.psi as number;
  assert.equal(psi('city=Berlin'), 0);
  assert.ok(psi('city=Hamburg') > 0.2, `Hamburg psi ${psi('city=Hamburg')}`);
  assert.match(run.stderr, /baseline: file .*train\.csv \(40 Restaurant rows\)/);
});

test('per interval, against the day before as the baseline period', () => {
  const run = health(...range(), '--feature', 'ordersLast30m', '--segment', 'city=Berlin', '--interval', '30m', '--baseline-from', iso(T0 - DAY), '--baseline-to', iso(T0), '--direction', 'incoming', '--json');
  assert.equal(run.status, 0, run.stderr);
  const rows = run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(rows.map((r) => [r.segment, r.from, r.values, r.psi]), [
    ['city=Berlin', iso(T0), 3, 0],
    ['city=Berlin', iso(T0 + 30 * MIN), 3, 0],
  ]);
  assert.doesNotMatch(run.stderr, /served:/);
});

test('--help teaches the command: every flag, the defaults, examples', () => {
  for (const flag of Object.keys(healthCommand.options)) assert.match(healthCommand.help, new RegExp(`--${flag}\\b`), `--${flag} is not in the help`);
  assert.match(healthCommand.help, /default the hour before now/);
  assert.match(healthCommand.help, /Examples:\n  featuregraph health --history/);
});

describe('bad flags are refused in one line naming the flag', () => {
  const refused = (args: string[], message: RegExp) => assert.rejects(healthCommand.run(parse(args)), message);
  test('times, durations, directions, baselines', async () => {
    await refused(['--from', 'yesterday'], /--from "yesterday" is not an instant: it is neither ISO-8601 text nor epoch milliseconds; accepted: ISO-8601/);
    await refused(['--from', iso(T0), '--to', iso(T0)], /--from \(2026-03-02T00:00:00.000Z\) must be before --to \(2026-03-02T00:00:00.000Z\)/);
    await refused(['--interval', '5x'], /--interval must be a duration such as 15m, 1h or 1d, got "5x"/);
    await refused(['--from', iso(T0), '--to', iso(T0 + DAY), '--interval', '1ms'], /--interval: 86400000 intervals of 1 ms in the range; at most 10000/);
    await refused(['--direction', 'sideways'], /--direction must be served or incoming, got "sideways"/);
    await refused(['--baseline', 'train.csv', '--baseline-from', iso(T0)], /--baseline FILE and --baseline-from\/--baseline-to are two kinds of baseline: give one/);
    await refused(['--baseline-from', iso(T0 - DAY)], /--baseline-from and --baseline-to go together: the past period to compare with, got only --baseline-from/);
    await refused(['--baseline-from', iso(T0), '--baseline-to', iso(T0 - DAY)], /--baseline-from \(2026-03-02T00:00:00.000Z\) must be before --baseline-to/);
  });
  test('features, entities, segments, files and sources', async () => {
    await refused(['--history', history, '--feature', 'nope'], /--feature: unknown feature "nope"; features: Restaurant\.ordersLast30m/);
    await refused(['--history', history, '--entity', 'Ghost'], /--entity: unknown entity "Ghost"; known: Restaurant, User/);
    await refused(['--history', history, '--segment', 'town=Berlin'], /--segment must be "\*" \(whole populations\) or a segment feature and value \(city=VALUE, country=VALUE\), got "town=Berlin"/);
    await refused(['--history', join(dir, 'absent.duckdb')], /history file .*absent\.duckdb does not exist/);
    // A memory history: its served log would be a gateway's memory, which no command reads.
    await refused(['--direction', 'served'], /nothing to compute for --direction served: no served log and no history store could be read/);
    await refused([...range(), '--baseline', join(dir, 'train.xlsx')], /--baseline must be a \.parquet, \.csv or \.ndjson file/);
  });
});
