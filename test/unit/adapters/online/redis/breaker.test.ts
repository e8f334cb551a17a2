// The breaker under a controlled clock: a run of failures opens it only once it has lasted
// minFailingMs, so one stall that fails every read in flight at once does not refuse reads afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker } from '../../../../../adapters/online/redis/breaker.js';

function breaker(minFailingMs?: number) {
  const clock = { now: 1000 };
  return { clock, b: new CircuitBreaker({ failureThreshold: 3, openMs: 500, minFailingMs, now: () => clock.now }) };
}

test('without a minimum duration, the threshold of failures in a row opens it', () => {
  const { b } = breaker();
  b.failure();
  b.failure();
  assert.equal(b.allow(), true);
  b.failure();
  assert.equal(b.allow(), false);
});

test('many failures at one instant are one stall: the circuit stays closed', () => {
  const { b, clock } = breaker(75);
  for (let i = 0; i < 10; i++) b.failure();
  assert.equal(b.isOpen, false);
  clock.now += 74;
  b.failure();
  assert.equal(b.allow(), true, '74 ms of failing');
  clock.now += 1;
  b.failure();
  assert.equal(b.allow(), false, 'failing for 75 ms: open');
  clock.now += 499;
  assert.equal(b.allow(), false);
  clock.now += 1;
  assert.equal(b.allow(), true, 'one trial after openMs');
  assert.equal(b.allow(), false, 'only one');
});

test('a success ends the run: failing starts again from the next failure', () => {
  const { b, clock } = breaker(75);
  b.failure();
  b.failure();
  clock.now += 100;
  b.success();
  b.failure();
  b.failure();
  b.failure();
  assert.equal(b.isOpen, false, 'three failures, but for 0 ms');
  clock.now += 75;
  b.failure();
  assert.equal(b.isOpen, true);
});

test('a failed trial opens the circuit again at once; a good one closes it', () => {
  const { b, clock } = breaker(75);
  b.failure();
  clock.now += 80;
  b.failure();
  b.failure();
  assert.equal(b.isOpen, true);
  clock.now += 500;
  assert.equal(b.allow(), true);
  b.failure();
  assert.equal(b.allow(), false, 'reopened');
  clock.now += 500;
  assert.equal(b.allow(), true);
  b.success();
  assert.equal(b.isOpen, false);
  assert.equal(b.allow(), true);
});
