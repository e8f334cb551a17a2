// The stream oracle scenario (test/fixtures/stream-oracle.ts) in chunks of 100 messages, with every tile
// write 40 ms slower, like a Redis across a slow network: a partition's chunks then queue behind its
// writes and are written as one group (a key's events of several batches in one write), which must change nothing the oracle sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runStreamOracle } from '../fixtures/stream-oracle.js';

test('stream materializer vs oracle with a slow store: batches waiting behind the same writes are written as one', { timeout: 120_000 }, async (t) => {
  const materializer = await runStreamOracle(t, { writeDelayMs: 40, chunkSize: 100 });
  t.diagnostic(`batches written together with the one before them: ${materializer.stats.groupedBatches}`);
  assert.ok(materializer.stats.groupedBatches > 0, 'some batches were grouped, or this run proves nothing about groups');
});
