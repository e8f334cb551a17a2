// Unit tests of the Snowflake source's SQL, value conversions, error table and option checks: what can be
// pinned without a server (the integration suite runs the same code against fakesnow).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { redact } from '../../../../../adapters/common/redact.js';
import { classify, wrapDriverError } from '../../../../../adapters/sources/snowflake/errors.js';
import { snowflakeConnectionFromEnv } from '../../../../../adapters/sources/snowflake/index.js';
import { boundInstant, eventTimeKindOf, keysStatement, normalizeValue, quoteTableName, readStatement, subquery, toEpochMs, utcTimestampText } from '../../../../../adapters/sources/snowflake/sql.js';

const t = Date.UTC(2026, 0, 2, 3, 4, 5, 123);

test('the read statement binds both watermarks and quotes every identifier', () => {
  const statement = readStatement('"DB"."S"."ORDERS"', 'RESTAURANT_ID', 'COMPUTED_AT', ['avgPrep', 'N'], 'timestamp_ntz', t, t + 1000);
  assert.deepEqual(statement, {
    sqlText:
      'SELECT "RESTAURANT_ID", "COMPUTED_AT", "avgPrep", "N" FROM "DB"."S"."ORDERS" WHERE "COMPUTED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND "COMPUTED_AT" < CAST(? AS TIMESTAMP_NTZ) ORDER BY "COMPUTED_AT", "RESTAURANT_ID"',
    binds: ['2026-01-02 03:04:05.124', '2026-01-02 03:04:06.124'],
  });
  assert.deepEqual(readStatement('"T"', 'K', 'T', [], 'epoch_ms', null, 99), {
    sqlText: 'SELECT "K", "T" FROM "T" WHERE "T" < CAST(? AS DOUBLE) ORDER BY "T", "K"',
    binds: [100],
  });
  assert.deepEqual(keysStatement('"T"', 'K'), { sqlText: 'SELECT DISTINCT "K" FROM "T" WHERE "K" IS NOT NULL', binds: [] });
});

test('watermarks are bound in the column type: UTC text for timestamps, numbers for epoch columns', () => {
  assert.deepEqual(boundInstant('timestamp_ntz', t), { sql: 'CAST(? AS TIMESTAMP_NTZ)', value: '2026-01-02 03:04:05.123' });
  assert.deepEqual(boundInstant('timestamp_tz', t), { sql: 'CAST(? AS TIMESTAMP_TZ)', value: '2026-01-02 03:04:05.123+00:00' });
  assert.deepEqual(boundInstant('epoch_ms', t), { sql: 'CAST(? AS DOUBLE)', value: t });
  assert.deepEqual(boundInstant('epoch_s', 1500), { sql: 'CAST(? AS DOUBLE)', value: 1.5 });
  assert.equal(utcTimestampText(-1250), '1969-12-31 23:59:58.750');
  assert.deepEqual(
    ['TIMESTAMP_NTZ', 'date', 'timestamp_ltz', 'timestamp_tz', 'fixed', 'real', 'text', 'variant'].map((type) => eventTimeKindOf(type, 'milliseconds')),
    ['timestamp_ntz', 'timestamp_ntz', 'timestamp_tz', 'timestamp_tz', 'epoch_ms', 'epoch_ms', null, null],
  );
  assert.equal(eventTimeKindOf('fixed', 'seconds'), 'epoch_s');
});

test('event-time values become whole epoch milliseconds', () => {
  assert.equal(toEpochMs(new Date(t), 'milliseconds'), t);
  assert.equal(toEpochMs(t + 0.9, 'milliseconds'), t);
  assert.equal(toEpochMs(1767323045.1239, 'seconds'), 1767323045123);
  assert.equal(toEpochMs(BigInt(t), 'milliseconds'), t);
  assert.equal(toEpochMs('2026-01-02 03:04:05.123', 'milliseconds'), t);
  assert.equal(toEpochMs('2026-01-02T03:04:05.123Z', 'milliseconds'), t);
  assert.equal(toEpochMs('2026-01-02T05:04:05.123+02:00', 'milliseconds'), t);
  assert.equal(toEpochMs(String(t), 'milliseconds'), t);
  assert.equal(toEpochMs('yesterday', 'milliseconds'), null);
  assert.equal(toEpochMs(null, 'milliseconds'), null);
});

test('column values become JSON-safe feature values', () => {
  assert.deepEqual(normalizeValue({ at: new Date(t), bin: Buffer.from('cafe', 'hex'), big: 12n, huge: 2n ** 64n, list: [1, null, 'a'], n: null }), {
    at: '2026-01-02T03:04:05.123Z',
    bin: 'yv4=',
    big: 12,
    huge: '18446744073709551616',
    list: [1, null, 'a'],
    n: null,
  });
});

test('table names and queries are checked, then quoted or wrapped', () => {
  assert.equal(quoteTableName('t', 'DB.SCHEMA_1.orders$'), '"DB"."SCHEMA_1"."orders$"');
  for (const bad of ['', 'a b', 'a"b', "it's", '1abc', 'a..b', 'x;y']) assert.throws(() => quoteTableName('t', bad), { code: 'INVALID_CONFIG' }, bad);
  assert.equal(subquery('q', '  select 1 as x ;\n'), '(select 1 as x) AS "FG_SOURCE"');
  assert.throws(() => subquery('q', 'DELETE FROM t'), { code: 'INVALID_CONFIG', message: 'q must start with SELECT or WITH, got "DELETE FROM t"' });
});

