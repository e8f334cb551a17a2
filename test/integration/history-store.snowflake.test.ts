// The Snowflake history store against fakesnow (test/services): the history-store conformance suite (its
// random point-in-time reads, both modes, equal the reference), then what is its own: one statement per
// view (and one for the views' watermarks in SERVED reads), on the conformance suite's views and histories; 20,000 entity rows in one read; options checked where they enter; no secret in any error. fakesnow has
// no DROP DATABASE, so every run works in a fresh schema of one shared database, dropped at the end.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type * as SnowflakeSdk from 'snowflake-sdk';
import { MemoryHistoryStore } from '../../adapters/history/memory/index.js';
import { SnowflakeHistoryStore, snowflakeHistoryOptions, type SnowflakeHistoryStoreOptions } from '../../adapters/history/snowflake/index.js';
import type { HistoryRecord, PointInTimeQuery } from '../../adapters/history/types.js';
import type { SnowflakeConnectionSettings } from '../../adapters/sources/snowflake/client.js';
import { historyStoreConformance } from '../conformance/history-store.js';
import { allFeatures, BASE, randomHistory, randomRows, windowFeatures } from '../conformance/history-store-reads.js';
import { closedPort } from '../conformance/row-source.js';
import { assertNoSecret, failure } from '../fixtures/errors.js';
import { seededRandom } from '../fixtures/stream.js';
import { requireEndpoint } from '../services/endpoints.js';
import { testSchema } from '../services/snowflake.js';

const endpoint = requireEndpoint('snowflake');
const database = 'FG_HISTORY';
const { schema, ready, drop } = testSchema(endpoint, database, 'RUN');
// Any password works on fakesnow; this one is recognizable, so that a test can look for it in messages.
const password = `pw-${randomUUID()}`;

let tables = 0;

// Once for the file (testSchema, not a module-level before(), which ran twice here).
after(drop);

function settings(overrides: Partial<SnowflakeConnectionSettings> = {}): SnowflakeConnectionSettings {
  return { ...endpoint, username: 'fg', password, database, schema, ...overrides } as SnowflakeConnectionSettings;
}

/** A store on a table of its own. */
async function openStore(options: Partial<SnowflakeHistoryStoreOptions> = {}): Promise<SnowflakeHistoryStore> {
  await ready;
  return SnowflakeHistoryStore.open({ connection: settings(), table: `HISTORY_${++tables}`, ...options });
}

historyStoreConformance('snowflake (fakesnow)', async () => {
  const store = await openStore();
  return { store, teardown: () => store.close() };
}, { exportsTrainingSets: false });

const reference = new MemoryHistoryStore();
const historyOf = randomHistory(7, 12, 40);
let shared: SnowflakeHistoryStore;
let sharedReady: Promise<void> | null = null;

/** The store that holds historyOf, filled on first use. */
function useShared(): Promise<void> {
  sharedReady ??= (async () => {
    shared = await openStore();
    await Promise.all([shared.append(historyOf), reference.append(historyOf)]);
  })();
  return sharedReady;
}

after(() => sharedReady?.then(() => shared.close()));

test('snowflake history: one point-in-time statement per view, whatever the number of rows and features', async () => {
  await useShared();
  const rows = randomRows(8, historyOf, 300);
  const before = shared.stats;
  await shared.readAsOf({ features: allFeatures, mode: 'SERVED' }, rows);
  const afterTwo = shared.stats;
  // create the rows table, upload the rows in one statement, one query per view (2), one for the views'
  // watermarks (SERVED only), drop the table.
  assert.equal(afterTwo.pointInTimeQueries - before.pointInTimeQueries, 2);
  assert.equal(afterTwo.watermarkQueries - before.watermarkQueries, 1);
  assert.equal(afterTwo.rowUploads - before.rowUploads, 3);
  assert.equal(afterTwo.statements - before.statements, 6);
  await shared.readAsOf({ features: windowFeatures.slice(0, 3), mode: 'EVENT_TIME' }, rows);
  assert.equal(shared.stats.pointInTimeQueries - afterTwo.pointInTimeQueries, 1);
  assert.equal(shared.stats.watermarkQueries - afterTwo.watermarkQueries, 0, 'EVENT_TIME reads no watermark');
  assert.equal(shared.stats.statements - afterTwo.statements, 4);
  // No rows or no features: nothing to ask the warehouse.
  const quiet = shared.stats.statements;
  assert.deepEqual(await shared.readAsOf({ features: allFeatures, mode: 'SERVED' }, []), []);
  assert.deepEqual(await shared.readAsOf({ features: [], mode: 'SERVED' }, rows.slice(0, 2)), [[], []]);
  assert.equal(shared.stats.statements, quiet);
});

