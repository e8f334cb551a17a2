// Training-set exports to Parquet: `featuregraph training-set` over an embedded history file and
// POST /training-set on the gateway, both modes, request-time features from input columns, checked
// against the reference point-in-time reads and against the GraphQL training set; bad input named.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddedSql } from '../../adapters/sources/embedded/index.js';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';
import { SharedEmbeddedHistoryStore } from '../../adapters/history/embedded/shared.js';
import { changesByKey, pointInTimeReads } from '../../adapters/history/point-in-time.js';
import type { HistoryRecord, TimeMode } from '../../adapters/history/types.js';
import type { FeatureRegistry } from '../../schema/registry.js';
import type { FeatureRead } from '../../schema/snapshot.js';
import type { FeatureValue } from '../../schema/types.js';
import { loadFeatureRepo } from '../../schema/load.js';
import { computeRequestFeature } from '../../schema/request-features.js';
import { startFixture, T0, type Fixture } from './fixture.js';
import { readParquet } from '../fixtures/parquet.js';

const bin = resolve('bin/featuregraph.mjs');
const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();

/** r1..r4: orders every few minutes over 3 hours (late during an outage), profiles and prep rollups. */
function historyRecords(): HistoryRecord[] {
  const records: HistoryRecord[] = [];
  let seq = 0;
  for (let r = 1; r <= 4; r++) {
    const key = `r${r}`;
    for (let t = T0 - 3 * HOUR + r * MIN; t < T0; t += (3 + r) * MIN) {
      const lag = t > T0 - 60 * MIN && t < T0 - 50 * MIN ? T0 - 50 * MIN - t : 3_000;
      records.push({ view: 'restaurant_order_activity', key, id: `orders:0:${++seq}`, eventTime: t, availableTime: t + lag, values: { orderId: `o${seq}`, restaurantId: key, userId: 'u1', createdAt: iso(t), totalPrice: 10 + r, cuisine: 'thai' } });
    }
    records.push({ view: 'restaurant_profile', key, id: `${key}:p1`, eventTime: T0 - 4 * HOUR, availableTime: T0 - 4 * HOUR + 30_000, values: { isOpen: true, menuSize: 10 * r, cuisineTags: r % 2 ? ['thai', 'noodles'] : ['pizza'] } });
    records.push({ view: 'restaurant_profile', key, id: `${key}:p2`, eventTime: T0 - 40 * MIN, availableTime: T0 - 30 * MIN, values: { isOpen: r !== 2, menuSize: 10 * r + 1, cuisineTags: r % 2 ? ['thai', 'noodles'] : ['pizza'] } });
    for (let h = 5; h >= 1; h--) records.push({ view: 'restaurant_prep', key, id: `${key}:${h}`, eventTime: T0 - h * HOUR, availableTime: T0 - h * HOUR + MIN, values: { avgPrepSeconds7d: 500 + 10 * r + h } });
  }
  return records;
}

interface Row {
  restaurantId: string;
  asOf: number;
  distanceKm: number;
  query: string;
}

const rowsOf = (n: number): Row[] => Array.from({ length: n }, (_, i) => ({ restaurantId: i % 9 === 8 ? 'nope' : `r${(i % 4) + 1}`, asOf: T0 - ((i * 7919) % (3 * HOUR)), distanceKm: (i % 10) + 0.5, query: i % 3 ? 'thai' : 'pizza place' }));

const features = ['ordersLast30m', 'avgPrepSeconds7d', 'isOpen', 'cuisineTags', 'etaMinutes', 'queryMatch'];

/** The expected output rows: reference reads, request-time features by the same function. */
function reference(registry: FeatureRegistry, records: readonly HistoryRecord[], rows: readonly Row[], mode: TimeMode): Record<string, unknown>[] {
  const entity = registry.entity('Restaurant');
  const stored = [...entity.features.values()];
  const reads = pointInTimeReads({ features: stored, mode }, rows.map((r) => ({ key: r.restaurantId, asOf: r.asOf })), (view) => changesByKey(records.filter((r) => r.view === view.name)));
  return rows.map((row, i) => {
    const byName = new Map((reads[i] as FeatureRead[]).map((read) => [read.feature, read]));
    const value = (n: string) => byName.get(n)!.value as FeatureValue;
    const request = (name: string, args: Record<string, string | number>) => {
      const feature = entity.requestFeatures.get(name)!;
      if (feature.inputs.every((input) => byName.get(input.name)!.status === 'MISSING')) return null;
      return computeRequestFeature(feature, args, Object.fromEntries(feature.inputs.map((input) => [input.name, value(input.name)])));
    };
    return {
      restaurantId: row.restaurantId,
      asOf: iso(row.asOf),
      distanceKm: row.distanceKm,
      query: row.query,
      ordersLast30m: value('ordersLast30m'),
      avgPrepSeconds7d: value('avgPrepSeconds7d'),
      isOpen: value('isOpen'),
      cuisineTags: value('cuisineTags'),
      etaMinutes: request('etaMinutes', { distanceKm: row.distanceKm }),
      queryMatch: request('queryMatch', { query: row.query }),
    };
  });
}


