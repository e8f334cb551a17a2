// Point-in-time reads of the history-store conformance suite: seeded random histories (column and
// windowed views, ttl, equal timestamps, nulls, values of other types, missing fields, deletes, late
// data, views' watermark changes) read at instants on every edge that matters, in both modes; every store
// must answer exactly as the reference (pointInTimeReads). Then the freshness rule on a history made by
// hand: STALE by the watermark a SERVED read finds at asOf, never in EVENT_TIME, never without a
// watermark. Stores that export training sets must write the same values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { avg, buildRegistry, column, count, distinctCount, entity, featureView, kafkaTopic, last, max, min, snowflakeTable, sum, type ResolvedFeature } from '../../index.js';
import { changesByKey, pointInTimeReads, watermarkChanges } from '../../adapters/history/point-in-time.js';
import { lateIdSuffix } from '../../adapters/history/record-ids.js';
import type { HistoryRecord, HistoryStore, PointInTimeRow, TimeMode, ViewWatermark } from '../../adapters/history/types.js';
import type { FeatureRead } from '../../schema/snapshot.js';
import { exportedValue } from '../../schema/value-rules.js';
import { pick, seededRandom } from '../fixtures/stream.js';

export const BASE = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

const courier = entity({ name: 'Courier', key: 'courierId', description: 'history conformance entity' });
const profile = featureView({
  name: 'conf_courier_profile',
  entity: courier,
  source: snowflakeTable({ name: 'conf_courier_source', table: 'COURIERS', keyColumn: 'id', eventTimeColumn: 'updated_at' }),
  features: {
    trips: column({ type: 'Int' }),
    rating: column({ type: 'Float' }),
    city: column({ type: 'String' }),
    active: column({ type: 'Boolean' }),
    scores: column({ type: '[Float]' }),
    badges: column({ type: '[String]' }),
  },
  freshness: '5m',
  ttl: '40m',
  owner: 'tests',
  description: 'column view',
});
const deliveries = featureView({
  name: 'conf_courier_deliveries',
  entity: courier,
  source: kafkaTopic({ name: 'conf_deliveries', topic: 'conf_deliveries', keyField: 'courierId', eventTimeField: 'at', fields: { courierId: 'string', at: 'timestamp', fare: 'number', zone: 'string', shop: 'string', late: 'boolean' } }),
  features: {
    deliveries10m: count({ window: '10m' }),
    deliveries1h: count({ window: '1h' }),
    fare30m: sum({ field: 'fare', window: '30m' }),
    avgFare1h: avg({ field: 'fare', window: '1h' }),
    minFare30m: min({ field: 'fare', window: '30m' }),
    maxFare10m: max({ field: 'fare', window: '10m' }),
    lastZone1h: last({ field: 'zone', type: 'String', window: '1h' }),
    lastFare10m: last({ field: 'fare', type: 'Float', window: '10m' }),
    lastLate1h: last({ field: 'late', type: 'Boolean', window: '1h' }),
    shops1h: distinctCount({ field: 'shop', window: '1h' }),
  },
  freshness: '1m',
  ttl: '90m',
  owner: 'tests',
  description: 'windowed view',
});
/** A view of its own for the freshness rule's hand-made history: the random histories never touch it. */
const shifts = featureView({
  name: 'conf_courier_shifts',
  entity: courier,
  source: snowflakeTable({ name: 'conf_courier_shifts_source', table: 'SHIFTS', keyColumn: 'id', eventTimeColumn: 'updated_at' }),
  features: { onShift: column({ type: 'Boolean' }) },
  freshness: '2m',
  ttl: '1h',
  owner: 'tests',
  description: 'column view with watermarks made by hand',
});
const registry = buildRegistry([{ file: 'history-store-reads.ts', exports: { courier, profile, deliveries, shifts } }]);
const profileFeatures = registry.view('conf_courier_profile').features;
export const windowFeatures = registry.view('conf_courier_deliveries').features;
export const allFeatures: ResolvedFeature[] = [...profileFeatures, ...windowFeatures];

/**
 * A seeded history. Fares are quarters, exact in binary, so that sums do not depend on the order of
 * additions (which SQL engines do not promise). Rare oddities (a fare as text, an Int that is not one,
 * a shop that is a number or an array) take the stores' slow paths, if they have one.
 */
