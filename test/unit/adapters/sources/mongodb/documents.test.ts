// Unit tests of the MongoDB source's document handling and error table: what can be pinned without a
// server (the integration suite runs the same code against FerretDB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { BSON } from 'mongodb';
import { redact } from '../../../../../adapters/common/redact.js';
import { classify, wrapDriverError } from '../../../../../adapters/sources/mongodb/errors.js';
import { epochMsOf, filterOnFullDocument, keyOf, normalizeValue, parseToken, projectionFor, serializeToken, valueAt } from '../../../../../adapters/sources/mongodb/documents.js';

test('BSON values become JSON-safe feature values; keys become strings', () => {
  const id = new BSON.ObjectId('65a1b2c3d4e5f60718293a4b');
  assert.deepEqual(
    normalizeValue({
      id,
      at: new Date(Date.UTC(2026, 0, 1)),
      dec: BSON.Decimal128.fromString('12.5'),
      long: BSON.Long.fromNumber(2 ** 40),
      hugeLong: BSON.Long.fromString('9223372036854775807'),
      int: new BSON.Int32(7),
      bin: new BSON.Binary(Buffer.from('cafe', 'hex')),
      nested: { list: [1, 'a', null, { d: new BSON.Double(1.5) }] },
      missing: undefined,
    }),
    { id: '65a1b2c3d4e5f60718293a4b', at: '2026-01-01T00:00:00.000Z', dec: 12.5, long: 2 ** 40, hugeLong: '9223372036854775807', int: 7, bin: 'yv4=', nested: { list: [1, 'a', null, { d: 1.5 }] }, missing: null },
  );
  assert.deepEqual([keyOf(id), keyOf('r1'), keyOf(42), keyOf(null), keyOf(undefined), keyOf({ a: 1 }), keyOf(['a'])], ['65a1b2c3d4e5f60718293a4b', 'r1', '42', null, null, null, null]);
});

test('updated-at values: Dates and epoch-ms numbers, truncated to whole milliseconds', () => {
  assert.equal(epochMsOf(new Date(1234)), 1234);
  assert.equal(epochMsOf(1234.9), 1234);
  assert.equal(epochMsOf(BSON.Long.fromNumber(1234)), 1234);
  assert.equal(epochMsOf('2026-01-01T00:00:00Z'), null);
  assert.equal(epochMsOf(new Date(Number.NaN)), null);
  assert.equal(epochMsOf(null), null);
});

test('field paths read nested values; projections leave out paths under selected ones', () => {
  const doc = { a: { b: { c: 1 } }, list: [{ x: 1 }] };
  assert.equal(valueAt(doc, 'a.b.c'), 1);
  assert.equal(valueAt(doc, 'a.x.c'), undefined);
  assert.equal(valueAt(doc, 'list.x'), undefined);
  assert.deepEqual(projectionFor(['id', 'updatedAt', 'stats.menu', 'stats', 'stats.menu', 'statsExtra']), { id: 1, updatedAt: 1, stats: 1, statsExtra: 1 });
});

test('a definition filter follows change events on their fullDocument', () => {
  assert.deepEqual(filterOnFullDocument({ active: true, $or: [{ city: 'Lyon' }, { 'address.city': { $in: ['Paris'] } }] }, 'w'), {
    'fullDocument.active': true,
    $or: [{ 'fullDocument.city': 'Lyon' }, { 'fullDocument.address.city': { $in: ['Paris'] } }],
  });
  assert.throws(() => filterOnFullDocument({ $expr: { $gt: ['$a', 1] } }, 'mongodb source "r"'), {
    code: 'INVALID_CONFIG',
    message: "mongodb source \"r\": the filter's top-level $expr cannot be applied to change events; use field conditions, $and, $or or $nor",
  });
});

test('resume tokens round-trip as Extended JSON strings', () => {
  const token = { _data: '8263A1B2C3000000012B022C0100296E5A1004', ts: new BSON.Timestamp({ t: 1767225600, i: 3 }), bin: new BSON.Binary(Buffer.from([1, 2, 3])) };
  const text = serializeToken(token);
  assert.equal(typeof text, 'string');
  assert.deepEqual(parseToken(text, 'w'), token);
  assert.throws(() => parseToken('[1]', 'mongodb source "r"'), { code: 'INVALID_CONFIG', message: 'mongodb source "r": resumeAfter must be a token this source produced (Extended JSON of an object), got "[1]"' });
  assert.throws(() => parseToken('{', 'w'), { code: 'INVALID_CONFIG' });
});

test('driver errors map through the table; credentials never survive into the message or the cause', () => {
  assert.deepEqual(classify({ name: 'MongoServerSelectionError' }), { code: 'SOURCE_UNAVAILABLE', retriable: true });
  assert.deepEqual(classify({ name: 'MongoServerError', code: 2 }), { code: 'INVALID_CONFIG', retriable: false });
  assert.deepEqual(classify({ name: 'MongoServerError', code: 18 }), { code: 'SOURCE_UNAVAILABLE', retriable: false });
  assert.deepEqual(classify({ name: 'MongoServerError', code: 91 }), { code: 'SOURCE_UNAVAILABLE', retriable: true });
  assert.equal(redact('cannot connect to mongodb://fg:hunter2@db:27017/x and mongodb+srv://u:p%40ss@c.example.net', []), 'cannot connect to mongodb://fg:***@db:27017/x and mongodb+srv://u:***@c.example.net');
  const wrapped = wrapDriverError('restaurants', 'read', Object.assign(new Error('auth failed for hunter2'), { name: 'MongoServerError', code: 18, connection: { password: 'hunter2' } }), ['hunter2']);
  assert.equal(wrapped.message, 'mongodb source "restaurants": read failed: auth failed for ***');
  assert.equal(wrapped.code, 'SOURCE_UNAVAILABLE');
  assert.equal(wrapped.retriable, false);
  assert.ok(!inspect(wrapped, { depth: 20, showHidden: true }).includes('hunter2'));
});
