// watch() against a scripted change stream. The test services have no server with change streams
// (FerretDB has none; the integration suite pins that watch() refuses there), so this pins what the
// source does with the events such a server sends: rows, deletions, batches, resume tokens, stopping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BSON, MongoClient, type Document } from 'mongodb';
import type { SourceRow } from '../../../../../adapters/sources/types.js';
import { MongoRowSource } from '../../../../../adapters/sources/mongodb/index.js';
import { parseToken } from '../../../../../adapters/sources/mongodb/documents.js';
import { StopWaiting, waitUntil } from '../../../../fixtures/wait.js';

interface Call {
  pipeline: Document[];
  options: Document;
}

/** Hands out scripted events through tryNext(), then null (as an idle getMore does), until closed. */
class ScriptedStream {
  resumeToken: unknown = null;
  closed = false;
  constructor(private readonly events: Document[]) {}
  async tryNext(): Promise<Document | null> {
    if (this.closed) throw new Error('ChangeStream is closed');
    const next = this.events.shift();
    if (next === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return null;
    }
    this.resumeToken = next._id;
    return next;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A MongoClient whose collections hand out the scripted stream; it never connects anywhere. */
class ScriptedClient extends MongoClient {
  readonly calls: Call[] = [];
  constructor(readonly stream: ScriptedStream) {
    super('mongodb://127.0.0.1:1/');
  }
  override async connect(): Promise<this> {
    return this;
  }
  override db(): never {
    const collection = { watch: (pipeline: Document[], options: Document) => (this.calls.push({ pipeline, options }), this.stream) };
    return { collection: () => collection } as never;
  }
}

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);
const token = (n: number) => ({ _data: `82${String(n).padStart(4, '0')}` });

test('change events become rows and deletions, in batches, each with the token to resume after it', async () => {
  const stream = new ScriptedStream([
    { _id: token(1), operationType: 'insert', documentKey: { _id: 1 }, fullDocument: { _id: 1, id: 'r1', updatedAt: at(1), menu: 10, extra: 'x' } },
    { _id: token(2), operationType: 'update', documentKey: { _id: 2 }, fullDocument: { _id: 2, id: 'r2', updatedAt: at(2), menu: 20 } },
    // Updated, then deleted before the lookup: the delete event that follows carries it.
    { _id: token(3), operationType: 'update', documentKey: { _id: 3 }, fullDocument: null },
    { _id: token(4), operationType: 'delete', documentKey: { _id: 3 }, fullDocumentBeforeChange: { _id: 3, id: 'r3' }, wallTime: at(4) },
    // A delete without a pre-image: the key (id, not _id) is unknown; listKeys reconciliation finds it.
    { _id: token(5), operationType: 'delete', documentKey: { _id: 4 }, wallTime: at(5) },
    { _id: token(6), operationType: 'replace', documentKey: { _id: 5 }, fullDocument: { _id: 5, id: 'r5', updatedAt: at(6), menu: 50 } },
  ]);
  const client = new ScriptedClient(stream);
  const source = new MongoRowSource({
    client,
    database: 'app',
    batchSize: 2,
    definition: { kind: 'document', name: 'restaurants', collection: 'restaurants', keyField: 'id', updatedAtField: 'updatedAt', filter: { active: true } },
  });
  const handled: { rows: SourceRow[]; token: string }[] = [];
  const watch = await source.watch({ columns: ['menu'], resumeAfter: JSON.stringify(token(0)), handle: async (rows, t) => void handled.push({ rows, token: t }) });
  let ended: string | null = null;
  watch.done.then(
    () => (ended = 'ended'),
    (error: unknown) => (ended = `failed: ${String(error)}`),
  );
  try {
    await waitUntil(
      () => {
        if (ended !== null) throw new StopWaiting(`the watch ${ended} before handling every event: ${JSON.stringify(handled)}`);
        return (stream.resumeToken as { _data: string } | null)?._data === token(6)._data && handled.length >= 3;
      },
      30_000,
      () => `every scripted event handled: stream at ${JSON.stringify(stream.resumeToken)}, ${handled.length} batches handled`,
      5,
    );
  } finally {
    // A watch left running would keep the test process alive after a failure.
    await watch.stop();
  }
  await watch.done;

  assert.deepEqual(client.calls, [
    {
      pipeline: [{ $match: { $and: [{ operationType: { $in: ['insert', 'update', 'replace', 'delete'] } }, { $or: [{ operationType: 'delete' }, { 'fullDocument.active': true }] }] } }],
      options: { fullDocument: 'updateLookup', fullDocumentBeforeChange: 'whenAvailable', maxAwaitTimeMS: 1000, batchSize: 2, resumeAfter: token(0) },
    },
  ]);
  assert.deepEqual(
    handled.map((h) => ({ rows: h.rows, token: parseToken(h.token, 't') })),
    [
      { rows: [{ key: 'r1', eventTime: at(1).getTime(), values: { menu: 10 } }, { key: 'r2', eventTime: at(2).getTime(), values: { menu: 20 } }], token: token(2) },
      { rows: [{ key: 'r3', eventTime: at(4).getTime(), values: {}, deleted: true }], token: token(4) },
      { rows: [{ key: 'r5', eventTime: at(6).getTime(), values: { menu: 50 } }], token: token(6) },
    ],
  );
  assert.equal(source.stats.unmappedChanges, 1);
  assert.equal(stream.closed, true);
  // Tokens are canonical Extended JSON, so a BSON-typed token survives the checkpoint store.
  assert.equal(handled[0]?.token, BSON.EJSON.stringify(token(2), { relaxed: false }));
  await source.close();
});

test('an error thrown by handle ends the watch through done, as thrown; the stream is closed', async () => {
  const stream = new ScriptedStream([{ _id: token(1), operationType: 'delete', documentKey: { _id: 'r1' }, wallTime: at(1) }]);
  const source = new MongoRowSource({ client: new ScriptedClient(stream), database: 'app', definition: { kind: 'document', name: 'r', collection: 'r', keyField: '_id', updatedAtField: 'updatedAt' } });
  const boom = new Error('the online store is down');
  const watch = await source.watch({ columns: [], resumeAfter: null, handle: async () => Promise.reject(boom) });
  await assert.rejects(watch.done, (error) => error === boom);
  assert.equal(stream.closed, true);
  await watch.stop();
  await source.close();
});

test('an idle feed is told caught up once every change was handled, again at each empty wait; a feed whose handler failed is not', async () => {
  // Made anew per stream: a scripted stream hands its events out by taking them from the array.
  const inserts = (n: number) => Array.from({ length: n }, (_, i) => ({ _id: token(i + 1), operationType: 'insert', documentKey: { _id: `r${i + 1}` }, fullDocument: { _id: `r${i + 1}`, updatedAt: at(i + 1) } }));
  const definition = { kind: 'document', name: 'r', collection: 'r', keyField: '_id', updatedAtField: 'updatedAt' } as const;
  const source = new MongoRowSource({ client: new ScriptedClient(new ScriptedStream(inserts(3))), database: 'app', batchSize: 2, definition });
  let handledRows = 0;
  const told: { at: number; handledRows: number; toldAt: number }[] = [];
  const watch = await source.watch({
    columns: [],
    resumeAfter: null,
    handle: async (rows) => void (handledRows += rows.length),
    onCaughtUp: (caughtUpAt) => told.push({ at: caughtUpAt, handledRows, toldAt: Date.now() }),
  });
  try {
    await waitUntil(() => told.length >= 2, 30_000, () => `told ${told.length} times`, 5);
  } finally {
    await watch.stop();
  }
  assert.ok(told.every((t) => t.handledRows === 3), `told only once every change was handled: ${JSON.stringify(told)}`);
  assert.ok(told.every((t) => t.at <= t.toldAt));
  assert.ok((told.at(-1) as { at: number }).at > (told[0] as { at: number }).at, 'a later instant at a later empty wait');

  const failing = new MongoRowSource({ client: new ScriptedClient(new ScriptedStream(inserts(1))), database: 'app', definition });
  const failedTold: number[] = [];
  const broken = await failing.watch({ columns: [], resumeAfter: null, handle: async () => Promise.reject(new Error('the online store is down')), onCaughtUp: (t) => failedTold.push(t) });
  await assert.rejects(broken.done, /the online store is down/);
  assert.deepEqual(failedTold, []);
  await broken.stop();
  await source.close();
  await failing.close();
});