function csv(rows: readonly Row[]): string {
  return `restaurantId,asOf,distanceKm,query\n${rows.map((r) => `${r.restaurantId},${iso(r.asOf)},${r.distanceKm},${r.query}`).join('\n')}\n`;
}

describe('featuregraph training-set', () => {
  let dir: string;
  let historyPath: string;
  let registry: FeatureRegistry;
  const records = historyRecords();
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-training-set-'));
    historyPath = join(dir, 'history.duckdb');
    const store = await EmbeddedHistoryStore.open(historyPath);
    await store.append(records);
    await store.close();
    registry = await loadFeatureRepo('examples/food-delivery/features');
  });
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'training-set', '--history', historyPath, ...args], { encoding: 'utf8', timeout: 120_000 });

  for (const mode of ['SERVED', 'EVENT_TIME'] as const) {
    test(`${mode}: every row equals the reference, request-time features from the row's columns`, async () => {
      const rows = rowsOf(2500);
      const input = join(dir, `rows-${mode}.csv`);
      writeFileSync(input, csv(rows));
      const out = join(dir, `train-${mode}.parquet`);
      const result = run('--entities', input, '--features', features.join(','), '--mode', mode, '--out', out);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`wrote 2500 Restaurant rows x 6 features \\(${mode}\\) to .*: restaurantId, asOf, distanceKm, query, ${features.join(', ')}`));
      assert.match(result.stderr, /training set \[#{30}\] 100%/);
      assert.deepEqual(await readParquet(out), reference(registry, records, rows, mode));
    });
  }

  test('SERVED and EVENT_TIME differ where values arrived late (the outage)', async () => {
    const [served, event] = await Promise.all(['SERVED', 'EVENT_TIME'].map((m) => readParquet(join(dir, `train-${m}.parquet`))));
    const differ = served!.filter((row, i) => row.ordersLast30m !== event![i]!.ordersLast30m).length;
    assert.ok(differ > 0, 'some rows differ in ordersLast30m');
  });

  test('stored features only, from a Parquet file of rows: equals the reference (pushdown when the store has it)', async () => {
    const rows = rowsOf(300);
    const db = await EmbeddedSql.open(':memory:');
    const input = join(dir, 'rows.parquet');
    await db.exec(`CREATE TABLE r (restaurantId VARCHAR, "asOf" TIMESTAMP, distanceKm DOUBLE, query VARCHAR)`);
    await db.insertRows('r', rows.map((r) => ({ ...r, asOf: new Date(r.asOf) })));
    await db.exec(`COPY r TO '${input}' (FORMAT parquet)`);
    await db.close();
    const out = join(dir, 'stored.parquet');
    const result = run('--entities', input, '--features', 'ordersLast30m,isOpen,avgPrepSeconds7d', '--out', out);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /wrote 300 Restaurant rows x 3 features \(SERVED, computed by the embedded history store\)/);
    const want = reference(registry, records, rows, 'SERVED').map((r) => ({ restaurantId: r.restaurantId, asOf: r.asOf, distanceKm: r.distanceKm, query: r.query, ordersLast30m: r.ordersLast30m, isOpen: r.isOpen, avgPrepSeconds7d: r.avgPrepSeconds7d }));
    assert.deepEqual(await readParquet(out), want);
  });

  test('bad input is named: unknown feature, missing column, unparsable and future instants, bad mode', () => {
    const good = join(dir, 'good.csv');
    writeFileSync(good, csv(rowsOf(3)));
    const out = join(dir, 'x.parquet');
    const fails = (pattern: RegExp, ...args: string[]) => {
      const r = run(...args);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, pattern);
    };
    fails(/unknown feature "ordersLast31m"/, '--entities', good, '--features', 'ordersLast31m', '--out', out);
    const noKm = join(dir, 'no-km.csv');
    writeFileSync(noKm, `restaurantId,asOf\nr1,${iso(T0 - HOUR)}\n`);
    fails(/missing column for etaMinutes's argument distanceKm \(Float!\): add a column "distanceKm" or "etaMinutes.distanceKm"/, '--entities', noKm, '--features', 'etaMinutes', '--out', out);
    const noKey = join(dir, 'no-key.csv');
    writeFileSync(noKey, `id,asOf\nr1,${iso(T0 - HOUR)}\n`);
    fails(/have no column "restaurantId" \(the Restaurant key\); columns present: id, asOf/, '--entities', noKey, '--features', 'isOpen', '--out', out);
    const badTime = join(dir, 'bad-time.csv');
    writeFileSync(badTime, `restaurantId,asOf\nr1,${iso(T0 - HOUR)}\nr2,yesterday\n`);
    fails(/row 2: asOf "yesterday" is not an instant/, '--entities', badTime, '--features', 'isOpen', '--out', out);
    const future = join(dir, 'future.csv');
    writeFileSync(future, `restaurantId,asOf\nr1,${iso(T0 - HOUR)}\nr2,2999-01-01T00:00:00Z\n`);
    fails(/row 2: asOf 2999-01-01T00:00:00.000Z is in the future/, '--entities', future, '--features', 'isOpen', '--out', out);
    fails(/--mode must be SERVED or EVENT_TIME, got "LATEST"/, '--entities', good, '--features', 'isOpen', '--mode', 'LATEST', '--out', out);
    fails(/--features is required/, '--entities', good, '--out', out);
  });

  test('a history file another process has open (a running gateway) is read through it: same rows, and it says who owns the file', async () => {
    const rows = rowsOf(200);
    const input = join(dir, 'held.csv');
    writeFileSync(input, csv(rows));
    const held = await SharedEmbeddedHistoryStore.open(historyPath);
    // The owner lives in this process: the command runs asynchronously, so that this process can answer it.
    const run = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
        const child = spawn(process.execPath, [bin, 'training-set', '--history', historyPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.once('exit', (status) => done({ status, stdout, stderr }));
      });
    try {
      assert.equal(held.owner, true);
      const out = join(dir, 'held.parquet');
      const r = await run('--entities', input, '--features', features.join(','), '--out', out);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`history .*history.duckdb: owned by pid ${process.pid}; this process \\(pid \\d+\\) reads and appends through .*\\.sock`));
      assert.deepEqual(await readParquet(out), reference(registry, records, rows, 'SERVED'));
      // Stored features only: the owner computes the whole set (pushdown) and writes it where asked.
      const pushed = join(dir, 'held-pushdown.parquet');
      const p = await run('--entities', input, '--features', 'ordersLast30m,isOpen', '--mode', 'EVENT_TIME', '--out', pushed);
      assert.equal(p.status, 0, p.stderr);
      assert.match(p.stdout, /computed by the embedded history store/);
      assert.deepEqual(await readParquet(pushed), reference(registry, records, rows, 'EVENT_TIME').map((r) => ({ restaurantId: r.restaurantId, asOf: r.asOf, distanceKm: r.distanceKm, query: r.query, ordersLast30m: r.ordersLast30m, isOpen: r.isOpen })));
    } finally {
      await held.close();
    }
  });

  test('--help teaches the row format and the modes', () => {
    const r = spawnSync(process.execPath, [bin, 'training-set', '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    for (const words of ['--entities ROWS', 'asOf column', 'etaMinutes.distanceKm', 'SERVED (default)', 'EVENT_TIME', 'Example:']) assert.ok(r.stdout.includes(words), words);
  });
});

