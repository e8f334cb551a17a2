// The MongoDB row source against FerretDB (test/services): the row-source conformance suite, then what
// is MongoDB's own: outages and recovery, updated-at fields holding Dates or numbers, definition filters,
// field paths, ObjectId keys, and change streams, which FerretDB lacks: watch() must refuse with
// UNSUPPORTED_CAPABILITY so callers poll. The harness has no server with change streams, so the
// change-feed path itself is not exercised here. Each run uses a database of its own and drops it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { MongoClient, ObjectId, type Db, type Document } from 'mongodb';
import { MongoRowSource, type MongoRowSourceOptions } from '../../adapters/sources/mongodb/index.js';
import { FeaturegraphError } from '../../schema/errors.js';
import type { DocumentSourceDefinition } from '../../schema/types.js';
import type { RowSource, SourceRow } from '../../adapters/sources/types.js';
import { requireEndpoint } from '../services/endpoints.js';
import { assertNoSecret, failure } from '../fixtures/errors.js';
import { closedPort, rowSourceConformance, TcpProxy, type TestRow } from '../conformance/row-source.js';

const { url } = requireEndpoint('mongodb');
const databaseName = `fg_sources_${randomUUID().replaceAll('-', '')}`;
const password = `pw-${randomUUID()}`;
const farFuture = Date.UTC(2100, 0, 1);
const base = Date.UTC(2026, 0, 1);

let client: MongoClient;
let db: Db;
let collections = 0;

before(async () => {
  client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  db = client.db(databaseName);
});

after(async () => {
  await db.dropDatabase();
  await client.close();
});

function definition(collection: string, overrides: Partial<DocumentSourceDefinition> = {}): DocumentSourceDefinition {
  return { kind: 'document', name: `src_${collection}`, collection, keyField: 'id', updatedAtField: 'updated_at', ...overrides };
}

function source(collection: string, overrides: Partial<DocumentSourceDefinition> = {}, options: Partial<MongoRowSourceOptions> = {}): MongoRowSource {
  return new MongoRowSource({ url, database: databaseName, definition: definition(collection, overrides), ...options } as MongoRowSourceOptions);
}

function toDocument(row: TestRow): Document {
  return { id: row.key, updated_at: new Date(row.eventTime), ...row.values };
}

async function readAll(rowSource: RowSource, since: number | null, columns: string[] = [], until = farFuture): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  for await (const batch of rowSource.read({ since, until, columns })) rows.push(...batch);
  return rows;
}

async function listAll(rowSource: RowSource): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of rowSource.listKeys?.() ?? []) keys.push(...batch);
  return keys;
}

rowSourceConformance(
  'mongodb (FerretDB)',
  async () => {
    const name = `rows_${++collections}`;
    const collection = db.collection(name);
    const rowSource = source(name);
    return {
      source: rowSource,
      async insert(rows) {
        if (rows.length > 0) await collection.insertMany(rows.map(toDocument));
      },
      async update(rows) {
        for (const row of rows) await collection.updateMany({ id: row.key }, { $set: { updated_at: new Date(row.eventTime), ...row.values } });
      },
      async delete(keys) {
        await collection.deleteMany({ id: { $in: [...keys] } });
      },
      reopen: async () => source(name),
      async teardown() {
        await rowSource.close();
        await collection.drop().catch(() => undefined);
      },
    };
  },
  { lists: true },
);

test('mongodb source: a read against an unreachable server fails fast with SOURCE_UNAVAILABLE, retriable, without the password', async () => {
  const port = await closedPort();
  const unreachable = new MongoRowSource({
    url: `mongodb://fg:${encodeURIComponent(password)}@127.0.0.1:${port}/`,
    serverSelectionTimeoutMs: 300,
    database: databaseName,
    definition: definition('rows_x'),
  });
  try {
    // How long failing takes (the driver's server selection timeout) is measured by npm run bench:outage.
    const error = await failure(readAll(unreachable, null));
    assert.equal(error.code, 'SOURCE_UNAVAILABLE');
    assert.equal(error.retriable, true);
    assert.match(error.message, new RegExp(`^mongodb source "src_rows_x": read failed: .*127\\.0\\.0\\.1:${port}`));
    assertNoSecret(error, password);
    const keys = await failure(listAll(unreachable));
    assert.equal(keys.code, 'SOURCE_UNAVAILABLE');
    assertNoSecret(keys, password);
  } finally {
    await unreachable.close();
  }
});

