// The Kafka source's commit bookkeeping, against a stand-in consumer: what gets committed when chunks
// are applied out of order or fail, and where a partition is sent back after a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Consumer, Logger } from 'kafkajs';
import { CommitPipeline } from './pipeline.js';

function deferred(): { promise: Promise<void>; resolve(): void; reject(error: Error): void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function standIn() {
  const commits: { topic: string; partition: number; offset: string }[][] = [];
  const seeks: { topic: string; partition: number; offset: string }[] = [];
  const consumer = {
    commitOffsets: async (offsets: { topic: string; partition: number; offset: string }[]) => {
      commits.push(offsets);
    },
    seek: (to: { topic: string; partition: number; offset: string }) => {
      seeks.push(to);
    },
  } as unknown as Consumer;
  const quiet = () => undefined;
  const logger = { error: quiet, warn: quiet, info: quiet, debug: quiet } as unknown as Logger;
  return { commits, seeks, pipeline: new CommitPipeline(consumer, logger, 60_000) };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('offsets are committed only up to the first chunk not yet applied', async () => {
  const { commits, pipeline } = standIn();
  const [a, b, c] = [deferred(), deferred(), deferred()];
  pipeline.handOver('t', 0, 0, 9, a.promise);
  pipeline.handOver('t', 0, 10, 19, b.promise);
  pipeline.handOver('t', 0, 20, 29, c.promise);
  b.resolve();
  await settle();
  await pipeline.commit();
  assert.deepEqual(commits, [], 'chunk 0-9 is still pending');
  a.resolve();
  await settle();
  await pipeline.commit();
  assert.deepEqual(commits, [[{ topic: 't', partition: 0, offset: '20' }]]);
  c.resolve();
  await pipeline.drain();
  assert.deepEqual(commits.at(-1), [{ topic: 't', partition: 0, offset: '30' }]);
});

test('a failed chunk sends its partition back to its first offset, and nothing past it is committed until it is applied', async () => {
  const { commits, seeks, pipeline } = standIn();
  const [a, b] = [deferred(), deferred()];
  pipeline.handOver('t', 1, 0, 9, Promise.resolve());
  pipeline.handOver('t', 1, 10, 19, a.promise);
  pipeline.handOver('t', 1, 20, 29, b.promise);
  a.reject(new Error('store unavailable'));
  b.reject(new Error('an earlier batch failed'));
  await settle();
  assert.deepEqual(seeks, [{ topic: 't', partition: 1, offset: '10' }], 'one seek, to the first failed chunk');
  // A later chunk that applied anyway (a handler that does not chain) must not move the commit past the failure.
  pipeline.handOver('t', 1, 30, 39, Promise.resolve());
  await settle();
  await pipeline.commit();
  assert.deepEqual(commits, [[{ topic: 't', partition: 1, offset: '10' }]]);
  // The replay from offset 10 is applied: now everything up to 39 is.
  await pipeline.beforeHandOver('t', 1, 10, async () => undefined);
  pipeline.handOver('t', 1, 10, 39, Promise.resolve());
  await pipeline.drain();
  assert.deepEqual(commits.at(-1), [{ topic: 't', partition: 1, offset: '40' }]);
});
