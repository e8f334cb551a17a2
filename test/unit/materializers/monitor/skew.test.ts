// The skew checker's rules over hand-made history and served records (test/e2e/skew.test.ts runs it
// against a real gateway): which records it checks (settled ones; an even sample past maxRecords),
// what counts as skew (status or value; numbers within 1e-9 relative, lists element-wise; a failed
// request-time computation), how it counts per segment, what it leaves out, and its options' messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryHistoryStore } from '../../../../adapters/history/memory/index.js';
import type { HistoryRecord } from '../../../../adapters/history/types.js';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { computeRequestFeature } from '../../../../schema/request-features.js';
import type { ServedRecord, ServedValue } from '../../../../schema/served-log.js';
import { allSegments } from '../../../../schema/health.js';
import { createSkewChecker } from '../../../../materializers/monitor/skew.js';
import type { SkewResult } from '../../../../materializers/monitor/types.js';

const T0 = Date.parse('2026-06-01T12:00:00.000Z');
const MIN = 60_000;
const registry = await loadFeatureRepo('test/fixtures/skew-repos/training');

/** r1 (Berlin) and r2 (Hamburg): profiles and prep rollups written at T0 - 1h, r1 one order at T0 - 10 min. */
async function history(): Promise<MemoryHistoryStore> {
  const store = new MemoryHistoryStore();
  const at = T0 - 60 * MIN;
  const records: HistoryRecord[] = [
    { view: 'restaurant_profile', key: 'r1', id: 'p1', eventTime: at, availableTime: at, values: { isOpen: true, menuSize: 10, cuisineTags: ['thai', 'noodles'], city: 'Berlin' } },
    { view: 'restaurant_profile', key: 'r2', id: 'p2', eventTime: at, availableTime: at, values: { isOpen: false, menuSize: 20, cuisineTags: ['pizza'], city: 'Hamburg' } },
    { view: 'restaurant_prep', key: 'r1', id: 's1', eventTime: at, availableTime: at, values: { avgPrepSeconds7d: 512.3 } },
    { view: 'restaurant_prep', key: 'r2', id: 's2', eventTime: at, availableTime: at, values: { avgPrepSeconds7d: 600 } },
    { view: 'restaurant_order_activity', key: 'r1', id: 'orders:0:1', eventTime: T0 - 10 * MIN, availableTime: T0 - 10 * MIN, values: { orderId: 'o1', restaurantId: 'r1', userId: 'u1', createdAt: new Date(T0 - 10 * MIN).toISOString(), totalPrice: 12, cuisine: 'thai' } },
  ];
  await store.append(records);
  return store;
}

const present = (value: ServedValue['value']): ServedValue => ({ value, status: 'PRESENT' });

/** A restaurant record at `at` with the given features (the rest not logged). */
function record(id: string, key: string, at: number, features: Record<string, ServedValue>, inputs: ServedRecord['inputs'] = {}): ServedRecord {
  return { id, at, entity: 'Restaurant', key, segments: { city: key === 'r1' ? 'Berlin' : key === 'r2' ? 'Hamburg' : null }, features, inputs };
}

const tally = (result: SkewResult, feature: string, label = allSegments) => result.get(feature)?.get(label);

test('a logged value agrees when status and value match; numbers within 1e-9 relative, lists element by element', async () => {
  const checker = createSkewChecker({ registry, history: await history() });
  const result = await checker.check(
    [
      record('a', 'r1', T0, { menuSize: present(10), avgPrepSeconds7d: present(512.3 * (1 + 1e-12)), cuisineTags: present(['thai', 'noodles']), isOpen: present(true), ordersLast30m: present(1) }),
      record('b', 'r2', T0, { menuSize: present(21), avgPrepSeconds7d: present(600.001), cuisineTags: present(['pizza', 'pasta']), isOpen: present(true), ordersLast30m: { value: null, status: 'MISSING' } }),
    ],
    T0 + MIN,
  );
  assert.deepEqual(
    Object.fromEntries([...result].map(([feature, bySegment]) => [feature, [bySegment.get(allSegments)?.checked, bySegment.get(allSegments)?.skewed]])),
    { 'Restaurant.menuSize': [2, 1], 'Restaurant.avgPrepSeconds7d': [2, 1], 'Restaurant.cuisineTags': [2, 1], 'Restaurant.isOpen': [2, 1], 'Restaurant.ordersLast30m': [2, 0] },
  );
  assert.deepEqual(tally(result, 'Restaurant.cuisineTags')?.examples, [{ key: 'r2', at: T0, served: ['pizza', 'pasta'], servedStatus: 'PRESENT', recomputed: ['pizza'], recomputedStatus: 'PRESENT', inputs: null }]);
});

test('a logged MISSING against a recomputed PRESENT is skew, and so is a logged PRESENT against a recomputed MISSING', async () => {
  const checker = createSkewChecker({ registry, history: await history() });
  const result = await checker.check(
    [record('a', 'r1', T0, { menuSize: { value: null, status: 'MISSING' } }), record('b', 'r3', T0, { menuSize: present(null) }), record('c', 'r2', T0, { menuSize: present(20) })],
    T0 + MIN,
  );
  assert.deepEqual(tally(result, 'Restaurant.menuSize'), {
    checked: 3,
    skewed: 2,
    examples: [
      { key: 'r1', at: T0, served: null, servedStatus: 'MISSING', recomputed: 10, recomputedStatus: 'PRESENT', inputs: null },
      { key: 'r3', at: T0, served: null, servedStatus: 'PRESENT', recomputed: null, recomputedStatus: 'MISSING', inputs: null },
    ],
  });
});

