// The Snowflake row source against fakesnow (test/services): the row-source conformance suite, then what
// is Snowflake's own: outages and recovery, one session for every statement, bound parameters, the
// event-time column types it compares, query-defined sources. fakesnow has no DROP DATABASE, so every
// run works in a fresh schema of one shared database and drops it with CASCADE at the end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Binds, Connection } from 'snowflake-sdk';
import { SnowflakeRowSource, type SnowflakeConnectionSettings, type SnowflakeRowSourceOptions } from '../../adapters/sources/snowflake/index.js';
import type { BatchSourceDefinition } from '../../schema/types.js';
import type { RowSource, SourceRow } from '../../adapters/sources/types.js';
import { requireEndpoint } from '../services/endpoints.js';
import { assertNoSecret, failure } from '../fixtures/errors.js';
import { connectSnowflake, destroySnowflake, executeSql, type SnowflakeRow } from '../services/snowflake.js';
import { closedPort, rowSourceConformance, TcpProxy, type TestRow } from '../conformance/row-source.js';

const endpoint = requireEndpoint('snowflake');
const database = 'FG_SOURCES';
const schema = `RUN_${randomUUID().replaceAll('-', '').slice(0, 12).toUpperCase()}`;
// Any password works on fakesnow; this one is recognizable, so that a test can look for it in messages.
const password = `pw-${randomUUID()}`;
const farFuture = Date.UTC(2100, 0, 1);
const base = Date.UTC(2026, 0, 1);

let admin: Connection;
let tables = 0;

before(async () => {
  admin = await connectSnowflake(endpoint);
  await executeSql(admin, `CREATE DATABASE IF NOT EXISTS ${database}`);
  await executeSql(admin, `CREATE SCHEMA ${database}.${schema}`);
  await executeSql(admin, `USE SCHEMA ${database}.${schema}`);
});

after(async () => {
  await executeSql(admin, `DROP SCHEMA IF EXISTS ${database}.${schema} CASCADE`);
  await destroySnowflake(admin);
});

const run = (sql: string, binds?: Binds): Promise<SnowflakeRow[]> => executeSql(admin, sql, binds);

function settings(overrides: Partial<SnowflakeConnectionSettings> = {}): SnowflakeConnectionSettings {
  return { ...endpoint, username: 'fg', password, database, schema, ...overrides } as SnowflakeConnectionSettings;
}

function definition(table: string, overrides: Partial<BatchSourceDefinition> = {}): BatchSourceDefinition {
  return { kind: 'batch', name: `src_${table.toLowerCase()}`, table, keyColumn: 'id', eventTimeColumn: 'updated_at', ...overrides };
}

function source(table: string, options: Partial<SnowflakeRowSourceOptions> = {}): SnowflakeRowSource {
  return new SnowflakeRowSource({ connection: settings(), definition: definition(table), ...options });
}

