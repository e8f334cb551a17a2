// Writes of batches that waited behind the same writes are merged into one per view and key
// (materializers/stream/prepare.ts mergeWrites): the store must end exactly as if it had
// applied each batch's writes one after another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryOnlineStore } from '../../../../adapters/online/memory/index.js';
import type { TileWrite } from '../../../../adapters/online/types.js';
import { mergeWrites, messagesPayload, prepareBatch } from '../../../../materializers/stream/prepare.js';
import { NOW, randomBatch, views } from '../../../fixtures/stream-events.js';

test('merged writes of consecutive batches leave the store as applying each batch in turn does', async () => {
  const topic = views();
  let merges = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const messages = randomBatch(seed, 300 + seed * 7);
    const cuts = [0, 40 + ((seed * 37) % 150), 200 + ((seed * 53) % 90), messages.length];
    // Each batch prepared at its own instant, a minute apart: keepFrom and availableTime move on.
    const prepare = () => cuts.slice(1).map((end, b) => prepareBatch(topic, { topic: 'orders', partition: 0, generation: 0 }, messagesPayload(messages.slice(cuts[b], end)), NOW + b * 60_000, false).writes);
    const oneByOne = new MemoryOnlineStore({ now: () => NOW });
    for (const writes of prepare()) await oneByOne.applyTiles(writes);
    const batches = prepare();
    const merged = mergeWrites(batches);
    merges += batches.flat().length - merged.length;
    const together = new MemoryOnlineStore({ now: () => NOW });
    assert.ok((await together.applyTiles(merged)).every((outcome) => outcome === 'applied'), `seed ${seed}`);
    const keys = [...new Map(batches.flat().map((w: TileWrite) => [`${w.view}/${w.key}`, { view: w.view, key: w.key }])).values()];
    assert.deepEqual(await together.read(keys), await oneByOne.read(keys), `seed ${seed}`);
  }
  assert.ok(merges > 100, `writes of one key in several batches were merged (${merges})`);
});
