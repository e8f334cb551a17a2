// The embedded SQL source (DuckDB) behind the RowSource interface: what a warehouse table or query
// gives a materializer, in event-time order, incrementally, in bounded batches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedSql, EmbeddedSqlError, openEmbeddedSource } from '../../../../../adapters/sources/embedded/index.js';
import type { RowSource, SourceRow } from '../../../../../adapters/sources/types.js';

const T0 = Date.parse('2026-05-01T00:00:00Z');
const MIN = 60_000;
const FAR = Number.MAX_SAFE_INTEGER;

async function collect(source: RowSource, since: number | null, until: number, columns: string[]): Promise<{ rows: SourceRow[]; batches: number[] }> {
  const rows: SourceRow[] = [];
  const batches: number[] = [];
  for await (const batch of source.read({ since, until, columns })) {
    batches.push(batch.length);
    rows.push(...batch);
  }
  return { rows, batches };
}

async function prepTable(db: EmbeddedSql): Promise<void> {
  await db.exec('CREATE TABLE prep (restaurant_id VARCHAR, updated_at TIMESTAMP, avg_prep DOUBLE, orders INTEGER)');
  // Inserted out of event-time order, as a warehouse table is.
  await db.insertRows('prep', [
    { restaurant_id: 'r2', updated_at: new Date(T0 + 2 * MIN), avg_prep: 620.5, orders: 12 },
    { restaurant_id: 'r1', updated_at: new Date(T0), avg_prep: 600, orders: 10 },
    { restaurant_id: 'r3', updated_at: new Date(T0 + 3 * MIN), avg_prep: 630.25, orders: 13 },
    { restaurant_id: 'r1', updated_at: new Date(T0 + 1 * MIN), avg_prep: 601, orders: 11 },
  ]);
}

const prepSource = { kind: 'batch', name: 'prep', table: 'prep', keyColumn: 'restaurant_id', eventTimeColumn: 'updated_at' } as const;

test('initial load: every row up to until, in event-time order, with epoch-ms event times', async () => {
  const db = await EmbeddedSql.open();
  await prepTable(db);
  const source = db.source(prepSource);
  const { rows } = await collect(source, null, FAR, ['avg_prep', 'orders']);
  assert.deepEqual(rows, [
    { key: 'r1', eventTime: T0, values: { avg_prep: 600, orders: 10 } },
    { key: 'r1', eventTime: T0 + MIN, values: { avg_prep: 601, orders: 11 } },
    { key: 'r2', eventTime: T0 + 2 * MIN, values: { avg_prep: 620.5, orders: 12 } },
    { key: 'r3', eventTime: T0 + 3 * MIN, values: { avg_prep: 630.25, orders: 13 } },
  ]);
  await db.close();
});

test('incremental reads: since is exclusive, until inclusive; consecutive windows never repeat or skip a row', async () => {
  const db = await EmbeddedSql.open();
  await prepTable(db);
  const source = db.source(prepSource);
  const first = await collect(source, null, T0 + MIN, ['orders']);
  assert.deepEqual(first.rows.map((r) => r.eventTime), [T0, T0 + MIN]);
  const second = await collect(source, T0 + MIN, T0 + 2 * MIN, ['orders']);
  assert.deepEqual(second.rows.map((r) => [r.key, r.eventTime]), [['r2', T0 + 2 * MIN]]);
  const third = await collect(source, T0 + 2 * MIN, FAR, ['orders']);
  assert.deepEqual(third.rows.map((r) => r.key), ['r3']);
  const nothing = await collect(source, T0 + 3 * MIN, FAR, ['orders']);
  assert.deepEqual(nothing.rows, []);
  // Bounds that fall between stored instants (ms are not on the minute).
  const between = await collect(source, T0 + 30_000, T0 + 2 * MIN - 1, ['orders']);
  assert.deepEqual(between.rows.map((r) => r.eventTime), [T0 + MIN]);
  await db.close();
});