test('snowflake history: at the driver, a read is exactly create rows table, upload, one SELECT per view, drop', async () => {
  // Counted where every statement leaves for the server: the driver's execute, wrapped on the store's connection.
  // The driver is CommonJS: the module the store loaded is this import's default export.
  const loaded = (await import('snowflake-sdk')) as typeof SnowflakeSdk & { default?: typeof SnowflakeSdk };
  const sdk = loaded.default ?? loaded;
  const sent: string[] = [];
  const createConnection = sdk.createConnection;
  sdk.createConnection = (options) => {
    const connection = createConnection(options);
    const execute = connection.execute.bind(connection);
    connection.execute = (statement) => {
      sent.push(statement.sqlText);
      return execute(statement);
    };
    return connection;
  };
  let store: SnowflakeHistoryStore;
  try {
    store = await openStore({ table: 'DRIVER_COUNT' });
  } finally {
    sdk.createConnection = createConnection;
  }
  try {
    await store.append(historyOf);
    sent.length = 0;
    const rows = randomRows(9, historyOf, 2000);
    const actual = await store.readAsOf({ features: allFeatures, mode: 'EVENT_TIME' }, rows);
    assert.deepEqual(actual, await reference.readAsOf({ features: allFeatures, mode: 'EVENT_TIME' }, rows));
    const kinds = sent.map((sql) => {
      if (sql.startsWith('CREATE TEMPORARY TABLE "FG_ASOF_')) return 'create rows table';
      if (sql.startsWith('INSERT INTO "FG_ASOF_')) return 'upload rows';
      if (sql.startsWith('WITH h AS (SELECT') && sql.includes('FROM "DRIVER_COUNT"')) return 'read history';
      if (sql.startsWith('DROP TABLE IF EXISTS "FG_ASOF_')) return 'drop rows table';
      return sql;
    });
    assert.deepEqual(kinds, ['create rows table', 'upload rows', 'read history', 'read history', 'drop rows table']);
  } finally {
    await store.close();
  }
});

test('snowflake history: 20,000 entity rows in one read, equal to the reference', async () => {
  const store = await openStore();
  try {
    const history = randomHistory(11, 400, 25);
    let started = performance.now();
    await store.append(history);
    const appendMs = performance.now() - started;
    const memory = new MemoryHistoryStore();
    await memory.append(history);
    const rows = randomRows(11, history, 20_000);
    const query: PointInTimeQuery = { features: allFeatures, mode: 'SERVED' };
    const statements = store.stats.statements;
    started = performance.now();
    const actual = await store.readAsOf(query, rows);
    const readMs = performance.now() - started;
    assert.equal(store.stats.statements - statements, 6);
    assert.deepEqual(actual, await memory.readAsOf(query, rows));
    process.stdout.write(`# snowflake history (fakesnow): append ${history.length} records in ${appendMs.toFixed(0)} ms; readAsOf ${rows.length} rows x ${allFeatures.length} features (2 views) in ${readMs.toFixed(0)} ms\n`);
  } finally {
    await store.close();
  }
});