test('driver errors map through the table; secrets never survive into the message or the cause', () => {
  assert.deepEqual(classify({ name: 'NetworkError', code: 401001 }), { code: 'SOURCE_UNAVAILABLE', retriable: true, reconnect: true });
  assert.deepEqual(classify({ name: 'OperationFailedError', code: '002003', sqlState: '42S02' }), { code: 'INVALID_CONFIG', retriable: false, reconnect: false });
  assert.deepEqual(classify({ name: 'OperationFailedError', code: '002002', sqlState: '42710' }), { code: 'SOURCE_UNAVAILABLE', retriable: true, reconnect: false });
  assert.deepEqual(classify({ name: 'OperationFailedError', code: '390100' }), { code: 'SOURCE_UNAVAILABLE', retriable: false, reconnect: true });
  assert.deepEqual(classify({ name: 'OperationFailedError', code: '000999', sqlState: '42000' }), { code: 'INVALID_CONFIG', retriable: false, reconnect: false });
  assert.deepEqual(classify(new Error('anything')), { code: 'SOURCE_UNAVAILABLE', retriable: true, reconnect: true });

  const key = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFLTBXBgkqhkiG9w0BBQ0wSjAp\n-----END ENCRYPTED PRIVATE KEY-----';
  assert.equal(redact(`login as fg with hunter2 via https://fg:hunter2@acme.snowflakecomputing.com and ${key}`, ['hunter2']), 'login as fg with *** via https://fg:***@acme.snowflakecomputing.com and [private key]');
  const wrapped = wrapDriverError('orders', 'read', Object.assign(new Error('bad password hunter2'), { name: 'OperationFailedError', code: '390100', request: { password: 'hunter2' } }), ['hunter2']);
  assert.equal(wrapped.message, 'snowflake source "orders": read failed: bad password ***');
  assert.equal(wrapped.driverCode, '390100');
  assert.ok(!inspect(wrapped, { depth: 20, showHidden: true }).includes('hunter2'));
});

test('connection settings from the environment; a missing variable is named, secrets are not', () => {
  const env = {
    FEATUREGRAPH_SNOWFLAKE_ACCOUNT: 'acme-prod',
    FEATUREGRAPH_SNOWFLAKE_USER: 'fg',
    FEATUREGRAPH_SNOWFLAKE_DATABASE: 'ANALYTICS',
    FEATUREGRAPH_SNOWFLAKE_SCHEMA: 'FEATURES',
    FEATUREGRAPH_SNOWFLAKE_WAREHOUSE: 'WH',
    FEATUREGRAPH_SNOWFLAKE_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----',
    // Without a host, a port meant for the local test server is not applied to the cloud endpoint.
    FEATUREGRAPH_SNOWFLAKE_PORT: '18085',
  };
  assert.deepEqual(snowflakeConnectionFromEnv(env), {
    account: 'acme-prod',
    username: 'fg',
    database: 'ANALYTICS',
    schema: 'FEATURES',
    warehouse: 'WH',
    privateKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----',
  });
  const local = { ...env, FEATUREGRAPH_SNOWFLAKE_PRIVATE_KEY: '', FEATUREGRAPH_SNOWFLAKE_PASSWORD: 'hunter2', FEATUREGRAPH_SNOWFLAKE_HOST: '127.0.0.1', FEATUREGRAPH_SNOWFLAKE_PROTOCOL: 'http' };
  assert.deepEqual(snowflakeConnectionFromEnv(local), { account: 'acme-prod', username: 'fg', database: 'ANALYTICS', schema: 'FEATURES', warehouse: 'WH', host: '127.0.0.1', port: 18085, protocol: 'http', password: 'hunter2' });
  assert.throws(() => snowflakeConnectionFromEnv({ ...env, FEATUREGRAPH_SNOWFLAKE_SCHEMA: undefined }), {
    code: 'INVALID_CONFIG',
    message: 'FEATUREGRAPH_SNOWFLAKE_SCHEMA is not set (the Snowflake source needs ACCOUNT, USER, PASSWORD or PRIVATE_KEY, DATABASE, SCHEMA)',
  });
  assert.throws(() => snowflakeConnectionFromEnv({ ...env, FEATUREGRAPH_SNOWFLAKE_PRIVATE_KEY: undefined }), { message: 'no password: set FEATUREGRAPH_SNOWFLAKE_PASSWORD (or FEATUREGRAPH_SNOWFLAKE_PRIVATE_KEY for key-pair authentication)' });
  // Every problem at once, so that a deployment is mended in one go.
  assert.throws(
    () => snowflakeConnectionFromEnv({ FEATUREGRAPH_SNOWFLAKE_ACCOUNT: 'acme-prod', FEATUREGRAPH_SNOWFLAKE_HOST: 'localhost', FEATUREGRAPH_SNOWFLAKE_PORT: '99999', FEATUREGRAPH_SNOWFLAKE_PASSWORD: 'hunter2' }),
    {
      code: 'INVALID_CONFIG',
      message: [
        '4 problems in the options:',
        '  - FEATUREGRAPH_SNOWFLAKE_PORT must be a port number, got "99999"',
        '  - FEATUREGRAPH_SNOWFLAKE_USER is not set (the Snowflake source needs ACCOUNT, USER, PASSWORD or PRIVATE_KEY, DATABASE, SCHEMA)',
        '  - FEATUREGRAPH_SNOWFLAKE_DATABASE is not set (the Snowflake source needs ACCOUNT, USER, PASSWORD or PRIVATE_KEY, DATABASE, SCHEMA)',
        '  - FEATUREGRAPH_SNOWFLAKE_SCHEMA is not set (the Snowflake source needs ACCOUNT, USER, PASSWORD or PRIVATE_KEY, DATABASE, SCHEMA)',
      ].join('\n'),
    },
  );
});