test('a subset of columns: only the asked columns are read, in the asked names', async () => {
  const db = await EmbeddedSql.open();
  await prepTable(db);
  const source = db.source(prepSource);
  const { rows } = await collect(source, null, T0, ['orders']);
  assert.deepEqual(rows, [{ key: 'r1', eventTime: T0, values: { orders: 10 } }]);
  const none = await collect(source, null, T0, []);
  assert.deepEqual(none.rows, [{ key: 'r1', eventTime: T0, values: {} }]);
  await assert.rejects(collect(source, null, FAR, ['missing_column']), EmbeddedSqlError);
  await db.close();
});

test('late rows: a row landing after a read, with an event time inside it, shows in an overlapping re-read only', async () => {
  const db = await EmbeddedSql.open();
  await prepTable(db);
  const source = db.source(prepSource);
  const first = await collect(source, null, T0 + 3 * MIN, ['orders']);
  assert.equal(first.rows.length, 4);
  await db.insertRows('prep', [
    { restaurant_id: 'r4', updated_at: new Date(T0 + 90_000), avg_prep: 700, orders: 1 },
    { restaurant_id: 'r5', updated_at: new Date(T0 + 4 * MIN), avg_prep: 710, orders: 2 },
  ]);
  // The next incremental read (after the watermark) sees only the new on-time row.
  const incremental = await collect(source, T0 + 3 * MIN, FAR, ['orders']);
  assert.deepEqual(incremental.rows.map((r) => r.key), ['r5']);
  // A read that overlaps the last window by 2 minutes picks the late row up, in order with the rest.
  const overlap = await collect(source, T0 + MIN, FAR, ['orders']);
  assert.deepEqual(overlap.rows.map((r) => [r.key, r.eventTime]), [
    ['r4', T0 + 90_000],
    ['r2', T0 + 2 * MIN],
    ['r3', T0 + 3 * MIN],
    ['r5', T0 + 4 * MIN],
  ]);
  await db.close();
});

test('bounded batches: 10,000 rows come in batches of at most batchSize, all of them, in order', async () => {
  const db = await EmbeddedSql.open();
  await db.exec('CREATE TABLE events (id BIGINT, t BIGINT, v DOUBLE)');
  const rows = Array.from({ length: 10_000 }, (_, i) => ({ id: i, t: T0 + ((i * 7919) % 10_000), v: i / 2 }));
  assert.equal(await db.insertRows('events', rows), 10_000);
  const source = db.source({ kind: 'batch', name: 'events', table: 'events', keyColumn: 'id', eventTimeColumn: 't' }, { batchSize: 700 });
  const { rows: read, batches } = await collect(source, null, FAR, ['v']);
  assert.equal(read.length, 10_000);
  assert.ok(batches.every((n) => n <= 700), `batches ${batches.join(',')}`);
  assert.equal(batches.length, Math.ceil(10_000 / 700));
  for (let i = 1; i < read.length; i++) assert.ok((read[i] as SourceRow).eventTime > (read[i - 1] as SourceRow).eventTime);
  // BIGINT keys become strings; BIGINT epoch-ms event times become numbers.
  assert.deepEqual(read[0], { key: '0', eventTime: T0, values: { v: 0 } });
  await db.close();
});

test('a consumer that stops early releases the read, and the database keeps working', async () => {
  const db = await EmbeddedSql.open();
  await db.exec('CREATE TABLE events AS SELECT i AS id, i AS t FROM range(100000) r(i)');
  const source = db.source({ kind: 'batch', name: 'events', table: 'events', keyColumn: 'id', eventTimeColumn: 't' }, { batchSize: 100 });
  let seen = 0;
  for await (const batch of source.read({ since: null, until: FAR, columns: [] })) {
    seen += batch.length;
    if (seen >= 300) break;
  }
  assert.equal(seen, 300);
  await db.insertRows('events', [{ id: -1, t: -1 }]);
  const [{ n }] = (await db.query('SELECT count(*)::INTEGER AS n FROM events')) as [{ n: number }];
  assert.equal(n, 100_001);
  await db.close();
});