function utcText(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

const tableColumns = `"id" VARCHAR, "updated_at" TIMESTAMP_NTZ, "int_v" NUMBER(38, 0), "float_v" FLOAT, "str_v" VARCHAR, "bool_v" BOOLEAN, "null_v" VARCHAR, "floats" ARRAY, "strings" ARRAY`;

function rowBinds(row: TestRow): (string | number | boolean | null)[] {
  const v = row.values;
  const list = (value: unknown[] | null | undefined) => (value === null || value === undefined ? null : JSON.stringify(value));
  return [row.key, utcText(row.eventTime), v.int_v, v.float_v, v.str_v, v.bool_v, v.null_v, list(v.floats), list(v.strings)];
}

/** Bulk insert, 200 rows per statement: fakesnow runs array binds row by row (2,500 rows: ~26 s). */
async function insertRows(table: string, rows: readonly TestRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 200) {
    const chunk = rows.slice(i, i + 200);
    // FROM VALUES with column1..N (fakesnow answers $1..$N with a server error), PARSE_JSON for ARRAY.
    await run(
      `INSERT INTO "${table}" SELECT column1, CAST(column2 AS TIMESTAMP_NTZ), CAST(column3 AS NUMBER(38, 0)), CAST(column4 AS FLOAT), column5, CAST(column6 AS BOOLEAN), column7, PARSE_JSON(column8), PARSE_JSON(column9) FROM VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      chunk.flatMap(rowBinds),
    );
  }
}

async function newTable(): Promise<string> {
  const table = `ROWS_${++tables}`;
  await run(`CREATE TABLE "${table}" (${tableColumns})`);
  return table;
}

async function readAll(rowSource: RowSource, since: number | null, columns: string[] = [], until = farFuture): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  for await (const batch of rowSource.read({ since, until, columns })) rows.push(...batch);
  return rows;
}

rowSourceConformance(
  'snowflake (fakesnow)',
  async () => {
    const table = await newTable();
    const rowSource = source(table);
    return {
      source: rowSource,
      insert: (rows) => insertRows(table, rows),
      async update(rows) {
        for (const row of rows) {
          const [key, ...rest] = rowBinds(row);
          await run(
            `UPDATE "${table}" SET "updated_at" = CAST(? AS TIMESTAMP_NTZ), "int_v" = ?, "float_v" = ?, "str_v" = ?, "bool_v" = ?, "null_v" = ?, "floats" = PARSE_JSON(?), "strings" = PARSE_JSON(?) WHERE "id" = ?`,
            [...rest, key ?? null],
          );
        }
      },
      async delete(keys) {
        await run(`DELETE FROM "${table}" WHERE "id" IN (${keys.map(() => '?').join(', ')})`, [...keys]);
      },
      reopen: async () => source(table),
      async teardown() {
        await rowSource.close();
        await run(`DROP TABLE IF EXISTS "${table}"`);
      },
    };
  },
  { lists: true },
);

// Fast, in these tests, means that no retry loop ran: the failure comes from the one TCP check before
// the statement (its message says "cannot reach"), and no statement reached the driver, which would
// retry it for over a minute. How long failing takes is measured by npm run bench:outage.
test('snowflake source: a read against an unreachable server fails fast with SOURCE_UNAVAILABLE, retriable, without the password', async () => {
  const port = await closedPort();
  const unreachable = new SnowflakeRowSource({ connection: settings({ port }), definition: definition('ROWS_X') });
  try {
    const error = await failure(readAll(unreachable, null));
    assert.equal(error.code, 'SOURCE_UNAVAILABLE');
    assert.equal(error.retriable, true);
    assert.match(error.message, new RegExp(`^snowflake source "src_rows_x": read failed: cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)$`));
    assert.equal(unreachable.stats.statements, 0, 'no statement was handed to the driver');
    assertNoSecret(error, password);
    const keysError = await failure((async () => {
      for await (const _ of unreachable.listKeys()) void _;
    })());
    assert.equal(keysError.code, 'SOURCE_UNAVAILABLE');
    assert.equal(unreachable.stats.logins, 0);
  } finally {
    await unreachable.close();
  }
});

test('snowflake source: a failed login keeps the password and the private key out of the error', async () => {
  // fakesnow accepts any password; a listening port that is not Snowflake makes the login itself fail.
  const proxy = new TcpProxy('127.0.0.1', await closedPort());
  const port = await proxy.start();
  const privateKey = `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC${randomUUID()}\n-----END PRIVATE KEY-----`;
  const withPassword = new SnowflakeRowSource({ connection: settings({ port }), definition: definition('ROWS_X'), loginRetries: 0 });
  const withKey = new SnowflakeRowSource({ connection: { ...endpoint, port, username: 'fg', privateKey, database, schema }, definition: definition('ROWS_X'), loginRetries: 0 });
  try {
    const first = await failure(readAll(withPassword, null));
    assert.equal(first.code, 'SOURCE_UNAVAILABLE');
    assert.equal(first.retriable, true);
    assert.match(first.message, /^snowflake source "src_rows_x": read \(login\) failed: /);
    assertNoSecret(first, password);
    const second = await failure(readAll(withKey, null));
    assert.equal(second.code, 'SOURCE_UNAVAILABLE');
    assertNoSecret(second, privateKey.split('\n')[1] as string);
  } finally {
    await Promise.all([withPassword.close(), withKey.close()]);
    await proxy.stop();
  }
});

test('snowflake source: an outage fails reads fast; after it, reads work again on a new session', async () => {
  const table = await newTable();
  await insertRows(table, [{ key: 'a', eventTime: base + 1, values: { int_v: 1, float_v: 1, str_v: 'a', bool_v: true, null_v: null } }]);
  const proxy = new TcpProxy(endpoint.host, endpoint.port);
  const port = await proxy.start();
  const rowSource = new SnowflakeRowSource({ connection: settings({ port }), definition: definition(table) });
  try {
    assert.deepEqual((await readAll(rowSource, null, ['int_v'])).map((r) => r.values), [{ int_v: 1 }]);
    assert.equal(rowSource.stats.logins, 1);

    await proxy.stop();
    const statements = rowSource.stats.statements;
    const error = await failure(readAll(rowSource, null, ['int_v']));
    assert.equal(error.code, 'SOURCE_UNAVAILABLE');
    assert.equal(error.retriable, true);
    assert.match(error.message, new RegExp(`^snowflake source "${definition(table).name}": read failed: cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)$`));
    assert.equal(rowSource.stats.statements, statements, 'no statement was handed to the driver');
    assertNoSecret(error, password);

    await proxy.start();
    await insertRows(table, [{ key: 'b', eventTime: base + 2, values: { int_v: 2, float_v: 2, str_v: 'b', bool_v: false, null_v: null } }]);
    assert.deepEqual((await readAll(rowSource, base + 1, ['int_v'])).map((r) => [r.key, r.values.int_v]), [['b', 2]]);
    // The failure dropped the old session; recovery logged in once more.
    assert.equal(rowSource.stats.logins, 2);
  } finally {
    await rowSource.close();
    await proxy.stop();
  }
});

test('snowflake source: one session serves every statement of a source', async () => {
  const table = await newTable();
  await insertRows(table, Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 7}`, eventTime: base + i, values: { int_v: i, float_v: i, str_v: null, bool_v: null, null_v: null } })));
  const rowSource = source(table, { batchSize: 4 });
  try {
    const [all, recent] = await Promise.all([readAll(rowSource, null, ['int_v']), readAll(rowSource, base + 25)]);
    assert.equal(all.length, 30);
    assert.deepEqual(recent.map((r) => r.eventTime), [base + 26, base + 27, base + 28, base + 29]);
    const keys: string[][] = [];
    for await (const batch of rowSource.listKeys()) keys.push(batch);
    assert.ok(keys.every((batch) => batch.length <= 4));
    assert.deepEqual(keys.flat().sort(), ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
    assert.equal(rowSource.stats.logins, 1);
  } finally {
    await rowSource.close();
  }
});