describe('POST /training-set', () => {
  let f: Fixture;
  const records = historyRecords();
  const base = () => f.url.replace(/\/graphql$/, '');
  before(async () => {
    f = await startFixture();
    await f.history!.append(records);
  });
  after(() => f.close());

  const post = (body: string, contentType = 'application/json', query = '') => fetch(`${base()}/training-set${query}`, { method: 'POST', headers: { 'content-type': contentType }, body });

  test('JSON rows answer Parquet equal to the GraphQL training set of the same rows', async () => {
    const rows = rowsOf(200).map((r) => ({ restaurantId: r.restaurantId, asOf: iso(r.asOf), inputs: { etaMinutes: { distanceKm: r.distanceKm }, queryMatch: { query: r.query } } }));
    for (const mode of ['SERVED', 'EVENT_TIME'] as const) {
      const response = await post(JSON.stringify({ features, mode, rows }));
      assert.equal(response.status, 200, await response.clone().text());
      assert.equal(response.headers.get('content-type'), 'application/vnd.apache.parquet');
      assert.equal(response.headers.get('x-featuregraph-rows'), '200');
      const path = join(mkdtempSync(join(tmpdir(), 'fg-http-')), 'train.parquet');
      writeFileSync(path, Buffer.from(await response.arrayBuffer()));
      const got = await readParquet(path);
      const graphql = await f.query<{ restaurantTrainingSet: Record<string, unknown>[] }>(`query($rows: [RestaurantAsOfInput!]!, $mode: TimeMode) { restaurantTrainingSet(rows: $rows, mode: $mode) { restaurantId ordersLast30m avgPrepSeconds7d isOpen cuisineTags etaMinutes(distanceKm: 0) queryMatch(query: "") } }`, { rows, mode });
      assert.equal(graphql.body.errors, undefined);
      assert.deepEqual(
        got.map((r) => ({ restaurantId: r.restaurantId, ...Object.fromEntries(features.map((name) => [name, r[name]])) })),
        graphql.body.data!.restaurantTrainingSet,
        mode,
      );
      assert.deepEqual(Object.keys(got[0]!), ['restaurantId', 'asOf', 'etaMinutes.distanceKm', 'queryMatch.query', ...features]);
    }
  });

  test('a CSV body with the features and mode in the query string', async () => {
    const rows = rowsOf(50);
    const response = await post(csv(rows), 'text/csv', '?features=ordersLast30m,etaMinutes&mode=EVENT_TIME');
    assert.equal(response.status, 200, await response.clone().text());
    const path = join(mkdtempSync(join(tmpdir(), 'fg-http-')), 'train.parquet');
    writeFileSync(path, Buffer.from(await response.arrayBuffer()));
    const want = reference(f.registry, records, rows, 'EVENT_TIME').map((r) => ({ restaurantId: r.restaurantId, asOf: r.asOf, distanceKm: r.distanceKm, query: r.query, ordersLast30m: r.ordersLast30m, etaMinutes: r.etaMinutes }));
    assert.deepEqual(await readParquet(path), want);
  });

  test('refusals are coded JSON errors', async () => {
    const error = async (response: Response) => ({ status: response.status, ...((await response.json()) as { errors: { message: string; extensions: { code: string } }[] }).errors[0]! });
    const one = (extra: object) => JSON.stringify({ features: ['isOpen'], rows: [{ restaurantId: 'r1', asOf: iso(T0) }], ...extra });
    const unknown = await error(await post(one({ features: ['nope'] })));
    assert.deepEqual([unknown.status, unknown.extensions.code], [400, 'BAD_USER_INPUT']);
    assert.match(unknown.message, /^unknown feature "nope"; features: Restaurant.ordersLast30m, .*User.favoriteCuisine/);
    assert.match((await error(await post(one({ features: ['isOpen', 'nope'], entity: 'Restaurant' })))).message, /^unknown feature "nope" of Restaurant; features: ordersLast30m, revenueLast24h/);
    const future = await error(await post(one({ rows: [{ restaurantId: 'r1', asOf: iso(T0 + 1) }] })));
    assert.equal(future.status, 400);
    assert.match(future.message, /row 1: asOf 2026-06-01T12:00:00.001Z is in the future \(now is 2026-06-01T12:00:00.000Z\)/);
    assert.match((await error(await post(one({ rows: [{ restaurantId: 'r1', asOf: iso(T0), inputs: { etaMinutes: { distanceKm: 'x' } } }] })))).message, /row 1: etaMinutes.distanceKm must be a Float!, got "x"/);
    assert.equal((await error(await post(one({ mode: 'NOW' })))).message, 'mode must be SERVED or EVENT_TIME, got "NOW"');
    assert.equal((await error(await post('x', 'text/plain'))).extensions.code, 'BAD_REQUEST', 'a simple content type is refused as CSRF');
    assert.equal((await error(await post('x', 'application/xml'))).extensions.code, 'BAD_USER_INPUT');
    assert.equal((await error(await fetch(`${base()}/training-set`))).status, 405);
    const many = JSON.stringify({ features: ['isOpen'], rows: Array.from({ length: 1001 }, () => ({ restaurantId: 'r1', asOf: iso(T0) })) });
    const g = await startFixture({ history: null });
    try {
      const none = await fetch(`${g.url.replace(/\/graphql$/, '')}/training-set`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: one({}) });
      assert.deepEqual(await error(none), { status: 503, message: 'training sets need a history store, and this gateway has none; configure history (embedded or snowflake) with materializers writing to it', extensions: { code: 'AS_OF_UNAVAILABLE' } });
    } finally {
      await g.close();
    }
    assert.equal((await post(many)).status, 200);
  });
});
