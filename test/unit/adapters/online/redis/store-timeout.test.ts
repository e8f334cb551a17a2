// withStoreTimeout under a controlled loop clock: a timeout is the store's lateness (idle time waiting
// for it, or wall time since the command was written), never the time the process was busy elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withStoreTimeout, type LoopClock } from '../../../../../adapters/online/redis/store-timeout.js';

/** A clock the test moves: idle time and wall time advance only when told. */
function fakeClock(): LoopClock & { idle: number; now: number } {
  const clock = { idle: 0, now: 0, idleMs: () => clock.idle, nowMs: () => clock.now };
  return clock;
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 3));
};

/** Watches a promise: 'pending' until it settles. */
function watch(promise: Promise<unknown>): { state: () => string } {
  let state = 'pending';
  promise.then(
    (value) => (state = `resolved ${String(value)}`),
    (error: unknown) => (state = `rejected ${error instanceof Error ? error.message : String(error)}`),
  );
  return { state: () => state };
}

const never = () => new Promise<never>(() => {});
const late = () => new Error('late');

test('a busy loop (no idle time, no wall time passing) is never the store\'s fault', async () => {
  const clock = fakeClock();
  const read = watch(withStoreTimeout(never(), { timeoutMs: 2, maxWaitMs: 50, onTimeout: late, clock }));
  await turns(10);
  assert.equal(read.state(), 'pending', 'many real timer rounds later, the store has not been waited for');
  clock.idle = 1.5;
  await turns(5);
  assert.equal(read.state(), 'pending', 'idle 1.5 of 2 ms');
  clock.idle = 2;
  await turns(5);
  assert.equal(read.state(), 'rejected late');
});

test('idle time before the send is not the store\'s', async () => {
  const clock = fakeClock();
  clock.idle = 1000;
  const read = watch(withStoreTimeout(never(), { timeoutMs: 5, maxWaitMs: 50, onTimeout: late, clock }));
  await turns(5);
  assert.equal(read.state(), 'pending');
  clock.idle = 1005;
  await turns(5);
  assert.equal(read.state(), 'rejected late');
});

test('a loop that never idles still gives up after maxWaitMs of wall time, counted from the write', async () => {
  const clock = fakeClock();
  const read = watch(withStoreTimeout(never(), { timeoutMs: 2, maxWaitMs: 40, onTimeout: late, clock }));
  // The process was busy before it wrote the command (written in the loop's next check phase).
  clock.now = 5000;
  await turns(5);
  assert.equal(read.state(), 'pending', 'the time before the write is not the store\'s');
  clock.now = 5039;
  await turns(5);
  assert.equal(read.state(), 'pending', '39 of 40 ms since the write');
  clock.now = 5040;
  await turns(5);
  assert.equal(read.state(), 'rejected late');
});

test('an answer in time wins; a failure is passed on as it is; a late answer changes nothing', async () => {
  const clock = fakeClock();
  assert.equal(await withStoreTimeout(Promise.resolve(7), { timeoutMs: 2, maxWaitMs: 40, onTimeout: late, clock }), 7);
  await assert.rejects(withStoreTimeout(Promise.reject(new Error('ECONNREFUSED')), { timeoutMs: 2, maxWaitMs: 40, onTimeout: late, clock }), /ECONNREFUSED/);
  let answer: (value: number) => void = () => {};
  const slow = new Promise<number>((resolve) => (answer = resolve));
  const read = watch(withStoreTimeout(slow, { timeoutMs: 2, maxWaitMs: 40, onTimeout: late, clock }));
  clock.idle = 3;
  await turns(5);
  answer(8);
  await turns(1);
  assert.equal(read.state(), 'rejected late');
});

test('the event loop clock counts the idle time of a wait, not of a busy stretch', async () => {
  const { eventLoopClock } = await import('../../../../../adapters/online/redis/store-timeout.js');
  const idle0 = eventLoopClock.idleMs();
  const start = eventLoopClock.nowMs();
  while (eventLoopClock.nowMs() - start < 30) {
    // busy: no idle time accrues
  }
  assert.equal(eventLoopClock.idleMs() - idle0, 0, 'a synchronous busy stretch adds no idle time');
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(eventLoopClock.idleMs() - idle0 > 0, 'waiting on a timer does');
});
