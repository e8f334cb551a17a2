// The training/serving skew check against a real gateway: a gateway answers online over the memory
// online store while the materializers write the same changes to the memory history store, on a
// controlled clock; its answers (values, featureMeta statuses, the clock's instant) become served-log
// records (test/fixtures/served-records.ts), which the skew checker recomputes with SERVED reads.
// Consistent data (the gateway and the monitor on one repo) gives no skew at all, through every
// status (PRESENT, STALE, EXPIRED, MISSING) and on both serving paths. A gateway whose repo computes
// etaMinutes differently from the monitor's (test/fixtures/skew-repos) is reported on etaMinutes
// alone, with its rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, T0, type Fixture } from './fixture.js';
import { servedRecords, servedSelection, type ServedInputs } from '../fixtures/served-records.js';
import { loadFeatureRepo } from '../../schema/load.js';
import type { FeatureRegistry, ResolvedEntity } from '../../schema/registry.js';
import type { ServedRecord } from '../../schema/served-log.js';
import { allSegments, segmentLabel } from '../../schema/health.js';
import { computeRequestFeature } from '../../schema/request-features.js';
import { WatermarkPublisher } from '../../materializers/watermarks.js';
import { createSkewChecker } from '../../materializers/monitor/skew.js';
import type { SkewResult } from '../../materializers/monitor/types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const trainingRepo = 'test/fixtures/skew-repos/training';
const driftedRepo = 'test/fixtures/skew-repos/drifted';
const restaurantIds = ['r1', 'r2', 'r3', 'r4', 'r5', 'nope'];
const userIds = ['u1', 'u2', 'u3', 'nobody'];

/** Asks every feature of every restaurant and user at the clock's instant: the records of that answer. */
async function serve(f: Fixture, step: number, inputs: ServedInputs): Promise<ServedRecord[]> {
  const restaurant = f.registry.entity('Restaurant');
  const user = f.registry.entity('User');
  const list = (entity: ResolvedEntity, keys: readonly string[], selection: string) => `${entity.names.list}(${entity.names.listKeys}: ${JSON.stringify(keys)}) ${selection}`;
  const query = `{ ${list(restaurant, restaurantIds, servedSelection(restaurant, inputs))} ${list(user, userIds, servedSelection(user, {}))} }`;
  const { body } = await f.query<Record<string, never[]>>(query);
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const data = body.data as Record<string, never[]>;
  return [
    ...servedRecords(restaurant, data[restaurant.names.list] ?? [], f.clock.now, inputs, `step${step}-r`),
    ...servedRecords(user, data[user.names.list] ?? [], f.clock.now, {}, `step${step}-u`),
  ];
}

/**
 * Orders, profiles and prep rollups materialized over nine days, the views' watermarks published as a
 * materializer does (online, then history), and the gateway asked at five instants: values PRESENT,
 * STALE (watermarks behind their SLA), EXPIRED (past the ttl) and MISSING (unknown keys, past retention),
 * a restaurant that moves city, one without a city.
 */
async function scenario(f: Fixture): Promise<ServedRecord[]> {
  const history = f.history;
  assert.ok(history);
  const watermarks = new WatermarkPublisher({ store: f.store, history, now: () => f.clock.now, nextFlush: 'at the next step' });
  const publish = async () => {
    for (const view of f.registry.views.keys()) watermarks.note(view, { e2e: f.clock.now });
    await watermarks.flush();
  };
  const cities = ['Berlin', 'Hamburg', 'Munich'];
  for (let r = 1; r <= 4; r++) f.rows.restaurants.upsert({ key: `r${r}`, eventTime: T0 - HOUR, values: { isOpen: r !== 3, menuSize: 10 * r, cuisineTags: r % 2 ? ['thai', 'noodles'] : ['pizza'], city: cities[r % 3] } });
  f.rows.restaurants.upsert({ key: 'r5', eventTime: T0 - HOUR, values: { isOpen: true, menuSize: 3, cuisineTags: [] } });
  for (let r = 1; r <= 3; r++) f.rows.restaurant_prep_stats.upsert({ key: `r${r}`, eventTime: T0 - 2 * HOUR, values: { AVG_PREP_SECONDS_7D: 500 + 37.3 * r } });
  f.rows.users.upsert({ key: 'u1', eventTime: T0 - HOUR, values: { favoriteCuisine: 'thai', country: 'DE' } });
  f.rows.users.upsert({ key: 'u2', eventTime: T0 - HOUR, values: { favoriteCuisine: 'pizza', country: 'AT' } });
  await f.refreshRows();
  for (let i = 1; i <= 6; i++) await f.order(`r${(i % 3) + 1}`, `u${(i % 2) + 1}`, T0 - i * 4 * MIN, 10 + i * 1.1);
  await publish();
  const records = await serve(f, 1, { etaMinutes: { distanceKm: 3.2 }, queryMatch: { query: 'thai soup' } });

  f.clock.now = T0 + 10 * MIN;
  await f.order('r4', 'u3', T0 + 9 * MIN, 31.5);
  await f.order('r1', 'u1', T0 + 2 * MIN, 8.25);
  f.rows.restaurants.upsert({ key: 'r2', eventTime: T0 + 5 * MIN, values: { isOpen: true, menuSize: 21, cuisineTags: ['pizza', 'pasta'], city: 'Hamburg' } });
  await f.refreshRows();
  // Watermarks still those of T0: the order activity (a 1m SLA) and the profiles (5m) read STALE.
  records.push(...(await serve(f, 2, { etaMinutes: { distanceKm: 7.5 }, queryMatch: { query: 'noodle bar' } })));

  f.clock.now = T0 + 40 * MIN;
  await f.order('r1', 'u2', T0 + 39 * MIN, 12);
  await publish();
  records.push(...(await serve(f, 3, { etaMinutes: { distanceKm: 0.4 }, queryMatch: { query: 'pizza' } })));

  // Past the order activity's ttl (2d): EXPIRED; windows decayed.
  f.clock.now = T0 + 3 * DAY;
  records.push(...(await serve(f, 4, { etaMinutes: { distanceKm: 12 }, queryMatch: { query: '' } })));

  // Past the order activity's retention (4d): MISSING; past the prep rollups' ttl (7d): EXPIRED.
  f.clock.now = T0 + 9 * DAY;
  records.push(...(await serve(f, 5, { etaMinutes: { distanceKm: 1 }, queryMatch: { query: 'thai' } })));
  return records;
}