test('mongodb source: a password given apart from the URL never reaches a message either', async () => {
  const port = await closedPort();
  const unreachable = new MongoRowSource({ url: `mongodb://127.0.0.1:${port}/`, username: 'fg', password, serverSelectionTimeoutMs: 200, database: databaseName, definition: definition('rows_x') });
  try {
    const error = await failure(readAll(unreachable, null));
    assert.equal(error.code, 'SOURCE_UNAVAILABLE');
    assertNoSecret(error, password);
  } finally {
    await unreachable.close();
  }
  assert.throws(() => new MongoRowSource({ url: `mongodb:/fg:${password}@nowhere`, database: databaseName, definition: definition('rows_x') }), (error: unknown) => {
    assert.ok(error instanceof FeaturegraphError);
    assert.equal(error.code, 'INVALID_CONFIG');
    assert.equal(error.message, 'mongodb source "src_rows_x": url must be a connection string starting with mongodb:// or mongodb+srv://, got "mongodb:/..."');
    return true;
  });
});

test('mongodb source: an outage fails reads fast; after it, the same source reads again', async () => {
  const name = `rows_${++collections}`;
  await db.collection(name).insertOne({ id: 'a', updated_at: new Date(base + 1), int_v: 1 });
  const proxy = new TcpProxy('127.0.0.1', Number(new URL(url).port));
  const port = await proxy.start();
  // The server is down when the source starts.
  await proxy.stop();
  const rowSource = new MongoRowSource({ url: `mongodb://127.0.0.1:${port}/`, serverSelectionTimeoutMs: 500, database: databaseName, definition: definition(name) });

  const failsFast = async () => {
    const error = await failure(readAll(rowSource, null, ['int_v']));
    assert.equal(error.code, 'SOURCE_UNAVAILABLE');
    assert.equal(error.retriable, true);
    assert.match(error.message, new RegExp(`^mongodb source "${definition(name).name}": read failed: `));
  };
  /**
   * The driver finds the server again by itself; until its monitor has, a read fails retriably. Only
   * retriable failures are allowed meanwhile; the deadline guards against a source that never recovers.
   */
  const readsAgain = async (since: number | null) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        return await readAll(rowSource, since, ['int_v']);
      } catch (error) {
        assert.ok(error instanceof FeaturegraphError && error.retriable, `only retriable failures while recovering: ${inspect(error)}`);
        assert.ok(Date.now() < deadline, `the source still failed 60 s after the server was back: ${inspect(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  try {
    await failsFast();
    await proxy.start();
    assert.deepEqual((await readsAgain(null)).map((r) => r.values), [{ int_v: 1 }]);

    await proxy.stop();
    await failsFast();

    await proxy.start();
    await db.collection(name).insertOne({ id: 'b', updated_at: new Date(base + 2), int_v: 2 });
    assert.deepEqual((await readsAgain(base + 1)).map((r) => [r.key, r.values.int_v]), [['b', 2]]);
  } finally {
    await rowSource.close();
    await proxy.stop();
  }
});

test('mongodb source: updated-at holding Dates and epoch-ms numbers reads in one order', async () => {
  const name = `rows_${++collections}`;
  await db.collection(name).insertMany([
    { id: 'd1', updated_at: new Date(base + 10), n: 1 },
    { id: 'n1', updated_at: base + 15, n: 2 },
    { id: 'd2', updated_at: new Date(base + 20), n: 3 },
    { id: 'n2', updated_at: base + 5, n: 4 },
    { id: 'n3', updated_at: base + 25.75, n: 5 },
    { id: 'nothing', n: 6 },
    { id: 'text', updated_at: '2026-01-01T00:00:00.030Z', n: 7 },
    { updated_at: new Date(base + 12), n: 8 },
  ]);
  const rowSource = source(name, {}, { batchSize: 2 });
  try {
    assert.deepEqual((await readAll(rowSource, null, ['n'])).map((r) => [r.key, r.eventTime, r.values.n]), [
      ['n2', base + 5, 4],
      ['d1', base + 10, 1],
      ['n1', base + 15, 2],
      ['d2', base + 20, 3],
      ['n3', base + 25, 5],
    ]);
    // Documents without a key name no entity; those without a Date or number updated-at never match.
    assert.equal(rowSource.stats.skippedDocuments, 1);
    assert.deepEqual((await readAll(rowSource, base + 10, [], base + 20)).map((r) => r.key), ['n1', 'd2']);
    // 25.75 is reported as 25: the window (25, ...] does not read it a second time.
    assert.deepEqual((await readAll(rowSource, base + 24, [], base + 25)).map((r) => [r.key, r.eventTime]), [['n3', base + 25]]);
    assert.deepEqual(await readAll(rowSource, base + 25), []);
  } finally {
    await rowSource.close();
  }
});

test('mongodb source: the definition filter applies to reads and key listings, also on the updated-at field', async () => {
  const name = `rows_${++collections}`;
  await db.collection(name).insertMany([
    { id: 'open1', active: true, updated_at: new Date(base + 1) },
    { id: 'closed', active: false, updated_at: new Date(base + 2) },
    { id: 'open2', active: true, updated_at: new Date(base + 3) },
    { id: 'open3', active: true, updated_at: new Date(base + 100) },
  ]);
  const active = source(name, { filter: { active: true } });
  const early = source(name, { filter: { active: true, updated_at: { $lt: new Date(base + 50) } } });
  try {
    assert.deepEqual((await readAll(active, null, ['active'])).map((r) => [r.key, r.values.active]), [['open1', true], ['open2', true], ['open3', true]]);
    assert.deepEqual((await listAll(active)).sort(), ['open1', 'open2', 'open3']);
    assert.deepEqual((await readAll(early, base + 1)).map((r) => r.key), ['open2']);
    assert.deepEqual((await listAll(early)).sort(), ['open1', 'open2']);
  } finally {
    await Promise.all([active.close(), early.close()]);
  }
});

test('mongodb source: nested field paths, ObjectId keys and BSON values as plain JSON values', async () => {
  const name = `rows_${++collections}`;
  const ids = [new ObjectId(), new ObjectId()];
  await db.collection(name).insertMany([
    { _id: ids[0], updated_at: new Date(base + 1), stats: { menuSize: 12, cuisine: 'thai' }, openedAt: new Date(base), tags: ['a'] },
    { _id: ids[1], updated_at: new Date(base + 2), stats: { menuSize: 3 }, ref: ids[0] },
  ]);
  const rowSource = source(name, { keyField: '_id' });
  try {
    const rows = await readAll(rowSource, null, ['stats.menuSize', 'stats.cuisine', 'stats', 'openedAt', 'ref', 'tags']);
    assert.deepEqual(rows, [
      { key: ids[0]?.toHexString(), eventTime: base + 1, values: { 'stats.menuSize': 12, 'stats.cuisine': 'thai', stats: { menuSize: 12, cuisine: 'thai' }, openedAt: new Date(base).toISOString(), ref: null, tags: ['a'] } },
      { key: ids[1]?.toHexString(), eventTime: base + 2, values: { 'stats.menuSize': 3, 'stats.cuisine': null, stats: { menuSize: 3 }, openedAt: null, ref: ids[0]?.toHexString(), tags: null } },
    ]);
    assert.deepEqual((await listAll(rowSource)).sort(), ids.map((id) => id.toHexString()).sort());
  } finally {
    await rowSource.close();
  }
});

test('mongodb source: watch() on FerretDB refuses with UNSUPPORTED_CAPABILITY naming the server, so callers poll', async () => {
  const name = `rows_${++collections}`;
  await db.collection(name).insertOne({ id: 'a', updated_at: new Date(base) });
  const rowSource = source(name);
  try {
    assert.ok(rowSource.watch);
    const error = await failure(rowSource.watch({ columns: [], resumeAfter: null, handle: async () => assert.fail('no change can arrive') }));
    assert.equal(error.code, 'UNSUPPORTED_CAPABILITY');
    assert.equal(error.retriable, false);
    assert.match(error.message, /^mongodb source "src_rows_\d+" \(server: FerretDB \S+ \(MongoDB [\d.]+ wire\)\) does not support change streams \(the server answered code 238\); poll with read\(\) by updated_at instead$/);
    // A resume token from a checkpoint goes the same way; a malformed one is refused before any call.
    const token = await failure(rowSource.watch({ columns: [], resumeAfter: '{"_data":"8263A1"}', handle: async () => undefined }));
    assert.equal(token.code, 'UNSUPPORTED_CAPABILITY');
    const malformed = await failure(rowSource.watch({ columns: [], resumeAfter: 'not json', handle: async () => undefined }));
    assert.equal(malformed.code, 'INVALID_CONFIG');
    // Polling still works on the same source.
    assert.deepEqual((await readAll(rowSource, null)).map((r) => r.key), ['a']);
  } finally {
    await rowSource.close();
  }
});