test('listKeys: every distinct non-null key, sorted, in batches', async () => {
  const db = await EmbeddedSql.open();
  await prepTable(db);
  await db.insertRows('prep', [{ restaurant_id: null, updated_at: new Date(T0), avg_prep: 1, orders: 1 }]);
  const source = db.source(prepSource, { batchSize: 2 });
  const batches: string[][] = [];
  for await (const batch of source.listKeys()) batches.push(batch);
  assert.deepEqual(batches, [['r1', 'r2'], ['r3']]);
  // Rows with a null key are skipped by reads too: there is no entity to write them to.
  const { rows } = await collect(source, null, FAR, []);
  assert.equal(rows.length, 4);
  await db.close();
});

test('typed values: ints, floats, strings, booleans, nulls, lists, timestamps, decimals', async () => {
  const db = await EmbeddedSql.open();
  await db.exec(`CREATE TABLE typed (
    k VARCHAR, t TIMESTAMPTZ, i INTEGER, big BIGINT, f DOUBLE, s VARCHAR, b BOOLEAN, n DOUBLE,
    fl DOUBLE[], sl VARCHAR[], ts TIMESTAMP, d DECIMAL(10, 2))`);
  await db.insertRows('typed', [
    { k: 'a', t: T0, i: 7, big: 9_007_199_254_740_991n, f: 0.1, s: 'thai', b: true, n: null, fl: [1.5, 2], sl: ['x', 'y'], ts: '2026-05-01T10:00:00Z', d: 12.34 },
    { k: 'b', t: new Date(T0 + 1), i: -3, big: -1, f: -2.5e10, s: '', b: false, fl: [], sl: null },
  ]);
  const source = db.source({ kind: 'batch', name: 'typed', table: 'typed', keyColumn: 'k', eventTimeColumn: 't' });
  const { rows } = await collect(source, null, FAR, ['i', 'big', 'f', 's', 'b', 'n', 'fl', 'sl', 'ts', 'd']);
  assert.deepEqual(rows, [
    { key: 'a', eventTime: T0, values: { i: 7, big: 9_007_199_254_740_991, f: 0.1, s: 'thai', b: true, n: null, fl: [1.5, 2], sl: ['x', 'y'], ts: '2026-05-01T10:00:00.000Z', d: 12.34 } },
    { key: 'b', eventTime: T0 + 1, values: { i: -3, big: -1, f: -2.5e10, s: '', b: false, n: null, fl: [], sl: null, ts: null, d: null } },
  ]);
  await db.close();
});

test('event times as DATE and epoch-ms DOUBLE columns select the same windows', async () => {
  const db = await EmbeddedSql.open();
  const DAY = 86_400_000;
  await db.exec('CREATE TABLE daily (k VARCHAR, day DATE, ms DOUBLE)');
  await db.insertRows('daily', [0, 1, 2].map((d) => ({ k: `k${d}`, day: T0 + d * DAY, ms: T0 + d * DAY })));
  for (const eventTimeColumn of ['day', 'ms']) {
    const source = db.source({ kind: 'batch', name: 'daily', table: 'daily', keyColumn: 'k', eventTimeColumn });
    const { rows } = await collect(source, T0 + DAY / 2, T0 + DAY * 2 - 1, []);
    assert.deepEqual(rows.map((r) => [r.key, r.eventTime]), [['k1', T0 + DAY]], eventTimeColumn);
  }
  await db.exec('CREATE TABLE bad (k VARCHAR, t VARCHAR)');
  await assert.rejects(collect(db.source({ kind: 'batch', name: 'bad', table: 'bad', keyColumn: 'k', eventTimeColumn: 't' }), null, FAR, []), /event-time column must be/);
  await db.close();
});