/** How many records of `entity` each segment label has (allSegments: all of them). */
function recordsBySegment(registry: FeatureRegistry, records: readonly ServedRecord[], entityName: string): Map<string, number> {
  const entity = registry.entity(entityName);
  const out = new Map<string, number>();
  for (const record of records.filter((r) => r.entity === entityName)) {
    for (const label of [allSegments, ...entity.segments.map((s) => segmentLabel(s.name, record.segments[s.name] ?? null))]) out.set(label, (out.get(label) ?? 0) + 1);
  }
  return out;
}

/** Each feature's tallies as { label: [checked, skewed] }. */
function counts(result: SkewResult): Record<string, Record<string, [number, number]>> {
  return Object.fromEntries([...result].map(([feature, bySegment]) => [feature, Object.fromEntries([...bySegment].map(([label, t]) => [label, [t.checked, t.skewed]]))]));
}

/** Every feature of both entities, each record's segment counted, none skewed except `skewed` (feature -> label -> skewed). */
function expectedCounts(registry: FeatureRegistry, records: readonly ServedRecord[], skewed: Record<string, Map<string, number>> = {}): Record<string, Record<string, [number, number]>> {
  const out: Record<string, Record<string, [number, number]>> = {};
  for (const entity of registry.entities.values()) {
    const bySegment = recordsBySegment(registry, records, entity.name);
    for (const name of [...entity.features.keys(), ...entity.requestFeatures.keys()]) {
      const feature = `${entity.name}.${name}`;
      out[feature] = Object.fromEntries([...bySegment].map(([label, n]) => [label, [n, skewed[feature]?.get(label) ?? 0]]));
    }
  }
  return out;
}

for (const fastPath of [true, false]) {
  test(`consistent data gives zero skew on every feature and segment, through every status (${fastPath ? 'fast path' : 'Apollo'})`, async () => {
    const f = await startFixture({ repo: trainingRepo, fastPath });
    try {
      const records = await scenario(f);
      const statuses = new Set(records.flatMap((r) => Object.values(r.features).map((v) => v.status)));
      assert.deepEqual([...statuses].sort(), ['EXPIRED', 'MISSING', 'PRESENT', 'STALE']);
      const monitor = await loadFeatureRepo(trainingRepo);
      const result = await createSkewChecker({ registry: monitor, history: f.history! }).check(records, f.clock.now + 30_000);
      assert.deepEqual(counts(result), expectedCounts(monitor, records));
      assert.deepEqual(recordsBySegment(monitor, records, 'Restaurant'), new Map([[allSegments, 30], ['city=Hamburg', 14], ['city=Munich', 1], ['city=Berlin', 5], ['city=', 10]]));
    } finally {
      await f.close();
    }
  });
}

test('a request-time feature computed differently online is reported on that feature alone, with its rows', async () => {
  const f = await startFixture({ repo: driftedRepo });
  try {
    const records = await scenario(f);
    const monitor = await loadFeatureRepo(trainingRepo);
    const result = await createSkewChecker({ registry: monitor, history: f.history! }).check(records, f.clock.now + 30_000);
    // Every etaMinutes computed (its inputs not all MISSING) differs: the ride is reckoned at another speed.
    const computed = records.filter((r) => r.features.etaMinutes !== undefined && r.features.etaMinutes.status !== 'MISSING');
    assert.ok(computed.length >= 10, `${computed.length} etaMinutes computed`);
    const expected = expectedCounts(monitor, records, { 'Restaurant.etaMinutes': recordsBySegment(monitor, computed, 'Restaurant') });
    assert.deepEqual(counts(result), expected);

    const examples = result.get('Restaurant.etaMinutes')?.get(allSegments)?.examples ?? [];
    assert.equal(examples.length, 5);
    const eta = (registry: FeatureRegistry) => registry.entity('Restaurant').requestFeatures.get('etaMinutes')!;
    for (const example of examples) {
      const record = computed.find((r) => r.key === example.key && r.at === example.at)!;
      assert.ok(record, `${example.key} at ${example.at} is a logged row`);
      const inputs = { avgPrepSeconds7d: record.features.avgPrepSeconds7d!.value, ordersLast30m: record.features.ordersLast30m!.value };
      assert.deepEqual(example, {
        key: record.key,
        at: record.at,
        served: computeRequestFeature(eta(f.registry), record.inputs.etaMinutes!, inputs),
        servedStatus: record.features.etaMinutes!.status,
        recomputed: computeRequestFeature(eta(monitor), record.inputs.etaMinutes!, inputs),
        recomputedStatus: record.features.etaMinutes!.status,
        inputs: record.inputs.etaMinutes,
      });
      assert.notEqual(example.served, example.recomputed);
    }
  } finally {
    await f.close();
  }
});
