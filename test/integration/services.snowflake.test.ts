// Smoke test of the Snowflake server test/services starts (fakesnow behind the JSON-rowset wrapper):
// typed values survive a round trip through the Node snowflake-sdk, bound parameters work, and a
// result of thousands of rows streams. Each test works in a schema of its own and drops it (fakesnow
// has no DROP DATABASE, so the database is shared).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Binds, Connection } from 'snowflake-sdk';
import { requireEndpoint } from '../services/endpoints.js';
import { connectSnowflake, destroySnowflake, executeSql, type SnowflakeRow } from '../services/snowflake.js';

const database = 'FG_SMOKE';

type Run = (sql: string, binds?: Binds) => Promise<SnowflakeRow[]>;

/** A session in a schema of its own, dropped afterwards. */
async function withConnection(body: (run: Run, connection: Connection) => Promise<void>): Promise<void> {
  const schema = `${database}.RUN_${randomUUID().replaceAll('-', '').slice(0, 12).toUpperCase()}`;
  const connection = await connectSnowflake(requireEndpoint('snowflake'));
  const run: Run = (sql, binds) => executeSql(connection, sql, binds);
  try {
    await run(`CREATE DATABASE IF NOT EXISTS ${database}`);
    await run(`CREATE SCHEMA ${schema}`);
    await run(`USE SCHEMA ${schema}`);
    await body(run, connection);
  } finally {
    await run(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await destroySnowflake(connection);
  }
}

test('snowflake: bound inserts and typed values read back exactly', async () => {
  await withConnection(async (run) => {
    await run(`CREATE TABLE ORDERS (
      ID NUMBER(38, 0), AMOUNT FLOAT, CITY VARCHAR, RUSH BOOLEAN,
      PLACED_AT TIMESTAMP_NTZ, DAY DATE, PRICE NUMBER(10, 2))`);
    const placedAt = Date.UTC(2026, 0, 2, 3, 4, 5, 123);
    const inserted = await run('INSERT INTO ORDERS VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)', [
      9007199254740991, 12.75, 'Lyon', true, new Date(placedAt).toISOString(), '2026-01-02', 19.99,
      2, null, null, null, null, null, null,
    ]);
    assert.deepEqual(inserted, [{ 'number of rows inserted': 2 }]);

    const rows = await run('SELECT * FROM ORDERS ORDER BY ID DESC');
    assert.equal(rows.length, 2);
    const [full, empty] = rows;
    assert.equal(full?.ID, 9007199254740991);
    assert.equal(full?.AMOUNT, 12.75);
    assert.equal(full?.CITY, 'Lyon');
    assert.equal(full?.RUSH, true);
    assert.ok(full?.PLACED_AT instanceof Date);
    assert.equal(full.PLACED_AT.getTime(), placedAt);
    assert.ok(full?.DAY instanceof Date);
    assert.equal(full.DAY.getTime(), Date.UTC(2026, 0, 2));
    assert.equal(full?.PRICE, 19.99);
    assert.deepEqual(empty, { ID: 2, AMOUNT: null, CITY: null, RUSH: null, PLACED_AT: null, DAY: null, PRICE: null });

    const filtered = await run('SELECT CITY, RUSH FROM ORDERS WHERE ID = ? AND RUSH = ?', [9007199254740991, true]);
    assert.deepEqual(filtered, [{ CITY: 'Lyon', RUSH: true }]);
  });
});

test('snowflake: VARIANT, BINARY, TIMESTAMP_TZ and negative timestamps keep their values', async () => {
  await withConnection(async (run) => {
    const rows = await run(`SELECT
      PARSE_JSON('{"tags": ["a", "b"], "n": 1.5}') AS V,
      TO_BINARY('CAFE', 'HEX') AS B,
      '2026-01-02 03:04:05.5+00:00'::TIMESTAMP_TZ AS TZ,
      '1969-12-31 23:59:58.75'::TIMESTAMP_NTZ AS OLD,
      FALSE AS F`);
    const [row] = rows;
    assert.deepEqual(row?.V, { tags: ['a', 'b'], n: 1.5 });
    assert.ok(Buffer.isBuffer(row?.B));
    assert.equal(row.B.toString('hex'), 'cafe');
    assert.ok(row?.TZ instanceof Date);
    assert.equal(row.TZ.getTime(), Date.UTC(2026, 0, 2, 3, 4, 5, 500));
    assert.ok(row?.OLD instanceof Date);
    assert.equal(row.OLD.getTime(), -1250);
    assert.equal(row?.F, false);
  });
});

function collect(stream: Readable): Promise<SnowflakeRow[]> {
  return new Promise((resolve, reject) => {
    const rows: SnowflakeRow[] = [];
    stream.on('data', (row: SnowflakeRow) => rows.push(row));
    stream.once('error', reject);
    stream.once('end', () => resolve(rows));
  });
}

test('snowflake: streamRows reads a few thousand rows in order', async () => {
  await withConnection(async (run, connection) => {
    await run('CREATE TABLE EVENTS AS SELECT SEQ4() AS ID, SEQ4() * 0.5 AS HALF FROM TABLE(GENERATOR(ROWCOUNT => 5000))');
    const statement = connection.execute({ sqlText: 'SELECT ID, HALF FROM EVENTS ORDER BY ID', streamResult: true });
    const rows = await collect(statement.streamRows());
    assert.equal(rows.length, 5000);
    assert.deepEqual(rows[0], { ID: 0, HALF: 0 });
    assert.deepEqual(rows[4999], { ID: 4999, HALF: 2499.5 });
    assert.ok(rows.every((row, i) => row.ID === i));
  });
});