test('snowflake history: sums and averages of arbitrary floats equal the reference to the bit; integer ones are summed by the warehouse', async () => {
  const store = await openStore({ table: 'FLOAT_SUMS' });
  try {
    const rng = seededRandom(3);
    const fare = (i: number) => (i % 2 === 0 ? (rng() - 0.5) * 10 ** Math.floor(rng() * 6) : Math.floor(rng() * 1000));
    const history: HistoryRecord[] = ['floats', 'integers'].flatMap((key) =>
      Array.from({ length: 300 }, (_, i) => ({ view: 'conf_courier_deliveries', key, id: `${key}${String(i).padStart(4, '0')}`, eventTime: BASE + i * 7000, availableTime: BASE + i * 7000, values: { fare: key === 'integers' ? Math.floor(rng() * 1000) : fare(i) } })),
    );
    const memory = new MemoryHistoryStore();
    await Promise.all([store.append(history), memory.append(history)]);
    const features = windowFeatures.filter((f) => f.window?.fn === 'sum' || f.window?.fn === 'avg');
    const rows = [BASE + 1_000_000, BASE + 1_500_000, BASE + 2_093_000].flatMap((asOf) => [{ key: 'floats', asOf }, { key: 'integers', asOf }]);
    const sent = store.stats.statements;
    const actual = await store.readAsOf({ features, mode: 'EVENT_TIME' }, rows);
    assert.equal(store.stats.statements - sent, 4);
    const expected = await memory.readAsOf({ features, mode: 'EVENT_TIME' }, rows);
    assert.deepEqual(actual, expected);
    // Without exact sums: the warehouse's SUM, equal up to the order of addition.
    const loose = await SnowflakeHistoryStore.open({ connection: settings(), table: 'FLOAT_SUMS', exactSums: false });
    try {
      const approximate = await loose.readAsOf({ features, mode: 'EVENT_TIME' }, rows);
      approximate.flat().forEach((read, i) => {
        const want = expected.flat()[i];
        assert.ok(want !== undefined && Math.abs((read.value as number) - (want.value as number)) <= 1e-9 * Math.max(1, Math.abs(want.value as number)), `${read.feature}: ${String(read.value)} vs ${String(want?.value)}`);
      });
    } finally {
      await loose.close();
    }
  } finally {
    await store.close();
  }
});

test('snowflake history: appends are batched by count and payload size, and stay idempotent across batches', async () => {
  const store = await openStore({ appendBatch: 100, payloadBytes: 4096 });
  try {
    const records: HistoryRecord[] = Array.from({ length: 450 }, (_, i) => ({ view: 'v', key: `k${i % 5}`, id: `id${i}`, eventTime: i, availableTime: i, values: { pad: 'x'.repeat(i % 50) } }));
    const statements = store.stats.statements;
    await store.append(records);
    assert.ok(store.stats.statements - statements >= 5, `batches: ${store.stats.statements - statements}`);
    await store.append([...records.slice(0, 10), { ...(records[0] as HistoryRecord), values: { pad: 'changed' } }]);
    assert.equal(await store.count('v'), 450);
    const seen: HistoryRecord[] = [];
    for await (const batch of store.scan({ view: 'v', keys: ['k0'], eventTimeTo: 100 })) seen.push(...batch);
    assert.deepEqual(seen.map((r) => r.id), ['id0', 'id5', 'id10', 'id15', 'id20', 'id25', 'id30', 'id35', 'id40', 'id45', 'id50', 'id55', 'id60', 'id65', 'id70', 'id75', 'id80', 'id85', 'id90', 'id95', 'id100']);
    assert.deepEqual(seen[0]?.values, { pad: '' });
  } finally {
    await store.close();
  }
});