export function randomHistory(seed: number, keys: number, changesPerKey: number): HistoryRecord[] {
  const rng = seededRandom(seed);
  const int = (n: number) => Math.floor(rng() * n);
  const maybe = <T>(value: T): T | null => (rng() < 0.12 ? null : value);
  const out: HistoryRecord[] = [];
  for (let k = 0; k < keys; k++) {
    const key = `s${seed}-c${k}${k === 0 ? ` 'q' "d" é` : ''}`;
    const times: number[] = [];
    for (let n = 0; n < changesPerKey; n++) {
      const eventTime = times.length > 0 && rng() < 0.25 ? pick(rng, times) : BASE + int(180 * MINUTE);
      times.push(eventTime);
      // Late data: some changes become readable long after they happened.
      const availableTime = eventTime + (rng() < 0.15 ? int(90 * MINUTE) : rng() < 0.3 ? 0 : int(5000));
      const values: Record<string, unknown> = {
        trips: maybe(rng() < 0.03 ? 2.5 : int(500)),
        rating: maybe(int(500) / 100),
        city: maybe(pick(rng, ['Paris', 'Zürich', 'a "q" \\ b', ''])),
        active: maybe(rng() < 0.5),
        scores: maybe(rng() < 0.03 ? [1, 'x'] : [int(8) / 4, (int(8) - 4) / 2]),
        badges: maybe(pick(rng, [[], ['gold'], ['gold', 'fast']])),
      };
      if (rng() < 0.04) delete values.rating;
      // Some changes are late (record-ids.ts): SERVED reads must pass them over.
      out.push({ view: 'conf_courier_profile', key, id: `p:${seed}:${k}:${n}${rng() < 0.15 ? lateIdSuffix : ''}`, eventTime, availableTime, values, ...(rng() < 0.07 ? { deleted: true } : {}) });
      const event: Record<string, unknown> = {
        courierId: key,
        fare: rng() < 0.08 ? pick(rng, [null, 'n/a', '12', true]) : int(400) / 4,
        zone: maybe(pick(rng, ['north', 'south', 'east', 'west'])),
        shop: maybe(rng() < 0.04 ? pick(rng, [12, true, ['x'], 2.5, 1e21]) : pick(rng, ['s1', 's2', 's3', 's4', '12'])),
        late: maybe(rng() < 0.3),
      };
      if (rng() < 0.05) delete event.zone;
      out.push({ view: 'conf_courier_deliveries', key, id: `d:${seed}:${k}:${String(n).padStart(4, '0')}`, eventTime, availableTime: eventTime + (rng() < 0.1 ? int(60 * MINUTE) : int(3000)), values: event });
    }
  }
  return out;
}

/**
 * Watermark changes of both random views, as an online store makes them: `at` strictly increasing per
 * view over the history's span, the watermark some time before it (behind the view's SLA or not).
 */
export function randomWatermarks(seed: number): ViewWatermark[] {
  const rng = seededRandom(seed + 2000);
  const out: ViewWatermark[] = [];
  for (const [view, freshnessMs] of [['conf_courier_profile', 5 * MINUTE], ['conf_courier_deliveries', MINUTE]] as const) {
    for (let at = BASE + Math.floor(rng() * 20 * MINUTE); at < BASE + 300 * MINUTE; at += 1 + Math.floor(rng() * 8 * MINUTE)) {
      out.push({ view, at, watermark: at - Math.floor(rng() * 2 * freshnessMs) });
    }
  }
  return out;
}

/** Instants on the edges (event and available times, a ms either side, tile and ttl edges) and anywhere, plus unknown keys. */
export function randomRows(seed: number, history: readonly HistoryRecord[], count: number): PointInTimeRow[] {
  const rng = seededRandom(seed + 1000);
  return Array.from({ length: count }, () => {
    const change = pick(rng, history);
    const key = rng() < 0.05 ? `s${seed}-unknown` : change.key;
    const asOf = pick(rng, [
      change.eventTime,
      change.availableTime,
      change.eventTime - 1,
      change.availableTime + 1,
      Math.floor(change.eventTime / MINUTE) * MINUTE,
      change.eventTime + 40 * MINUTE,
      change.eventTime + 40 * MINUTE + 1,
      BASE + Math.floor(rng() * 300 * MINUTE),
    ]);
    return { key, asOf };
  });
}

const seeds = [11, 12, 13];

