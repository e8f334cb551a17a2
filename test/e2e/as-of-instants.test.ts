// One asOf rule on every path (issue 14, item 3): GraphQL literals and variables, POST /training-set
// with JSON and CSV bodies, `featuregraph training-set` and `backfill`, and the embedded history
// store's own export. Each path gets the issue's cases: a day its month does not have, an offset-less
// instant (UTC, whatever the server's zone: this whole file runs under America/New_York, and the
// CLI children too), a fractional epoch-ms asOf one half millisecond before a change (floored, so the
// change stays out: rounding up would leak it), ISO and epoch values mixed in one body or column,
// sub-millisecond ISO digits (floored), a future instant, and unknown features named.
process.env.TZ = 'America/New_York';

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddedSql } from '../../adapters/sources/embedded/index.js';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';
import type { HistoryRecord } from '../../adapters/history/types.js';
import { loadFeatureRepo } from '../../schema/load.js';
import { FeaturegraphError } from '../../schema/errors.js';
import { instantForms } from '../../schema/instant.js';
import { startFixture, T0, type Fixture } from './fixture.js';
import { readParquet } from '../fixtures/parquet.js';

const bin = resolve('bin/featuregraph.mjs');
const iso = (ms: number) => new Date(ms).toISOString();
const at = (text: string) => Date.parse(text);

// restaurant_profile of "ri1": menuSize 1 from 02:00Z, 2 from 10:00Z, 3 from 11:00Z (readable at once).
const E1 = at('2026-06-01T10:00:00.000Z');
const E2 = at('2026-06-01T11:00:00.000Z');
const records: HistoryRecord[] = [
  { view: 'restaurant_profile', key: 'ri1', id: 'ri1:0', eventTime: at('2026-06-01T02:00:00.000Z'), availableTime: at('2026-06-01T02:00:00.000Z'), values: { isOpen: true, menuSize: 1, cuisineTags: ['thai'] } },
  { view: 'restaurant_profile', key: 'ri1', id: 'ri1:1', eventTime: E1, availableTime: E1, values: { isOpen: true, menuSize: 2, cuisineTags: ['thai'] } },
  { view: 'restaurant_profile', key: 'ri1', id: 'ri1:2', eventTime: E2, availableTime: E2, values: { isOpen: true, menuSize: 3, cuisineTags: ['thai'] } },
];

/**
 * The rows every path is asked, their instants as the rule reads them, and menuSize then. As the
 * server's zone (New York, UTC-4 in June) would read the first, it is 12:00Z: menuSize 3.
 */
const cases = [
  { asOf: '2026-06-01T08:00:00', ms: at('2026-06-01T08:00:00.000Z'), menuSize: 1 },
  { asOf: E2 - 1 + 0.5, text: `${E2 - 1}.5`, ms: E2 - 1, menuSize: 2 },
  { asOf: '2026-06-01T10:30:00Z', ms: at('2026-06-01T10:30:00.000Z'), menuSize: 2 },
  { asOf: E1 + 1, ms: E1 + 1, menuSize: 2 },
  { asOf: '2026-06-01 09:59:59.9999999', ms: E1 - 1, menuSize: 1 },
] as const;
const text = (c: (typeof cases)[number]) => ('text' in c ? c.text : String(c.asOf));
const wantMenu = cases.map((c) => c.menuSize);
const wantAsOf = cases.map((c) => iso(c.ms));
const feb30 = '2026-02-30T00:00:00Z';
const future = iso(T0 + 1);



/** The last line of a command's stderr (the refusal; lines before it may say who owns an embedded history file). */
const lastLine = (stderr: string): string => `${stderr.trimEnd().split('\n').at(-1) ?? ''}\n`;

test('the process really runs in New York time (so a parser that used the local zone would be caught)', () => {
  assert.equal(new Date(2026, 5, 1, 8).toISOString(), '2026-06-01T12:00:00.000Z');
});

