// Baselines: per segment when the segment has minValues values, else the population's; from a
// training-set file (Parquet, CSV, NDJSON) or built value by value; bad files named.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedSql } from '../../../../adapters/sources/embedded/index.js';
import { BaselineBuilder } from '../../../../materializers/monitor/baseline.js';
import { fileBaseline } from '../../../../materializers/monitor/baseline-file.js';
import { monitorRepo } from '../../../fixtures/monitor-repo.js';

const rating = { key: 'Shop.rating', kind: 'numeric' as const };
const registry = monitorRepo();
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fg-baseline-'));
  // Berlin: ratings 1..4 ten times each; Paris: four 5s (fewer than rating's minValues, 5).
  const rows: string[] = [];
  for (let i = 0; i < 40; i++) rows.push(`('s${i}', TIMESTAMP '2026-03-01 00:00:00', ${(i % 4) + 1}.0, 'Berlin', ${i % 2 === 0}, ['thai'])`);
  for (let i = 0; i < 4; i++) rows.push(`('p${i}', TIMESTAMP '2026-03-01 00:00:00', 5.0, 'Paris', false, ['pizza', 'thai'])`);
  const db = await EmbeddedSql.open(':memory:');
  await db.exec(`CREATE TABLE t ("shopId" VARCHAR, "asOf" TIMESTAMP, rating DOUBLE, city VARCHAR, "open" BOOLEAN, tags VARCHAR[]); INSERT INTO t VALUES ${rows.join(', ')}`);
  await db.exec(`COPY t TO '${join(dir, 'train.parquet')}' (FORMAT parquet)`);
  await db.exec(`COPY (SELECT "shopId", "asOf", rating FROM t) TO '${join(dir, 'no-segments.csv')}' (HEADER)`);
  await db.exec(`COPY (SELECT "shopId", "asOf", rating, city FROM t) TO '${join(dir, 'train.ndjson')}' (FORMAT json)`);
  await db.close();
  writeFileSync(join(dir, 'no-key.csv'), 'restaurantId,rating\nr1,3\n');
  writeFileSync(join(dir, 'no-feature.csv'), 'shopId,asOf,other\ns1,2026-03-01,3\n');
  writeFileSync(join(dir, 'two-keys.csv'), 'shopId,courierId,rating\ns1,c1,3\n');
});

test('a segment with minValues values gets its own bins; a smaller or unknown one, the population’s; too few overall, none', () => {
  const builder = new BaselineBuilder();
  for (let v = 1; v <= 40; v++) builder.add('served', rating, ['city=A'], 'PRESENT', v);
  for (let v = 100; v < 105; v++) builder.add('served', rating, ['city=B'], 'STALE', v);
  builder.add('served', rating, ['city=B'], 'MISSING', null);
  builder.add('served', rating, ['city=B'], 'PRESENT', null);
  const baseline = builder.build('test');
  const a = baseline.of('served', 'Shop.rating', 'city=A', 30);
  assert.equal(a?.values, 40);
  assert.deepEqual(a?.bins, { kind: 'numeric', edges: [4, 8, 12, 16, 20, 24, 28, 32, 36] });
  assert.deepEqual(a?.expected, new Array(10).fill(0.1));
  const b = baseline.of('served', 'Shop.rating', 'city=B', 30);
  assert.equal(b?.values, 45);
  assert.equal(baseline.of('served', 'Shop.rating', 'city=Nowhere', 30)?.values, 45);
  assert.equal(baseline.of('served', 'Shop.rating', 'city=B', 5)?.values, 5);
  assert.equal(baseline.of('served', 'Shop.rating', '*', 46), null);
  // A period's baseline is of one direction; another feature has none.
  assert.equal(baseline.of('incoming', 'Shop.rating', '*', 1), null);
  assert.equal(baseline.of('served', 'Shop.open', '*', 1), null);
});

test('past the sample cap, numbers are a uniform sample, the same one on every run', () => {
  const build = () => {
    const builder = new BaselineBuilder(100);
    for (let v = 0; v < 10_000; v++) builder.add('served', rating, [], 'PRESENT', v);
    return builder.build('capped').of('served', 'Shop.rating', '*', 1);
  };
  const first = build();
  assert.equal(first?.values, 10_000);
  assert.deepEqual(first, build());
  // Deciles of a uniform sample of 0..9999 lie near 1000, 2000, ...: well within a tenth of the range.
  const edges = first?.bins.kind === 'numeric' ? first.bins.edges : [];
  assert.equal(edges.length, 9);
  edges.forEach((edge, i) => assert.ok(Math.abs(edge - (i + 1) * 1000) < 1000, `edge ${i} is ${edge}`));
});

