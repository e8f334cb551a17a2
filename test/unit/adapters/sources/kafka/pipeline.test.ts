// The Kafka source's commit bookkeeping, against a stand-in consumer: what gets committed when chunks
// are applied out of order or fail, and where a partition is sent back after a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Consumer, Logger } from 'kafkajs';
import { FeaturegraphError, StreamHaltError } from '../../../../../schema/errors.js';
import { CommitPipeline } from '../../../../../adapters/sources/kafka/pipeline.js';

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
  const commits: { topic: string; partition: number; offset: string; metadata?: string }[][] = [];
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
  const halts: FeaturegraphError[] = [];
  const errors: unknown[] = [];
  return { commits, seeks, halts, errors, pipeline: new CommitPipeline(consumer, logger, 60_000, { onHalt: (error) => halts.push(error), onError: (error) => errors.push(error) }) };
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

test('a failed chunk sends its partition back to its first offset, is told to onError, and nothing past it is committed until it is applied', async () => {
  const { commits, seeks, errors, pipeline } = standIn();
  const [a, b] = [deferred(), deferred()];
  pipeline.handOver('t', 1, 0, 9, Promise.resolve());
  pipeline.handOver('t', 1, 10, 19, a.promise);
  pipeline.handOver('t', 1, 20, 29, b.promise);
  const [down, earlier] = [new Error('store unavailable'), new Error('an earlier batch failed')];
  a.reject(down);
  b.reject(earlier);
  await settle();
  assert.deepEqual(seeks, [{ topic: 't', partition: 1, offset: '10' }], 'one seek, to the first failed chunk');
  assert.deepEqual(errors, [down, earlier], 'each failure is told, with its error');
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

test('offsets are committed with their incarnation; a reset drops what the old incarnation had not committed', async () => {
  const { commits, seeks, errors, pipeline } = standIn();
  const [late, failing] = [deferred(), deferred()];
  pipeline.handOver('t', 0, 0, 9, Promise.resolve(), 'A');
  await settle();
  await pipeline.commit();
  assert.deepEqual(commits, [[{ topic: 't', partition: 0, offset: '10', metadata: 'A' }]]);
  pipeline.handOver('t', 0, 10, 19, late.promise, 'A');
  pipeline.handOver('t', 0, 20, 29, failing.promise, 'A');
  // The topic was created again: its offsets start at 0 under incarnation B.
  pipeline.reset('t', 0, 'B');
  late.resolve();
  failing.reject(new Error('store unavailable'));
  pipeline.handOver('t', 0, 0, 4, Promise.resolve(), 'B');
  await settle();
  assert.deepEqual(seeks, [], "a failure of the old incarnation's chunk does not send the new one back");
  assert.deepEqual(errors, [], 'nor is it told: it is not handed over again');
  await pipeline.drain();
  assert.deepEqual(commits.slice(1), [[{ topic: 't', partition: 0, offset: '5', metadata: 'B' }]], 'offset 20 of A is never committed onto B');
});

test('a hand-over in another incarnation than the partition had (after a join) starts its bookkeeping afresh', async () => {
  const { commits, pipeline } = standIn();
  pipeline.handOver('t', 0, 100, 199, Promise.resolve(), 'A');
  await settle();
  pipeline.handOver('t', 0, 0, 9, Promise.resolve(), 'B');
  await pipeline.drain();
  assert.deepEqual(commits.at(-1), [{ topic: 't', partition: 0, offset: '10', metadata: 'B' }]);
});

test('a chunk that fails with a StreamHaltError stops the pipeline: no seek, no retry, nothing from it committed, told once', async () => {
  const { commits, seeks, halts, errors, pipeline } = standIn();
  const halt = new StreamHaltError('DEAD_LETTER_FAILED', 'dead-letter topic t.dead-letter refused');
  pipeline.handOver('t', 0, 0, 9, Promise.resolve(), 'A');
  pipeline.handOver('t', 0, 10, 19, Promise.reject(halt), 'A');
  pipeline.handOver('t', 0, 20, 29, Promise.reject(halt), 'A');
  pipeline.handOver('t', 1, 0, 9, Promise.resolve(), 'A');
  await settle();
  assert.equal(pipeline.stopping, true);
  assert.deepEqual(halts, [halt]);
  assert.deepEqual(errors, [], 'a halt is no failure to retry');
  assert.deepEqual(seeks, []);
  await pipeline.drain();
  assert.deepEqual(commits.flat().sort((a, b) => a.partition - b.partition), [
    { topic: 't', partition: 0, offset: '10', metadata: 'A' },
    { topic: 't', partition: 1, offset: '10', metadata: 'A' },
  ]);
});

test('retry or stop is the one rule: a retriable FeaturegraphError sends the partition back, one that is not retriable stops the pipeline', async () => {
  const { seeks, halts, errors, pipeline } = standIn();
  const [unavailable, refused] = [new FeaturegraphError('ONLINE_STORE_UNAVAILABLE', 'store down', { retriable: true }), new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', 'credentials refused')];
  pipeline.handOver('t', 0, 0, 9, Promise.reject(unavailable), 'A');
  await settle();
  assert.deepEqual([seeks, errors, halts, pipeline.stopping], [[{ topic: 't', partition: 0, offset: '0' }], [unavailable], [], false]);
  pipeline.handOver('t', 1, 0, 9, Promise.reject(refused), 'A');
  await settle();
  assert.deepEqual([seeks.length, errors, halts, pipeline.stopping], [1, [unavailable], [refused], true]);
  // Stopped: the pause before the replay ends at once, whatever it would have been.
  await pipeline.beforeHandOver('t', 0, 0, async () => assert.fail('no heartbeat: nothing is waited'));
  await pipeline.drain();
});