test('request-time features are computed with the logged arguments; one whose computation fails agrees only with a null', async () => {
  const checker = createSkewChecker({ registry, history: await history() });
  const eta = registry.entity('Restaurant').requestFeatures.get('etaMinutes')!;
  const expected = computeRequestFeature(eta, { distanceKm: 4 }, { avgPrepSeconds7d: 512.3, ordersLast30m: 1 });
  const result = await checker.check(
    [
      record('a', 'r1', T0, { etaMinutes: present(expected) }, { etaMinutes: { distanceKm: 4 } }),
      record('b', 'r1', T0, { etaMinutes: present(expected) }, { etaMinutes: { distanceKm: 5 } }),
      // Out of the function's range: it throws, online and in the recomputation.
      record('c', 'r1', T0, { etaMinutes: present(null) }, { etaMinutes: { distanceKm: 500 } }),
      record('d', 'r1', T0, { etaMinutes: present(40) }, { etaMinutes: { distanceKm: 500 } }),
      // Every input MISSING: no value, status MISSING.
      record('e', 'nope', T0, { etaMinutes: { value: null, status: 'MISSING' } }, { etaMinutes: { distanceKm: 4 } }),
    ],
    T0 + MIN,
  );
  assert.deepEqual(tally(result, 'Restaurant.etaMinutes'), {
    checked: 5,
    skewed: 2,
    examples: [
      { key: 'r1', at: T0, served: expected, servedStatus: 'PRESENT', recomputed: computeRequestFeature(eta, { distanceKm: 5 }, { avgPrepSeconds7d: 512.3, ordersLast30m: 1 }), recomputedStatus: 'PRESENT', inputs: { distanceKm: 5 } },
      { key: 'r1', at: T0, served: 40, servedStatus: 'PRESENT', recomputed: null, recomputedStatus: 'FAILED', inputs: { distanceKm: 500 } },
    ],
  });
});

test('counts by the segment label of each record (a segment value not logged under "city="), and for the whole population', async () => {
  const checker = createSkewChecker({ registry, history: await history() });
  const result = await checker.check(
    [record('a', 'r1', T0, { menuSize: present(10) }), record('b', 'r2', T0, { menuSize: present(1) }), record('c', 'r2', T0, { menuSize: present(20) }), record('d', 'r9', T0, { menuSize: { value: null, status: 'MISSING' } })],
    T0 + MIN,
  );
  const bySegment = result.get('Restaurant.menuSize')!;
  assert.deepEqual(
    Object.fromEntries([...bySegment].map(([label, t]) => [label, [t.checked, t.skewed, t.examples.map((e) => e.key)]])),
    { '*': [4, 1, ['r2']], 'city=Berlin': [1, 0, []], 'city=Hamburg': [2, 1, ['r2']], 'city=': [1, 0, []] },
  );
});

test('records logged less than settleMs before now are not checked', async () => {
  const checker = createSkewChecker({ registry, history: await history(), settleMs: 30_000 });
  const now = T0 + 60_000;
  const result = await checker.check([record('a', 'r1', now - 30_000, { menuSize: present(10) }), record('b', 'r1', now - 29_999, { menuSize: present(10) }), record('c', 'r1', now, { menuSize: present(10) })], now);
  assert.equal(tally(result, 'Restaurant.menuSize')?.checked, 1);
  assert.equal((await checker.check([record('c', 'r1', now, { menuSize: present(10) })], now)).size, 0);
});

test('past maxRecords the records checked are spread evenly over all of them, not the first ones', async () => {
  const checker = createSkewChecker({ registry, history: await history(), maxRecords: 4 });
  // Every record disagrees, so that the examples name each one checked.
  const records = Array.from({ length: 20 }, (_, i) => record(`x${i}`, 'r1', T0 + i * 1000, { menuSize: present(100 + i) }));
  const checked = tally(await checker.check(records, T0 + 10 * MIN), 'Restaurant.menuSize');
  assert.equal(checked?.checked, 4);
  assert.deepEqual(
    checked?.examples.map((e) => e.served),
    [100, 105, 110, 115],
  );
});

test('entities and features the monitor does not define, and views the history store holds nothing of, are not checked', async () => {
  const checker = createSkewChecker({ registry, history: await history() });
  const records: ServedRecord[] = [
    { ...record('a', 'r1', T0, { menuSize: present(10), renamedFeature: present(3) }) },
    { id: 'u', at: T0, entity: 'Courier', key: 'c1', segments: {}, features: { speed: present(3) }, inputs: {} },
    // The user views have no history at all in this store: a training set would refuse them.
    { id: 'v', at: T0, entity: 'User', key: 'u1', segments: { country: 'DE' }, features: { favoriteCuisine: present('thai') }, inputs: {} },
  ];
  const result = await checker.check(records, T0 + MIN);
  assert.deepEqual([...result.keys()], ['Restaurant.menuSize']);
});

test('options are checked where they enter, each named with its contract and the bad value', async () => {
  const store = await history();
  assert.throws(() => createSkewChecker({ registry, history: store, settleMs: -1 }), { code: 'INVALID_CONFIG', message: `skew checker: settleMs (ms) must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got -1` });
  assert.throws(() => createSkewChecker({ registry, history: store, settleMs: 1.5, maxRecords: 0 }), {
    code: 'INVALID_CONFIG',
    message: `2 problems in the options:\n  - skew checker: settleMs (ms) must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got 1.5\n  - skew checker: maxRecords must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got 0`,
  });
});