describe('GraphQL (Apollo answers asOf; the fast path declines it)', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
    await f.history!.append(records);
  });
  after(() => f.close());

  const menuAt = async (asOf: unknown, literal?: string) => {
    const { body } = literal === undefined
      ? await f.query(`query($t: DateTime) { restaurant(restaurantId: "ri1", asOf: $t) { menuSize } }`, { t: asOf })
      : await f.query(`{ restaurant(restaurantId: "ri1", asOf: ${literal}) { menuSize } }`);
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return (body.data as { restaurant: { menuSize: number } }).restaurant.menuSize;
  };

  test('literals and variables read each case as the rule does: UTC without offset, epoch ms floored', async () => {
    for (const c of cases) {
      assert.equal(await menuAt(c.asOf), c.menuSize, `variable ${JSON.stringify(c.asOf)}`);
      assert.equal(await menuAt(text(c)), c.menuSize, `variable ${JSON.stringify(text(c))}`);
      assert.equal(await menuAt(undefined, JSON.stringify(c.asOf)), c.menuSize, `literal ${JSON.stringify(c.asOf)}`);
    }
    assert.equal(await menuAt(undefined, `${E2 - 1}.5`), 2, 'a Float literal is floored exactly');
    assert.equal(await menuAt(undefined, `${E2 - 1}.99999999`), 2, 'even where a double would round it up');
  });

  test('a training set mixes ISO and epoch rows, each read on its own', async () => {
    const rows = cases.map((c) => ({ restaurantId: 'ri1', asOf: c.asOf }));
    const { body } = await f.query(`query($rows: [RestaurantAsOfInput!]!) { restaurantTrainingSet(rows: $rows) { menuSize } }`, { rows });
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    assert.deepEqual(body.data, { restaurantTrainingSet: wantMenu.map((menuSize) => ({ menuSize })) });
    const literal = await f.query(`{ restaurantTrainingSet(rows: [{ restaurantId: "ri1", asOf: "2026-06-01T08:00:00" }, { restaurantId: "ri1", asOf: ${E2 - 1}.5 }]) { menuSize } }`);
    assert.deepEqual(literal.body.data, { restaurantTrainingSet: [{ menuSize: 1 }, { menuSize: 2 }] });
  });

  test('a day its month does not have is BAD_USER_INPUT naming the value, the reason and the accepted forms', async () => {
    const message = `DateTime "${feb30}" is not an instant: day 30 is not in 2026-02, which has 28 days; accepted: ${instantForms}`;
    const literal = await f.query(`{ restaurant(restaurantId: "ri1", asOf: "${feb30}") { menuSize } }`);
    assert.equal(literal.status, 400);
    assert.deepEqual(literal.body.errors?.map((e) => [e.message, e.extensions?.code]), [[message, 'BAD_USER_INPUT']]);
    const variable = await f.query(`query($rows: [RestaurantAsOfInput!]!) { restaurantTrainingSet(rows: $rows) { menuSize } }`, { rows: [{ restaurantId: 'ri1', asOf: iso(E1) }, { restaurantId: 'ri1', asOf: feb30 }] });
    assert.equal(variable.status, 400);
    assert.equal(variable.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(variable.body.errors?.[0]?.message ?? '', /^Variable "\$rows" got invalid value "2026-02-30T00:00:00Z" at "rows\[1\]\.asOf"; .*day 30 is not in 2026-02, which has 28 days; accepted: ISO-8601/);
    for (const bad of [Number.MAX_SAFE_INTEGER, '1e3', '  ', true]) {
      const r = await f.query(`query($t: DateTime) { restaurant(restaurantId: "ri1", asOf: $t) { menuSize } }`, { t: bad });
      assert.equal(r.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(bad));
    }
  });

  test('an epoch-ms asOf after now is refused like an ISO one', async () => {
    const { body } = await f.query(`query($t: DateTime) { restaurant(restaurantId: "ri1", asOf: $t) { menuSize } }`, { t: T0 + 0.5 });
    assert.equal(body.errors, undefined, 'T0 + 0.5 ms floors to now');
    const later = await f.query(`query($t: DateTime) { restaurant(restaurantId: "ri1", asOf: $t) { menuSize } }`, { t: T0 + 1 });
    assert.equal(later.body.errors?.[0]?.message, `restaurant: asOf ${future} is in the future (now is ${iso(T0)}); features of an instant exist only once it has passed`);
  });
});