test('snowflake source: values are bound, never spliced: quotes in keys and strings are data', async () => {
  const table = await newTable();
  const hostile = [`o'brien`, `x"; DROP TABLE "${table}"; --`, `'); DELETE FROM "${table}"; --`, '\\', '?'];
  await insertRows(table, hostile.map((key, i) => ({ key, eventTime: base + i + 1, values: { int_v: i, float_v: null, str_v: key, bool_v: null, null_v: null } })));
  const rowSource = source(table);
  try {
    const rows = await readAll(rowSource, null, ['str_v']);
    assert.deepEqual(rows.map((r) => [r.key, r.values.str_v]), hostile.map((k) => [k, k]));
    const keys: string[] = [];
    for await (const batch of rowSource.listKeys()) keys.push(...batch);
    assert.deepEqual(keys.sort(), [...hostile].sort());
    assert.deepEqual(await run(`SELECT COUNT(*) AS N FROM "${table}"`), [{ N: hostile.length }]);
  } finally {
    await rowSource.close();
  }
});

test('snowflake source: identifiers with quotes or other characters are refused before any statement', async () => {
  const bad = (overrides: Partial<BatchSourceDefinition>) => () => new SnowflakeRowSource({ connection: settings(), definition: definition('ROWS_1', overrides) });
  assert.throws(bad({ table: 'ROWS_1"; DROP TABLE "ROWS_1' }), {
    code: 'INVALID_CONFIG',
    message: 'snowflake source "src_rows_1": table must be an identifier matching /^[A-Za-z_][A-Za-z0-9_$]{0,254}$/ (letters, digits, _ and $, quoted as written, so case-sensitive), got "ROWS_1\\"; DROP TABLE \\"ROWS_1"',
  });
  assert.throws(bad({ table: "it's" }), { code: 'INVALID_CONFIG' });
  assert.throws(bad({ table: 'A.B.C.D' }), { code: 'INVALID_CONFIG', message: /at most three parts/ });
  assert.throws(bad({ keyColumn: 'id" OR 1=1 --' }), { code: 'INVALID_CONFIG', message: /keyColumn must be an identifier/ });
  assert.throws(bad({ eventTimeColumn: '' }), { code: 'INVALID_CONFIG', message: /eventTimeColumn must be an identifier/ });
  assert.throws(bad({ query: 'SELECT 1' }), { code: 'INVALID_CONFIG', message: /exactly one of table or query/ });
  const table = await newTable();
  const rowSource = source(table);
  try {
    const error = await failure(readAll(rowSource, null, ['int_v", "str_v']));
    assert.equal(error.code, 'INVALID_CONFIG');
    assert.match(error.message, /columns\[0\] must be an identifier/);
    assert.equal(rowSource.stats.statements, 0);
    assert.equal(rowSource.stats.logins, 0);
  } finally {
    await rowSource.close();
  }
});

