// The health engine: served rows from the served log and incoming rows from the history store, per
// segment (every value seen, and *) and interval, checked against values worked out by hand; skew
// mapped from the skew checker; drift of one segment seen by PSI; bad queries refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryHistoryStore } from '../../../../adapters/history/memory/index.js';
import type { HistoryRecord } from '../../../../adapters/history/types.js';
import type { HealthRow, SkewExample } from '../../../../schema/health.js';
import type { ServedRecord, ServedValue } from '../../../../schema/served-log.js';
import type { FeatureValue } from '../../../../schema/types.js';
import { periodBaseline } from '../../../../materializers/monitor/baseline-period.js';
import { monitoredFeatures } from '../../../../materializers/monitor/features.js';
import { createHealthEngine } from '../../../../materializers/monitor/health.js';
import type { SkewChecker, SkewResult } from '../../../../materializers/monitor/types.js';
import { monitorRepo } from '../../../fixtures/monitor-repo.js';
import { ArrayServedLog } from '../../../fixtures/served-log-memory.js';

const registry = monitorRepo();
const T0 = Date.parse('2026-03-01T00:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

let seq = 0;
function served(at: number, city: FeatureValue, features: Record<string, ServedValue>, key = `s${seq}`): ServedRecord {
  return { id: `req${++seq}:0`, at, entity: 'Shop', key, segments: { city }, features, inputs: {} };
}
const present = (value: FeatureValue): ServedValue => ({ value, status: 'PRESENT' });

/** The fields a test compares: who, where, when, and the numbers. */
const brief = (row: HealthRow) => ({ segment: row.segment, from: row.from, values: row.values, missingRate: row.missingRate, staleRate: row.staleRate, nullRate: row.nullRate, mean: row.mean });

test('served rows: every segment seen and *, per interval, statuses as logged; an empty segment keeps its row', async () => {
  const log = new ArrayServedLog();
  await log.append([
    ...[4, 4, 4].map((r) => served(T0 + 5 * MIN, 'Berlin', { rating: present(r), open: present(true) })),
    served(T0 + 6 * MIN, 'Berlin', { rating: { value: null, status: 'MISSING' } }),
    ...[2, 2].map((r) => served(T0 + 7 * MIN, 'Paris', { rating: { value: r, status: 'STALE' } })),
    served(T0 + 8 * MIN, 'Paris', { rating: present(null) }),
    served(T0 + HOUR + MIN, 'Berlin', { rating: present(5) }),
    // Outside the range: not counted.
    served(T0 + 2 * HOUR, 'Rome', { rating: present(1) }),
  ]);
  const engine = createHealthEngine({ registry, servedLog: log, history: null });
  const rows = await engine.health({ from: T0, to: T0 + 2 * HOUR, intervalMs: HOUR, features: ['rating'] });
  assert.deepEqual(rows.map(brief), [
    { segment: '*', from: T0, values: 7, missingRate: 1 / 7, staleRate: 2 / 7, nullRate: 1 / 6, mean: 16 / 5 },
    { segment: '*', from: T0 + HOUR, values: 1, missingRate: 0, staleRate: 0, nullRate: 0, mean: 5 },
    { segment: 'city=Berlin', from: T0, values: 4, missingRate: 1 / 4, staleRate: 0, nullRate: 0, mean: 4 },
    { segment: 'city=Berlin', from: T0 + HOUR, values: 1, missingRate: 0, staleRate: 0, nullRate: 0, mean: 5 },
    { segment: 'city=Paris', from: T0, values: 3, missingRate: 0, staleRate: 2 / 3, nullRate: 1 / 3, mean: 2 },
    { segment: 'city=Paris', from: T0 + HOUR, values: 0, missingRate: 0, staleRate: 0, nullRate: 0, mean: null },
  ]);
  const first = rows[0] as HealthRow;
  assert.deepEqual(
    { feature: first.feature, entity: first.entity, view: first.view, owner: first.owner, direction: first.direction, to: first.to, psi: first.psi, skewChecked: first.skewChecked, skewRate: first.skewRate, skewExamples: first.skewExamples },
    { feature: 'rating', entity: 'Shop', view: 'shop_profile', owner: 'catalog-team', direction: 'served', to: T0 + HOUR, psi: null, skewChecked: 0, skewRate: null, skewExamples: [] },
  );
  // Only Shop's features were asked: the log was read for Shop only.
  assert.deepEqual(log.reads, [{ from: T0, to: T0 + 2 * HOUR, entity: 'Shop' }]);
  // The whole range is one interval by default; a segment filter keeps that segment's rows.
  const berlin = await engine.health({ from: T0, to: T0 + 2 * HOUR, features: ['Shop.rating', 'open', 'score'], segment: 'city=Berlin' });
  assert.deepEqual(berlin.map((r) => [r.feature, r.segment, r.values, r.categories]), [
    ['rating', 'city=Berlin', 5, []],
    ['open', 'city=Berlin', 3, [{ value: 'true', share: 1 }]],
    ['score', 'city=Berlin', 0, []],
  ]);
});

test('incoming rows: each change read back asOf its event time (a window counts, a delete is MISSING), segments read with it', async () => {
  const history = new MemoryHistoryStore();
  const profile = (key: string, id: string, eventTime: number, values: Record<string, FeatureValue>, deleted = false): HistoryRecord => ({ view: 'shop_profile', key, id, eventTime, availableTime: eventTime + 1000, values, ...(deleted ? { deleted } : {}) });
  const order = (key: string, id: string, eventTime: number, total: number): HistoryRecord => ({ view: 'shop_activity', key, id, eventTime, availableTime: eventTime + 1000, values: { shopId: key, createdAt: eventTime, total } });
  await history.append([
    profile('s1', 'p1', T0 - DAY, { city: 'Berlin', rating: 4, open: true, tags: ['a'] }),
    profile('s2', 'p2', T0 - DAY, { city: 'Paris', rating: 3, open: true, tags: ['b'] }),
    profile('s3', 'p3', T0 - DAY, { city: 'Paris', rating: 2, open: false, tags: [] }),
    profile('s2', 'p2b', T0 + 10 * MIN, { city: 'Paris', rating: 1, open: true, tags: ['b'] }),
    profile('s3', 'p3b', T0 + 30 * MIN, {}, true),
    order('s1', 'orders:0:1', T0 + MIN, 10),
    order('s1', 'orders:0:2', T0 + 2 * MIN, 20),
    // Two events at one instant: one change to read, the window holding both.
    order('s1', 'orders:0:3', T0 + 3 * MIN, 30),
    order('s1', 'orders:0:4', T0 + 3 * MIN, 0),
    order('s2', 'orders:0:5', T0 + 5 * MIN, 5),
    order('s2', 'orders:0:6', T0 + HOUR, 7),
  ]);
  const engine = createHealthEngine({ registry, servedLog: null, history, readRows: 2 });
  const rows = await engine.health({ from: T0, to: T0 + HOUR, features: ['orders1h', 'revenue1h', 'rating', 'score'] });
  const table = rows.map((r) => [r.feature, r.segment, r.direction, r.values, r.missingRate, r.mean]);
  assert.deepEqual(table, [
    ['orders1h', '*', 'incoming', 4, 0, (1 + 2 + 4 + 1) / 4],
    ['orders1h', 'city=', 'incoming', 0, 0, null],
    ['orders1h', 'city=Berlin', 'incoming', 3, 0, 7 / 3],
    ['orders1h', 'city=Paris', 'incoming', 1, 0, 1],
    ['revenue1h', '*', 'incoming', 4, 0, (10 + 30 + 60 + 5) / 4],
    ['revenue1h', 'city=', 'incoming', 0, 0, null],
    ['revenue1h', 'city=Berlin', 'incoming', 3, 0, 100 / 3],
    ['revenue1h', 'city=Paris', 'incoming', 1, 0, 5],
    // s2's change reads rating 1 in Paris; s3's delete reads MISSING, and its city with it: "city=".
    ['rating', '*', 'incoming', 2, 0.5, 1],
    ['rating', 'city=', 'incoming', 1, 1, null],
    ['rating', 'city=Berlin', 'incoming', 0, 0, null],
    ['rating', 'city=Paris', 'incoming', 1, 0, 1],
  ]);
  assert.ok(rows.every((r) => r.skewRate === null && r.skewChecked === 0));
});

test('served rows carry the skew checker’s tallies of the interval’s records, by feature and segment', async () => {
  const log = new ArrayServedLog();
  await log.append([
    served(T0 + MIN, 'Berlin', { rating: present(4) }),
    served(T0 + 2 * MIN, 'Paris', { rating: present(3) }),
    served(T0 + HOUR + MIN, 'Berlin', { rating: present(4) }),
  ]);
  const example: SkewExample = { key: 's1', at: T0 + MIN, served: 4, servedStatus: 'PRESENT', recomputed: 3, recomputedStatus: 'PRESENT', inputs: null };
  const calls: { ids: string[]; now: number }[] = [];
  const skew: SkewChecker = {
    async check(records, now) {
      calls.push({ ids: records.map((r) => r.id), now });
      const result: SkewResult = new Map();
      if (records.some((r) => r.at < T0 + HOUR)) {
        result.set(
          'Shop.rating',
          new Map([
            ['*', { checked: 4, skewed: 1, examples: [example] }],
            ['city=Berlin', { checked: 2, skewed: 1, examples: [example] }],
          ]),
        );
      }
      return result;
    },
  };
  const history = new MemoryHistoryStore();
  const engine = createHealthEngine({ registry, servedLog: log, history, skew, now: () => T0 + 3 * HOUR });
  const rows = await engine.health({ from: T0, to: T0 + 3 * HOUR, intervalMs: HOUR, features: ['rating'] });
  assert.deepEqual(calls, [
    { ids: [log.records[0]?.id, log.records[1]?.id], now: T0 + 3 * HOUR },
    { ids: [log.records[2]?.id], now: T0 + 3 * HOUR },
  ]);
  const skewOf = (direction: string, segment: string, from: number) => {
    const row = rows.find((r) => r.direction === direction && r.segment === segment && r.from === from) as HealthRow;
    return [row.skewChecked, row.skewRate, row.skewExamples.length];
  };
  assert.deepEqual(skewOf('served', '*', T0), [4, 0.25, 1]);
  assert.deepEqual(skewOf('served', 'city=Berlin', T0), [2, 0.5, 1]);
  assert.deepEqual(skewOf('served', 'city=Paris', T0), [0, null, 0]);
  assert.deepEqual(skewOf('served', '*', T0 + HOUR), [0, null, 0]);
  // No record in the third interval: nothing to check.
  assert.deepEqual(skewOf('served', '*', T0 + 2 * HOUR), [0, null, 0]);
  assert.deepEqual(skewOf('incoming', '*', T0), [0, null, 0]);
});

test('drift injected into one segment: PSI above the threshold there, 0 where the distribution is the same', async () => {
  const log = new ArrayServedLog(50);
  const ratings = (shift: number) => Array.from({ length: 50 }, (_, i) => 1 + (i % 5) * 0.5 + shift);
  for (const [from, parisShift] of [[T0 - DAY, 0], [T0, 2.5]] as const) {
    await log.append(ratings(0).map((r, i) => served(from + i * MIN, 'Berlin', { rating: present(r) })));
    await log.append(ratings(parisShift).map((r, i) => served(from + i * MIN, 'Paris', { rating: present(r) })));
  }
  const features = monitoredFeatures(registry, { features: ['rating'] });
  const baseline = await periodBaseline({ servedLog: log, history: null }, features, { from: T0 - DAY, to: T0 }, ['served']);
  const engine = createHealthEngine({ registry, servedLog: log, history: null, baseline });
  const rows = await engine.health({ from: T0, to: T0 + HOUR, features: ['rating'] });
  const psiOf = (segment: string) => rows.find((r) => r.segment === segment)?.psi;
  assert.equal(psiOf('city=Berlin'), 0);
  const drift = registry.entities.get('Shop')?.features.get('rating')?.monitor.drift as number;
  assert.ok((psiOf('city=Paris') as number) > drift, `Paris psi ${psiOf('city=Paris')}`);
  assert.ok((psiOf('*') as number) > 0 && (psiOf('*') as number) < (psiOf('city=Paris') as number));
  // The shift took Paris's top ratings past the range [0, 5].
  assert.equal(rows.find((r) => r.segment === 'city=Paris')?.outOfRangeRate, 0.2);
  // The baseline period compared with itself: no drift anywhere.
  const same = await engine.health({ from: T0 - DAY, to: T0, features: ['rating'] });
  assert.deepEqual(same.map((r) => r.psi), [0, 0, 0]);
});

test('features whose monitor is off have no rows; an entity without segments has * only; absent sources give no rows', async () => {
  const log = new ArrayServedLog();
  await log.append([served(T0, 'Berlin', { note: present('x'), rating: present(1) }), { id: 'c:0', at: T0, entity: 'Courier', key: 'c1', segments: {}, features: { kmh: present(20) }, inputs: {} }]);
  const engine = createHealthEngine({ registry, servedLog: log, history: null });
  const rows = await engine.health({ from: T0, to: T0 + HOUR });
  assert.ok(!rows.some((r) => r.feature === 'note'));
  assert.deepEqual(
    rows.filter((r) => r.entity === 'Courier').map((r) => [r.feature, r.segment, r.direction, r.values]),
    [['kmh', '*', 'served', 1]],
  );
  assert.deepEqual([...new Set(rows.map((r) => r.direction))], ['served']);
  assert.deepEqual(await createHealthEngine({ registry, servedLog: null, history: null }).health({ from: T0, to: T0 + HOUR }), []);
  const wholes = await engine.health({ from: T0, to: T0 + HOUR, segment: '*' });
  assert.ok(wholes.length > 0 && wholes.every((r) => r.segment === '*'));
});

test('bad queries are refused, saying what is wrong', async () => {
  const engine = createHealthEngine({ registry, servedLog: new ArrayServedLog(), history: null });
  const refused = (query: Parameters<typeof engine.health>[0], message: RegExp) => assert.rejects(engine.health(query), message);
  await refused({ from: T0, to: T0 }, /from \(2026-03-01T00:00:00.000Z\) must be before to \(2026-03-01T00:00:00.000Z\)/);
  await refused({ from: T0, to: T0 + HOUR, intervalMs: 0 }, /interval must be a positive number of milliseconds, got 0/);
  await refused({ from: T0, to: T0 + DAY, intervalMs: 1 }, /86400000 intervals of 1 ms in the range; at most 10000/);
  await refused({ from: T0, to: T0 + HOUR, features: ['nope'] }, /unknown feature "nope"; features: Shop.orders1h, .*Courier.kmh/);
  await refused({ from: T0, to: T0 + HOUR, features: ['note'] }, /feature "note" is not monitored \(its monitor is off\)/);
  await refused({ from: T0, to: T0 + HOUR, entity: 'Ghost' }, /unknown entity "Ghost"; known: Shop, Courier/);
  await refused({ from: T0, to: T0 + HOUR, segment: 'town=Berlin' }, /segment must be "\*" \(whole populations\) or a segment feature and value \(city=VALUE\), got "town=Berlin"/);
  await refused({ from: T0, to: T0 + HOUR, entity: 'Courier', segment: 'city=Berlin' }, /\(the entities asked have no segments\)/);
  await refused({ from: T0, to: T0 + HOUR, direction: 'sideways' as 'served' }, /direction must be served or incoming, got "sideways"/);
});