test('a query source: one SELECT, wrapped, filtered and ordered like a table', async () => {
  const db = await EmbeddedSql.open();
  await prepTable(db);
  const source = db.source({ kind: 'batch', name: 'busy', query: 'SELECT restaurant_id AS rid, updated_at, orders * 2 AS doubled FROM prep WHERE orders > 10', keyColumn: 'rid', eventTimeColumn: 'updated_at' });
  const { rows } = await collect(source, T0, FAR, ['doubled']);
  assert.deepEqual(rows.map((r) => [r.key, r.values.doubled]), [['r1', 22], ['r2', 24], ['r3', 26]]);
  for (const query of ['SELECT 1 AS k, 1 AS t; DROP TABLE prep', 'DELETE FROM prep']) {
    const bad = db.source({ kind: 'batch', name: 'bad', query, keyColumn: 'k', eventTimeColumn: 't' });
    await assert.rejects(collect(bad, null, FAR, []), EmbeddedSqlError);
  }
  const [{ n }] = (await db.query('SELECT count(*)::INTEGER AS n FROM prep')) as [{ n: number }];
  assert.equal(n, 4, 'nothing ran from the rejected queries');
  await db.close();
});

test('identifiers are validated and quoted; values are bound, never spliced', async () => {
  const db = await EmbeddedSql.open();
  await prepTable(db);
  // A definition's names are its config: refused as INVALID_CONFIG before any SQL is written.
  assert.throws(() => db.source({ ...prepSource, table: 'prep; DROP TABLE prep' }), { code: 'INVALID_CONFIG', message: 'embedded source "prep": table "prep; DROP TABLE prep" is not a plain SQL identifier (letters, digits, _ and $, not starting with a digit)' });
  assert.throws(() => db.source({ ...prepSource, keyColumn: 'restaurant_id"--' }), { code: 'INVALID_CONFIG', message: /^embedded source "prep": keyColumn "restaurant_id\\"--" is not a plain SQL identifier/ });
  await assert.rejects(collect(db.source(prepSource), null, FAR, ['orders FROM prep --']), EmbeddedSqlError);
  await assert.rejects(db.insertRows('prep', [{ 'orders) VALUES (1); --': 1 }]), EmbeddedSqlError);
  // A key holding SQL is just a value.
  await db.insertRows('prep', [{ restaurant_id: "r9'); DROP TABLE prep; --", updated_at: new Date(T0 + 9 * MIN), orders: 1 }]);
  const rows = await db.query('SELECT restaurant_id FROM prep WHERE updated_at = ?', [new Date(T0 + 9 * MIN)]);
  assert.deepEqual(rows, [{ restaurant_id: "r9'); DROP TABLE prep; --" }]);
  await db.close();
});

test('a database file persists across opens; openEmbeddedSource closes its database with the source', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-embedded-test-'));
  try {
    const path = join(dir, 'warehouse.duckdb');
    const db = await EmbeddedSql.open(path);
    await prepTable(db);
    await db.close();
    const source = await openEmbeddedSource(path, prepSource);
    const { rows } = await collect(source, null, FAR, ['orders']);
    assert.equal(rows.length, 4);
    await source.close();
    // Closed: the file can be opened again (DuckDB holds a lock while a database is open).
    const again = await EmbeddedSql.open(path);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('insertRows is all or nothing: a value that does not convert leaves the table as it was', async () => {
  const db = await EmbeddedSql.open();
  await prepTable(db);
  await assert.rejects(
    db.insertRows('prep', [
      { restaurant_id: 'r7', updated_at: new Date(T0), orders: 1 },
      { restaurant_id: 'r8', updated_at: new Date(T0), orders: 1.5 },
    ]),
    /not an integer/,
  );
  const [{ n }] = (await db.query('SELECT count(*)::INTEGER AS n FROM prep')) as [{ n: number }];
  assert.equal(n, 4);
  await db.insertRows('prep', [{ restaurant_id: 'r7', updated_at: new Date(T0), orders: 1 }]);
  await db.close();
});