test('snowflake source: a table the warehouse does not have is INVALID_CONFIG, not retried', async () => {
  const rowSource = source('NO_SUCH_TABLE');
  try {
    const error = await failure(readAll(rowSource, null));
    assert.equal(error.code, 'INVALID_CONFIG');
    assert.equal(error.retriable, false);
    assert.match(error.message, /^snowflake source "src_no_such_table": read \(event-time column type\) failed: .*NO_SUCH_TABLE/);
  } finally {
    await rowSource.close();
  }
});

test('snowflake source: event times from TIMESTAMP_TZ, DATE and epoch NUMBER columns; a text column is refused', async () => {
  const t = base + 86_400_000 * 3 + 12_345;
  await run(`CREATE TABLE "TIMES" ("id" VARCHAR, "tz" TIMESTAMP_TZ, "day" DATE, "ms" NUMBER(38, 0), "s" FLOAT, "txt" VARCHAR)`);
  await run(`INSERT INTO "TIMES" VALUES (?, CAST(? AS TIMESTAMP_TZ), CAST(? AS DATE), ?, ?, ?), (?, CAST(? AS TIMESTAMP_TZ), CAST(? AS DATE), ?, ?, ?)`, [
    'a', `${utcText(t)}+00:00`, '2026-01-04', t, t / 1000, 'x',
    'b', `${utcText(t + 1)}+00:00`, '2026-01-05', t + 1, (t + 1) / 1000, 'y',
  ]);
  const sources: SnowflakeRowSource[] = [];
  const on = (eventTimeColumn: string, options: Partial<SnowflakeRowSourceOptions> = {}) => {
    const s = new SnowflakeRowSource({ connection: settings(), definition: definition('TIMES', { eventTimeColumn, name: `times_${eventTimeColumn}` }), ...options });
    sources.push(s);
    return s;
  };
  try {
    for (const [column, options] of [['tz', {}], ['ms', {}], ['s', { epochUnit: 'seconds' as const }]] as const) {
      const s = on(column, options);
      assert.deepEqual((await readAll(s, null)).map((r) => [r.key, r.eventTime]), [['a', t], ['b', t + 1]], column);
      assert.deepEqual((await readAll(s, t)).map((r) => r.key), ['b'], `${column}: since is exclusive`);
      assert.deepEqual((await readAll(s, null, [], t)).map((r) => r.key), ['a'], `${column}: until is inclusive`);
    }
    const days = on('day');
    assert.deepEqual((await readAll(days, null)).map((r) => [r.key, r.eventTime]), [['a', Date.UTC(2026, 0, 4)], ['b', Date.UTC(2026, 0, 5)]]);
    assert.deepEqual((await readAll(days, Date.UTC(2026, 0, 4))).map((r) => r.key), ['b']);
    const text = await failure(readAll(on('txt'), null));
    assert.equal(text.code, 'INVALID_CONFIG');
    assert.equal(text.message, 'snowflake source "times_txt": event-time column "txt" is TEXT; it must be TIMESTAMP_NTZ, TIMESTAMP_LTZ, TIMESTAMP_TZ, DATE or a number (epoch milliseconds): cast it in the source\'s query');
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
});

test('snowflake source: sub-millisecond event times are reported truncated and read exactly once', async () => {
  await run(`CREATE TABLE "FINE" ("id" VARCHAR, "updated_at" TIMESTAMP_NTZ(9))`);
  await run(`INSERT INTO "FINE" VALUES ('a', '2026-01-01 00:00:00.010500'), ('b', '2026-01-01 00:00:00.011000'), ('c', '2026-01-01 00:00:00.011999')`);
  const rowSource = source('FINE');
  try {
    assert.deepEqual((await readAll(rowSource, null)).map((r) => [r.key, r.eventTime]), [['a', base + 10], ['b', base + 11], ['c', base + 11]]);
    assert.deepEqual((await readAll(rowSource, base + 9, [], base + 10)).map((r) => r.key), ['a']);
    assert.deepEqual((await readAll(rowSource, base + 10, [], base + 11)).map((r) => r.key), ['b', 'c']);
    assert.deepEqual((await readAll(rowSource, base + 11)).map((r) => r.key), []);
  } finally {
    await rowSource.close();
  }
});

test('snowflake source: a query-defined source reads computed columns', async () => {
  const table = await newTable();
  await insertRows(table, [1, 2, 3].map((i) => ({ key: `k${i}`, eventTime: base + i, values: { int_v: i, float_v: null, str_v: null, bool_v: i !== 2, null_v: null } })));
  const rowSource = new SnowflakeRowSource({
    connection: settings(),
    definition: { kind: 'batch', name: 'doubled', query: `SELECT "id", "updated_at", "int_v" * 2 AS "doubled" FROM "${table}" WHERE "bool_v";`, keyColumn: 'id', eventTimeColumn: 'updated_at' },
  });
  try {
    assert.deepEqual((await readAll(rowSource, null, ['doubled'])).map((r) => [r.key, r.values.doubled]), [['k1', 2], ['k3', 6]]);
    assert.deepEqual((await readAll(rowSource, base + 1, ['doubled'])).map((r) => r.key), ['k3']);
  } finally {
    await rowSource.close();
  }
});

test('snowflake source: a closed source refuses reads', async () => {
  const rowSource = source('ROWS_1');
  await rowSource.close();
  const error = await failure(readAll(rowSource, null));
  assert.equal(error.code, 'SOURCE_UNAVAILABLE');
  assert.equal(error.retriable, false);
  assert.match(error.message, /is closed/);
});
