// The in-process stream behaves as a Kafka consumer does when its handler fails: the batch comes again
// from its first offset after a backoff, the failure is reported, and the process never crashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStream } from '../../adapters/sources/memory/stream.js';
import { waitUntil } from '../fixtures/wait.js';

test('a failing handler gets its batch again from the first offset; nothing is lost or skipped', async () => {
  const stream = new MemoryStream(1);
  await stream.produce('t', [{ key: 'a', value: '1' }, { key: 'a', value: '2' }]);
  const errors: string[] = [];
  const seen: number[][] = [];
  let calls = 0;
  const consumer = await stream.consume({
    groupId: 'g',
    topics: ['t'],
    fromBeginning: true,
    handle: async (batch) => {
      calls++;
      seen.push(batch.messages.map((m) => m.offset));
      if (calls <= 2) throw new Error(`store down (${calls})`);
    },
    onError: (error) => errors.push((error as Error).message),
  });
  try {
    await waitUntil(() => calls >= 3, 30_000, () => `the batch handled a third time: ${JSON.stringify({ seen, errors })}`, 5);
    await stream.produce('t', [{ key: 'a', value: '3' }]);
    await waitUntil(() => seen.flat().includes(2), 30_000, () => `offset 2 handled: ${JSON.stringify({ seen, errors })}`, 5);
  } finally {
    await consumer.stop();
  }
  assert.deepEqual(errors, ['store down (1)', 'store down (2)']);
  assert.deepEqual(seen, [[0, 1], [0, 1], [0, 1], [2]]);
});