/** Registers the read tests in the caller's suite; `store()` is the suite's store. */
export function pointInTimeConformance(store: () => HistoryStore, traits: { exportsTrainingSets: boolean }): void {
  const appended: HistoryRecord[] = [];
  const appendedWatermarks: ViewWatermark[] = [];
  const reference = (features: readonly ResolvedFeature[], mode: TimeMode, rows: readonly PointInTimeRow[]): FeatureRead[][] =>
    pointInTimeReads(
      { features, mode },
      rows,
      (view) => changesByKey(appended.filter((record) => record.view === view.name)),
      (view) => watermarkChanges(appendedWatermarks.filter((change) => change.view === view.name)),
    );

  for (const seed of seeds) {
    test(`point-in-time reads equal the reference, both modes, column and windowed views (seed ${seed})`, async () => {
      const history = randomHistory(seed, 8, 30);
      // In three appends, one repeated: what a replay does must not show in reads.
      await store().append(history.slice(0, 200));
      await store().append(history.slice(100));
      appended.push(...history);
      // Watermark changes likewise, in two appends that overlap and in no particular order.
      const watermarks = randomWatermarks(seed).sort((a, b) => (a.at % 7) - (b.at % 7));
      await store().appendWatermarks(watermarks.slice(0, 40));
      await store().appendWatermarks(watermarks.slice(20));
      appendedWatermarks.push(...watermarks);
      const rows = randomRows(seed, history, 400);
      for (const mode of ['EVENT_TIME', 'SERVED'] as const) {
        for (const features of [allFeatures, profileFeatures.slice(1, 3), [windowFeatures[3] as ResolvedFeature, profileFeatures[0] as ResolvedFeature]]) {
          const got = await store().readAsOf({ features, mode }, rows);
          const want = reference(features, mode, rows);
          for (let i = 0; i < rows.length; i++) assert.deepEqual(got[i], want[i], `${mode} row ${i} ${JSON.stringify(rows[i])}`);
          assert.equal(got.length, rows.length);
          // The random history reaches every status (STALE only in SERVED reads); a test that only ever saw MISSING would prove little.
          if (features === allFeatures) assert.deepEqual([...new Set(got.flat().map((read) => read.status))].sort(), mode === 'SERVED' ? ['EXPIRED', 'MISSING', 'PRESENT', 'STALE'] : ['EXPIRED', 'MISSING', 'PRESENT']);
        }
      }
    });
  }

  test('point-in-time reads of no rows, and of keys with no history, read nothing and MISSING', async () => {
    assert.deepEqual(await store().readAsOf({ features: allFeatures, mode: 'EVENT_TIME' }, []), []);
    const [reads] = await store().readAsOf({ features: allFeatures, mode: 'SERVED' }, [{ key: 'nobody', asOf: BASE }]);
    assert.deepEqual(reads?.map((read) => read.status), allFeatures.map(() => 'MISSING'));
  });

  test('freshness: a SERVED read is STALE when the watermark the view had at asOf is past its SLA, whatever the value\'s age; never without one, never in EVENT_TIME; EXPIRED and MISSING win', async () => {
    const [onShift] = registry.view('conf_courier_shifts').features as [ResolvedFeature];
    await store().append([{ view: 'conf_courier_shifts', key: 'w1', id: 'w1:1', eventTime: BASE, availableTime: BASE, values: { onShift: true } }]);
    // Appended out of order, one again with another watermark (ignored: the first of a (view, at) stays).
    await store().appendWatermarks([
      { view: 'conf_courier_shifts', at: BASE + 20 * MINUTE, watermark: BASE + 19 * MINUTE },
      { view: 'conf_courier_shifts', at: BASE + 10 * MINUTE, watermark: BASE + 9 * MINUTE },
    ]);
    await store().appendWatermarks([{ view: 'conf_courier_shifts', at: BASE + 10 * MINUTE, watermark: BASE }]);
    const read = async (mode: TimeMode, key: string, asOf: number) => ((await store().readAsOf({ features: [onShift], mode }, [{ key, asOf }]))[0] as FeatureRead[])[0] as FeatureRead;
    const value = (asOf: number, status: FeatureRead['status'], watermark: number | null): FeatureRead => ({ feature: 'onShift', status, value: true, eventTime: BASE, availableTime: BASE, ageMs: asOf - BASE, watermark });
    const at = (minutes: number) => BASE + minutes * MINUTE;
    // Before the first change: no watermark, never STALE, though the value is past the 2m SLA.
    assert.deepEqual(await read('SERVED', 'w1', at(5)), value(at(5), 'PRESENT', null));
    assert.deepEqual(await read('SERVED', 'w1', at(10) - 1), value(at(10) - 1, 'PRESENT', null));
    assert.deepEqual(await read('SERVED', 'w1', at(10)), value(at(10), 'PRESENT', at(9)));
    assert.deepEqual(await read('SERVED', 'w1', at(11)), value(at(11), 'PRESENT', at(9)), 'exactly the SLA behind is not past it');
    assert.deepEqual(await read('SERVED', 'w1', at(11) + 1), value(at(11) + 1, 'STALE', at(9)));
    assert.deepEqual(await read('SERVED', 'w1', at(20) - 1), value(at(20) - 1, 'STALE', at(9)));
    assert.deepEqual(await read('SERVED', 'w1', at(20)), value(at(20), 'PRESENT', at(19)));
    assert.deepEqual(await read('SERVED', 'w1', at(21) + 1), value(at(21) + 1, 'STALE', at(19)));
    assert.deepEqual(await read('EVENT_TIME', 'w1', at(30)), value(at(30), 'PRESENT', null));
    assert.deepEqual(await read('SERVED', 'nobody', at(30)), { feature: 'onShift', status: 'MISSING', value: null, eventTime: null, availableTime: null, ageMs: null, watermark: at(19) });
    assert.deepEqual(await read('SERVED', 'w1', at(61)), { ...value(at(61), 'EXPIRED', at(19)), value: null });
  });

  // Registered only for stores that export: a store that does not is not skipped, it has no such test.
  if (traits.exportsTrainingSets) test('a training-set export writes what readAsOf reads, null where a value does not fit its typed column, in the rows order', async () => {
    const exporter = store();
    assert.ok(exporter.exportTrainingSet !== undefined, `${exporter.name} exports training sets, so it has exportTrainingSet`);
    const history = randomHistory(21, 6, 25);
    await exporter.append(history);
    appended.push(...history);
    const rows = randomRows(21, history, 300);
    const dir = mkdtempSync(join(tmpdir(), 'featuregraph-export-'));
    const db = await (await DuckDBInstance.create(':memory:')).connect();
    try {
      // asOf as ISO text in the CSV, a request-time input riding along.
      const csv = ['courier,at,tip', ...rows.map((row, i) => `"${row.key.replaceAll('"', '""')}",${new Date(row.asOf).toISOString()},${i % 7}`)].join('\n');
      writeFileSync(join(dir, 'rows.csv'), `${csv}\n`);
      for (const mode of ['EVENT_TIME', 'SERVED'] as const) {
        const out = join(dir, `out-${mode}.parquet`);
        const progress: [number, number][] = [];
        const result = await exporter.exportTrainingSet({ query: { features: allFeatures, mode }, rows: { path: join(dir, 'rows.csv'), keyColumn: 'courier', asOfColumn: 'at' }, out, onProgress: (done, total) => progress.push([done, total]) });
        assert.equal(result.rows, rows.length);
        assert.deepEqual(progress.at(-1), [rows.length, rows.length]);
        const reader = await db.runAndReadAll(`SELECT * EXCLUDE ("at"), epoch_ms("at") AS at_ms FROM read_parquet('${out.replaceAll("'", "''")}')`);
        assert.deepEqual(reader.columnNames(), ['courier', 'tip', ...allFeatures.map((f) => f.name), 'at_ms']);
        const exported = reader.getRowObjectsJS();
        const reads = await exporter.readAsOf({ features: allFeatures, mode }, rows);
        rows.forEach((row, i) => {
          const line = exported[i] as Record<string, unknown>;
          assert.equal(line.courier, row.key);
          assert.equal(Number(line.at_ms), row.asOf);
          assert.equal(Number(line.tip), i % 7);
          allFeatures.forEach((feature, f) => {
            const read = reads[i]?.[f] as FeatureRead;
            // MISSING and EXPIRED read null; a value that does not fit its type exports as null.
            const want = exportedValue(feature.type, read.value);
            assert.deepEqual(plain(line[feature.name]), want, `${mode} row ${i} ${feature.name}`);
          });
        });
      }
    } finally {
      db.closeSync();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

const plain = (value: unknown): unknown => (typeof value === 'bigint' ? Number(value) : Array.isArray(value) ? value.map(plain) : value);
