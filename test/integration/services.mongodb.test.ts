// Smoke test of the MongoDB-wire server test/services starts (FerretDB on SQLite): the operations the
// Mongo source relies on work through the official driver. Each run uses its own database and drops it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { requireEndpoint } from '../services/endpoints.js';

interface Rating {
  restaurant: string;
  score: number;
  updatedAt: Date;
}

test('mongodb: insertMany, sorted and limited find, upsert, delete and count', async () => {
  const { url } = requireEndpoint('mongodb');
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  const db = client.db(`smoke_${randomUUID().replaceAll('-', '')}`);
  try {
    const ratings = db.collection<Rating>('ratings');
    const base = Date.UTC(2026, 0, 1);
    const docs = Array.from({ length: 10 }, (_, i) => ({ restaurant: `r${i}`, score: i * 1.5, updatedAt: new Date(base + i * 60_000) }));
    const inserted = await ratings.insertMany(docs);
    assert.equal(inserted.insertedCount, 10);

    const top = await ratings.find({}, { projection: { _id: 0 } }).sort({ score: -1 }).limit(3).toArray();
    assert.deepEqual(top.map((d) => d.restaurant), ['r9', 'r8', 'r7']);
    assert.equal(top[0]?.score, 13.5);
    assert.equal(top[0]?.updatedAt.getTime(), base + 9 * 60_000);

    const updated = await ratings.updateOne({ restaurant: 'r0' }, { $set: { score: 42 } });
    assert.equal(updated.modifiedCount, 1);
    const upserted = await ratings.updateOne({ restaurant: 'new' }, { $set: { score: 7, updatedAt: new Date(base) } }, { upsert: true });
    assert.equal(upserted.upsertedCount, 1);
    assert.equal((await ratings.findOne({ restaurant: 'r0' }))?.score, 42);
    assert.equal((await ratings.findOne({ restaurant: 'new' }))?.score, 7);

    const deleted = await ratings.deleteOne({ restaurant: 'r5' });
    assert.equal(deleted.deletedCount, 1);
    assert.equal(await ratings.countDocuments(), 10);
    assert.equal(await ratings.countDocuments({ score: { $gte: 7 } }), 6);
  } finally {
    await db.dropDatabase();
    await client.close();
  }
});