test('a training-set Parquet file: per-segment bins from its segment column, numbers, booleans and string lists', async () => {
  const baseline = await fileBaseline(registry, join(dir, 'train.parquet'));
  assert.match(baseline.description, /train\.parquet \(44 Shop rows\)/);
  const berlin = baseline.of('served', 'Shop.rating', 'city=Berlin', 5);
  // Sorted 1×10, 2×10, 3×10, 4×10: nearest-rank deciles 1,1,2,2,2,3,3,4,4.
  assert.deepEqual(berlin?.bins, { kind: 'numeric', edges: [1, 2, 3, 4] });
  assert.deepEqual(berlin?.expected, [0.25, 0.25, 0.25, 0.25, 0]);
  // Paris has 4 values, fewer than rating's minValues (5): the population's bins, for either direction.
  const paris = baseline.of('incoming', 'Shop.rating', 'city=Paris', 5);
  assert.equal(paris?.values, 44);
  assert.deepEqual(paris?.expected, [10 / 44, 10 / 44, 10 / 44, 10 / 44, 4 / 44]);
  const open = baseline.of('served', 'Shop.open', '*', 30);
  assert.deepEqual(open?.bins.kind === 'category' ? open.bins.categories : null, ['false', 'true']);
  assert.deepEqual(open?.expected, [24 / 44, 20 / 44, 0]);
  const tags = baseline.of('served', 'Shop.tags', '*', 30);
  assert.deepEqual(tags?.bins.kind === 'category' ? tags.bins.categories : null, ['thai', 'pizza']);
  assert.deepEqual(tags?.expected, [44 / 48, 4 / 48, 0]);
  // The segment feature is a monitored feature too.
  assert.deepEqual(baseline.of('served', 'Shop.city', '*', 30)?.expected, [40 / 44, 4 / 44, 0]);
});

test('a CSV without segment columns gives the population’s bins to every segment; NDJSON reads as well', async () => {
  const csv = await fileBaseline(registry, join(dir, 'no-segments.csv'));
  assert.equal(csv.of('served', 'Shop.rating', 'city=Berlin', 5)?.values, 44);
  assert.deepEqual(csv.of('served', 'Shop.rating', 'city=Berlin', 5), csv.of('served', 'Shop.rating', '*', 5));
  const ndjson = await fileBaseline(registry, join(dir, 'train.ndjson'));
  assert.equal(ndjson.of('served', 'Shop.rating', 'city=Berlin', 5)?.values, 40);
});

test('bad baseline files are refused, naming the flag, the file and what is missing', async () => {
  const where = { where: '--baseline' };
  await assert.rejects(fileBaseline(registry, join(dir, 'train.xlsx'), where), /--baseline must be a \.parquet, \.csv or \.ndjson file \(a training-set export\), got .*train\.xlsx/);
  await assert.rejects(fileBaseline(registry, join(dir, 'absent.csv'), where), /--baseline: cannot read .*absent\.csv/);
  await assert.rejects(fileBaseline(registry, join(dir, 'no-key.csv'), where), /no-key\.csv has no entity key column \(one of shopId \(Shop\), courierId \(Courier\)\); columns present: restaurantId, rating/);
  await assert.rejects(fileBaseline(registry, join(dir, 'no-feature.csv'), where), /no-feature\.csv has no column named after a monitored feature of Shop \(orders1h, revenue1h, city, rating, open, tags, score\); columns present: shopId, asOf, other/);
  await assert.rejects(fileBaseline(registry, join(dir, 'two-keys.csv'), where), /has the key columns of Shop and Courier: name the entity \(--entity\)/);
  await assert.rejects(fileBaseline(registry, join(dir, 'two-keys.csv'), { ...where, entity: 'Courier' }), /no column named after a monitored feature of Courier \(kmh\)/);
  assert.equal((await fileBaseline(registry, join(dir, 'two-keys.csv'), { ...where, entity: 'Shop' })).of('served', 'Shop.rating', '*', 1)?.values, 1);
});