describe('POST /training-set', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
    await f.history!.append(records);
  });
  after(() => f.close());
  const post = (body: string, contentType = 'application/json', query = '') => fetch(`${f.url.replace(/\/graphql$/, '')}/training-set${query}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const parquet = async (response: Response) => {
    assert.equal(response.status, 200, await response.clone().text());
    const path = join(mkdtempSync(join(tmpdir(), 'fg-asof-http-')), 'train.parquet');
    writeFileSync(path, Buffer.from(await response.arrayBuffer()));
    return readParquet(path);
  };
  const error = async (response: Response) => ({ status: response.status, ...((await response.json()) as { errors: { message: string; extensions: { code: string } }[] }).errors[0]! });

  test('JSON rows mixing ISO strings and epoch numbers: each read by the rule, none rounded up', async () => {
    const rows = cases.map((c) => ({ restaurantId: 'ri1', asOf: c.asOf }));
    const got = await parquet(await post(JSON.stringify({ features: ['menuSize'], rows })));
    assert.deepEqual(got.map((r) => r.menuSize), wantMenu);
    assert.deepEqual(got.map((r) => r.asOf), wantAsOf);
  });

  test('CSV rows mixing ISO text and epoch-ms text in one column', async () => {
    const csv = `restaurantId,asOf\n${cases.map((c) => `ri1,${text(c)}`).join('\n')}\n`;
    const got = await parquet(await post(csv, 'text/csv', '?features=menuSize'));
    assert.deepEqual(got.map((r) => r.menuSize), wantMenu);
    assert.deepEqual(got.map((r) => r.asOf), wantAsOf);
  });

  test('refusals name the row, the value and the accepted forms; unknown features are the ones named', async () => {
    const json = await error(await post(JSON.stringify({ features: ['menuSize'], rows: [{ restaurantId: 'ri1', asOf: iso(E1) }, { restaurantId: 'ri1', asOf: feb30 }] })));
    assert.deepEqual(json, { status: 400, message: `row 2: asOf "${feb30}" is not an instant: day 30 is not in 2026-02, which has 28 days; accepted: ${instantForms}`, extensions: { code: 'BAD_USER_INPUT' } });
    const csv = await error(await post(`restaurantId,asOf\nri1,${iso(E1)}\nri1,${feb30}\n`, 'text/csv', '?features=menuSize'));
    assert.deepEqual(csv, json);
    for (const [bad, reason] of [[1e300, 'it is outside the range of dates'], ['1e3', 'it is neither ISO-8601 text nor epoch milliseconds'], [' ', 'it is empty'], [true, 'a boolean is not an instant']] as const) {
      const r = await error(await post(JSON.stringify({ features: ['menuSize'], rows: [{ restaurantId: 'ri1', asOf: bad }] })));
      assert.equal(r.status, 400);
      assert.equal(r.message.startsWith(`row 1: asOf ${JSON.stringify(bad)} is not an instant: ${reason}`), true, r.message);
    }
    const later = await error(await post(`restaurantId,asOf\nri1,${T0 + 1}\n`, 'text/csv', '?features=menuSize'));
    assert.equal(later.message, `row 1: asOf ${future} is in the future (now is ${iso(T0)}); features of an instant exist only once it has passed`);
    const unknown = await error(await post(JSON.stringify({ features: ['menuSize', 'nope', 'nada'], rows: [{ restaurantId: 'ri1', asOf: iso(E1) }] })));
    assert.equal(unknown.status, 400);
    assert.match(unknown.message, /^unknown features "nope", "nada"; features: Restaurant\.ordersLast30m, .*Restaurant\.menuSize/);
    const split = await error(await post(JSON.stringify({ features: ['menuSize', 'favoriteCuisine'], rows: [{ restaurantId: 'ri1', asOf: iso(E1) }] })));
    assert.match(split.message, /^no one entity has every feature asked: menuSize \(Restaurant\), favoriteCuisine \(User\)/);
  });
});

describe('featuregraph training-set and backfill (children under America/New_York)', () => {
  let dir: string;
  let historyPath: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-asof-cli-'));
    historyPath = join(dir, 'history.duckdb');
    const store = await EmbeddedHistoryStore.open(historyPath);
    await store.append(records);
    await store.close();
  });
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TZ: 'America/New_York' } });

  for (const [label, features] of [['pushed down to the store', 'menuSize'], ['read row by row (with a request-time feature)', 'menuSize,queryMatch']] as const) {
    test(`training-set, ${label}: every case by the rule`, async () => {
      const rows = join(dir, `rows-${features.length}.csv`);
      writeFileSync(rows, `restaurantId,asOf,query\n${cases.map((c) => `ri1,${text(c)},thai`).join('\n')}\n`);
      const out = join(dir, `out-${features.length}.parquet`);
      const r = run('training-set', '--history', historyPath, '--entities', rows, '--features', features, '--mode', 'EVENT_TIME', '--out', out);
      assert.equal(r.status, 0, r.stderr);
      const got = await readParquet(out);
      assert.deepEqual(got.map((row) => row.menuSize), wantMenu);
      assert.deepEqual(got.map((row) => row.asOf), wantAsOf);
    });
  }

  test('training-set: a Parquet file of rows with text asOf mixing both forms', async () => {
    const db = await EmbeddedSql.open(':memory:');
    const rows = join(dir, 'rows.parquet');
    await db.exec(`CREATE TABLE r (restaurantId VARCHAR, "asOf" VARCHAR)`);
    await db.insertRows('r', cases.map((c) => ({ restaurantId: 'ri1', asOf: text(c) })));
    await db.exec(`COPY r TO '${rows}' (FORMAT parquet)`);
    await db.close();
    const out = join(dir, 'from-parquet.parquet');
    const r = run('training-set', '--history', historyPath, '--entities', rows, '--features', 'menuSize', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((await readParquet(out)).map((row) => row.menuSize), wantMenu);
  });

  test('training-set: NDJSON rows whose text DuckDB would sniff as timestamps are still read by the rule', async () => {
    // Past the JSON reader's sample (20,480 rows), a 24:00 it never saw.
    const lines = Array.from({ length: 25_000 }, () => JSON.stringify({ restaurantId: 'ri1', asOf: '2026-06-01T10:30:00+05:00' }));
    const rows = join(dir, 'rows.ndjson');
    writeFileSync(rows, `${lines.join('\n')}\n`);
    const out = join(dir, 'from-ndjson.parquet');
    const ok = run('training-set', '--history', historyPath, '--entities', rows, '--features', 'menuSize', '--mode', 'EVENT_TIME', '--out', out);
    assert.equal(ok.status, 0, ok.stderr);
    const got = await readParquet(out);
    assert.deepEqual([got.length, got[0]?.asOf, got[0]?.menuSize], [25_000, '2026-06-01T05:30:00.000Z', 1]);
    writeFileSync(rows, `${lines.join('\n')}\n${JSON.stringify({ restaurantId: 'ri1', asOf: '2026-06-01T24:00:00Z' })}\n`);
    const refused = run('training-set', '--history', historyPath, '--entities', rows, '--features', 'menuSize', '--out', out);
    assert.equal(refused.status, 1);
    assert.equal(lastLine(refused.stderr), `featuregraph training-set: row 25001: asOf "2026-06-01T24:00:00Z" is not an instant: hour 24 is not 00-23; accepted: ${instantForms}\n`);
  });

  test('training-set refusals: the row, the value, the accepted forms; unknown features named', () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, `restaurantId,asOf\nri1,${iso(E1)}\nri1,${feb30}\n`);
    const r = run('training-set', '--history', historyPath, '--entities', bad, '--features', 'menuSize', '--out', join(dir, 'x.parquet'));
    assert.equal(r.status, 1);
    assert.equal(lastLine(r.stderr), `featuregraph training-set: row 2: asOf "${feb30}" is not an instant: day 30 is not in 2026-02, which has 28 days; accepted: ${instantForms}\n`);
    const unknown = run('training-set', '--history', historyPath, '--entities', bad, '--features', 'menuSize,nope', '--out', join(dir, 'x.parquet'));
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /unknown feature "nope"; features: /);
    assert.doesNotMatch(unknown.stderr, /"menuSize"/);
  });

  test('backfill --from/--to: the same rule (a day its month lacks refused, no offset is UTC, epoch ms floored)', async () => {
    const warehouse = join(dir, 'warehouse.duckdb');
    const db = await EmbeddedSql.open(warehouse);
    await db.exec('CREATE TABLE RESTAURANT_PREP_STATS (RESTAURANT_ID VARCHAR, COMPUTED_AT TIMESTAMP, AVG_PREP_SECONDS_7D DOUBLE)');
    await db.close();
    const config = join(dir, 'featuregraph.json');
    writeFileSync(config, JSON.stringify({ sources: { batch: { type: 'embedded', path: warehouse } } }));
    const backfill = (from: string, to: string) => run('backfill', '--config', config, '--view', 'restaurant_prep', '--from', from, '--to', to, '--history', join(dir, 'backfill.duckdb'));
    const refused = backfill(feb30, '2026-03-05T00:00:00Z');
    assert.equal(refused.status, 1);
    assert.equal(lastLine(refused.stderr), `featuregraph backfill: --from "${feb30}" is not an instant: day 30 is not in 2026-02, which has 28 days; accepted: ${instantForms}\n`);
    const ok = backfill('2026-03-01T00:00:00', `${at('2026-03-01T02:00:00.000Z')}.5`);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^backfilled restaurant_prep from 2026-03-01T00:00:00\.000Z to 2026-03-01T02:00:00\.000Z: /);
  });
});

describe("the embedded history store's own export", () => {
  let dir: string;
  let store: EmbeddedHistoryStore;
  let menuSize: Parameters<NonNullable<EmbeddedHistoryStore['exportTrainingSet']>>[0]['query']['features'][number];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-asof-export-'));
    store = await EmbeddedHistoryStore.open(join(dir, 'history.duckdb'));
    await store.append(records);
    menuSize = (await loadFeatureRepo('examples/food-delivery/features')).entity('Restaurant').features.get('menuSize')!;
  });
  after(() => store.close());

  const exported = async (csv: string, now = T0) => {
    const rows = join(dir, `rows-${Math.random().toString(36).slice(2)}.csv`);
    writeFileSync(rows, csv);
    const out = `${rows}.parquet`;
    await store.exportTrainingSet({ query: { features: [menuSize], mode: 'EVENT_TIME' }, rows: { path: rows, keyColumn: 'restaurantId', asOfColumn: 'asOf' }, out, now });
    return readParquet(out);
  };
  const refusal = async (csv: string) => {
    try {
      await exported(csv);
    } catch (error) {
      assert.ok(error instanceof FeaturegraphError, `a coded error, not ${String(error)}`);
      assert.equal(error.code, 'BAD_USER_INPUT');
      return error.message;
    }
    assert.fail('refused');
  };

  test('a CSV column mixing ISO and epoch-ms text, each by the rule', async () => {
    const got = await exported(`restaurantId,asOf\n${cases.map((c) => `ri1,${text(c)}`).join('\n')}\n`);
    assert.deepEqual(got.map((r) => r.menuSize), wantMenu);
    assert.deepEqual(got.map((r) => r.asOf), wantAsOf);
  });

  test('garbage, a day its month lacks and the future are coded refusals naming the row, never a raw engine error', async () => {
    assert.equal(await refusal(`restaurantId,asOf\nri1,${iso(E1)}\nri1,yesterday\n`), `embedded history store: exportTrainingSet: row 2: asOf "yesterday" is not an instant: it is neither ISO-8601 text nor epoch milliseconds; accepted: ${instantForms}`);
    assert.match(await refusal(`restaurantId,asOf\nri1,${feb30}\n`), /row 1: asOf "2026-02-30T00:00:00Z" is not an instant: day 30 is not in 2026-02/);
    assert.match(await refusal(`restaurantId,asOf\nri1,${iso(E1)}\nri1,${E2}.5\nri1,${future}\n`), new RegExp(`row 3: asOf ${future.replace(/\./g, '\\.')} is in the future \\(now is ${iso(T0).replace(/\./g, '\\.')}\\)`));
  });
});