test('snowflake history: 12,000 records in one append go in statements of bounded size and one MERGE; a replay appends nothing', async () => {
  // What a materializer appends after a backlog: one append of a large batch. Statements are counted
  // and measured where they leave for the server (the driver's execute, as in the test above).
  const loaded = (await import('snowflake-sdk')) as typeof SnowflakeSdk & { default?: typeof SnowflakeSdk };
  const sdk = loaded.default ?? loaded;
  const sent: { sql: string; bytes: number }[] = [];
  const createConnection = sdk.createConnection;
  sdk.createConnection = (options) => {
    const connection = createConnection(options);
    const execute = connection.execute.bind(connection);
    connection.execute = (statement) => {
      sent.push({ sql: statement.sqlText, bytes: (Array.isArray(statement.binds) ? statement.binds : []).reduce((sum: number, bind) => sum + Buffer.byteLength(String(bind)), 0) });
      return execute(statement);
    };
    return connection;
  };
  let store: SnowflakeHistoryStore;
  try {
    store = await openStore({ table: 'LARGE_APPEND' });
  } finally {
    sdk.createConnection = createConnection;
  }
  try {
    const records: HistoryRecord[] = Array.from({ length: 12_000 }, (_, i) => ({ view: 'big', key: `k${i % 97}`, id: `p0:${i}`, eventTime: BASE + i, availableTime: BASE + i + 5, values: { shopId: `k${i % 97}`, amount: i / 4, note: 'x'.repeat(300) } }));
    const defaults = { appendBatch: 10_000, payloadBytes: 4 * 1024 * 1024 };
    for (const round of ['first', 'replay'] as const) {
      sent.length = 0;
      await store.append(records);
      const kinds = sent.map(({ sql }) => (sql.startsWith('CREATE TEMPORARY TABLE "FG_STAGE_') ? 'create staging' : sql.startsWith('INSERT INTO "FG_STAGE_') ? 'stage' : sql.startsWith('MERGE INTO "LARGE_APPEND"') ? 'merge' : sql.startsWith('DROP TABLE IF EXISTS "FG_STAGE_') ? 'drop staging' : sql));
      const stages = kinds.filter((k) => k === 'stage').length;
      // About 6 MB of records: more than one payload's worth, so the bound on bytes splits them.
      assert.ok(stages >= 2, `${round}: ${stages} staging statements`);
      assert.deepEqual(kinds, ['create staging', ...Array.from({ length: stages }, () => 'stage'), 'merge', 'drop staging'], round);
      for (const { sql, bytes } of sent) assert.ok(bytes <= defaults.payloadBytes, `${round}: a statement bound ${bytes} bytes: ${sql.slice(0, 60)}`);
      assert.equal(await store.count('big'), 12_000, round);
    }
  } finally {
    await store.close();
  }
});

// Its options are pinned in test/unit/adapters/options.test.ts (checked before logging in: no server needed).
test('snowflake history: records and rows are checked where they enter, with the contract and the bad value', async () => {
  await useShared();
  await assert.rejects(shared.append([{ view: 'v', key: 'k', id: 'x', eventTime: 1.5, availableTime: 2, values: {} }]), { code: 'BAD_USER_INPUT', message: 'snowflake history store: records[0].eventTime must be an integer epoch ms, got 1.5' });
  await assert.rejects(shared.readAsOf({ features: allFeatures, mode: 'SERVED' }, [{ key: 'k', asOf: Number.NaN }]), { code: 'BAD_USER_INPUT', message: 'snowflake history store: rows[0].asOf must be an integer epoch ms, got null' });
});

test('snowflake history: the config entry takes settings from the file and secrets from the environment', () => {
  const env = { FEATUREGRAPH_SNOWFLAKE_PASSWORD: 'hunter2', FEATUREGRAPH_SNOWFLAKE_ACCOUNT: 'from-env', FEATUREGRAPH_SNOWFLAKE_USER: 'fg', FEATUREGRAPH_SNOWFLAKE_SCHEMA: 'S' };
  assert.deepEqual(snowflakeHistoryOptions({ type: 'snowflake', account: 'from-file', database: 'DB', host: '127.0.0.1', port: 18085, protocol: 'http', table: 'H' }, env), {
    connection: { account: 'from-env', username: 'fg', database: 'DB', schema: 'S', host: '127.0.0.1', port: 18085, protocol: 'http', password: 'hunter2' },
    table: 'H',
  });
});

test('snowflake history: an unreachable server fails fast with HISTORY_STORE_UNAVAILABLE, and no error holds the password', async () => {
  const port = await closedPort();
  const error = await failure(SnowflakeHistoryStore.open({ connection: settings({ port }), connectTimeoutMs: 500 }));
  // Fast means no retry loop: the one TCP check before the first statement refused it, so the driver,
  // which retries a statement for over a minute, never got one (npm run bench:outage times failures).
  assert.match(error.message, new RegExp(`cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)$`));
  assert.equal(error.code, 'HISTORY_STORE_UNAVAILABLE');
  assert.equal(error.retriable, true);
  assertNoSecret(error, password);
  // A statement the warehouse refuses (a database it does not have): not retriable, and scrubbed too.
  const refused = await failure(openStore({ table: 'NO_SUCH_DB.NO_SUCH_SCHEMA.H' }));
  assert.equal(refused.code, 'INVALID_CONFIG');
  assertNoSecret(refused, password);
  const store = await openStore();
  await store.close();
  await assert.rejects(store.count('v'), { code: 'HISTORY_STORE_UNAVAILABLE', message: /is closed$/ });
});
