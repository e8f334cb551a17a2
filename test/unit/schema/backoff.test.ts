// The one retry rule and its loop (schema/errors.ts isRetriable, schema/backoff.ts): which failures are
// tried again, the delays between tries (growing, jittered, capped), the bounds (tries, time), and a stop
// that ends a pause at once. Pauses are recorded by an injected sleep, never waited, except where the
// abort of a real pause is what is tested.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, pause, retryWithBackoff, validBackoff, validRetry, WaitAborted, type RetryOptions } from '../../../schema/backoff.js';
import { ConfigError, FeaturegraphError, isRetriable, StreamHaltError } from '../../../schema/errors.js';

const down = (n: number) => new FeaturegraphError('SOURCE_UNAVAILABLE', `down (${n})`, { retriable: true });
const refused = new FeaturegraphError('INVALID_CONFIG', 'refused');

/** A sleep that records each delay and the clock it moves on, instead of waiting. */
function recorder() {
  const delays: number[] = [];
  let now = 1_000_000;
  return {
    delays,
    now: () => now,
    sleep: async (ms: number) => {
      delays.push(ms);
      now += ms;
      return true;
    },
  };
}

/** An attempt that fails with each of `failures` in turn, then resolves with 'done'; counts its calls. */
function failing(failures: readonly unknown[]) {
  const calls: number[] = [];
  return {
    calls,
    attempt: async (n: number) => {
      calls.push(n);
      if (n < failures.length) throw failures[n];
      return 'done';
    },
  };
}

test('backoff: steps grow by the factor up to maxMs, each drawn between half and one and a half of its step', () => {
  const at = (random: number) => (attempt: number) => backoffDelay(attempt, { initialMs: 100, maxMs: 1000, factor: 2, random: () => random });
  assert.deepEqual([0, 1, 2, 3, 4, 10].map(at(0.5)), [100, 200, 400, 800, 1000, 1000]);
  assert.deepEqual([0, 3, 10].map(at(0)), [50, 400, 500]);
  assert.deepEqual([0, 3, 10].map(at(0.999999)), [150, 1200, 1500]);
});

test('backoff and retry abuse: each bad option is refused naming it and the bad value', () => {
  const refusedWith = (check: () => void, message: string) => assert.throws(check, (error: unknown) => error instanceof ConfigError && error.message === message);
  refusedWith(() => validBackoff('kafka start-up', { initialMs: 0 }), 'kafka start-up: backoff initialMs must be a positive number of ms, got 0');
  refusedWith(() => validBackoff('kafka start-up', { maxMs: Number.NaN }), 'kafka start-up: backoff maxMs must be a positive number of ms, got NaN');
  refusedWith(() => validBackoff('kafka start-up', { initialMs: 500, maxMs: 100 }), 'kafka start-up: backoff maxMs (100) must be at least initialMs (500)');
  refusedWith(() => validBackoff('kafka start-up', { factor: 0.5 }), 'kafka start-up: backoff factor must be a number >= 1, got 0.5');
  refusedWith(() => validRetry('deadLetterRetry', { attempts: 0 }), 'deadLetterRetry: attempts must be an integer of at least 1, got 0');
  refusedWith(() => validRetry('deadLetterRetry', { attempts: 2.5 }), 'deadLetterRetry: attempts must be an integer of at least 1, got 2.5');
  refusedWith(() => validRetry('deadLetterRetry', {}, true), 'deadLetterRetry: attempts must be an integer of at least 1, got undefined');
  refusedWith(() => validRetry('the owner', { withinMs: -1 }), 'the owner: withinMs must be a positive number of ms, got -1');
  validRetry('unbounded', {});
});

test('isRetriable: a FeaturegraphError says so by its flag; an error of no known kind counts as the caller says (default retriable)', () => {
  assert.equal(isRetriable(down(1)), true);
  assert.equal(isRetriable(refused), false);
  assert.equal(isRetriable(new StreamHaltError('DEAD_LETTER_FAILED', 'refused every write')), false);
  assert.equal(isRetriable(new Error('ECONNRESET')), true);
  assert.equal(isRetriable('a string'), true);
  assert.equal(isRetriable(new Error('ECONNRESET'), false), false);
  assert.equal(isRetriable(down(1), false), true);
});

test('retryWithBackoff: a failure that is not retriable is thrown at once, with no pause and no onRetry', async () => {
  const clock = recorder();
  const { calls, attempt } = failing([refused]);
  const retries: unknown[] = [];
  await assert.rejects(retryWithBackoff(attempt, { what: 'a test', sleep: clock.sleep, onRetry: (e) => retries.push(e) }), (error: unknown) => error === refused);
  assert.deepEqual(calls, [0]);
  assert.deepEqual(clock.delays, []);
  assert.deepEqual(retries, []);
});

test('retryWithBackoff: retriable failures are tried again after delays that grow, jittered within [0.5, 1.5) of the step, capped at maxMs; onRetry hears each', async () => {
  const clock = recorder();
  const failures = [1, 2, 3, 4, 5, 6].map(down);
  const { calls, attempt } = failing(failures);
  const randoms = [0, 0.5, 0.999, 0, 0.5, 0.999];
  let drawn = 0;
  const retries: [unknown, number, number][] = [];
  const options: RetryOptions = { what: 'a test', initialMs: 100, maxMs: 1000, factor: 2, random: () => randoms[drawn++] as number, sleep: clock.sleep, onRetry: (e, n, ms) => retries.push([e, n, ms]) };
  assert.equal(await retryWithBackoff(attempt, options), 'done');
  assert.deepEqual(calls, [0, 1, 2, 3, 4, 5, 6]);
  // Steps 100, 200, 400, 800, then 1000 (the cap) twice; each times 0.5 + random.
  assert.deepEqual(clock.delays, [50, 200, 600, 400, 1000, 1499]);
  assert.deepEqual(retries, failures.map((e, n) => [e, n, clock.delays[n]]));
});

test('retryWithBackoff: an error of no known kind is retried by default, and thrown at once with unknownRetriable false', async () => {
  const reset = new Error('ECONNRESET');
  const clock = recorder();
  assert.equal(await retryWithBackoff(failing([reset, reset]).attempt, { what: 'a test', sleep: clock.sleep, random: () => 0.5 }), 'done');
  assert.deepEqual(clock.delays, [250, 500], 'the default backoff: 250 ms doubling');
  const strict = failing([reset]);
  await assert.rejects(retryWithBackoff(strict.attempt, { what: 'a test', sleep: clock.sleep, unknownRetriable: false }), (error: unknown) => error === reset);
  assert.deepEqual(strict.calls, [0]);
});

test('retryWithBackoff: once `attempts` tries failed, the last failure is thrown, with no pause after it', async () => {
  const clock = recorder();
  const failures = [1, 2, 3, 4].map(down);
  const { calls, attempt } = failing(failures);
  await assert.rejects(retryWithBackoff(attempt, { what: 'a test', attempts: 3, initialMs: 10, random: () => 0.5, sleep: clock.sleep }), (error: unknown) => error === failures[2]);
  assert.deepEqual(calls, [0, 1, 2]);
  assert.deepEqual(clock.delays, [10, 20]);
});

test('retryWithBackoff: a failure once withinMs has passed since the first try is thrown; one before it is tried again', async () => {
  const clock = recorder();
  const failures = [1, 2, 3, 4, 5, 6].map(down);
  const { calls, attempt } = failing(failures);
  // Pauses of 100, 200, 400: the fourth try starts 700 ms after the first, and fails past 600.
  await assert.rejects(retryWithBackoff(attempt, { what: 'a test', withinMs: 600, initialMs: 100, random: () => 0.5, sleep: clock.sleep, now: clock.now }), (error: unknown) => error === failures[3]);
  assert.deepEqual(calls, [0, 1, 2, 3]);
  assert.deepEqual(clock.delays, [100, 200, 400]);
});

test('retryWithBackoff: an abort ends a pause at once with WaitAborted; an aborted signal tries nothing; a try that fails after the abort is not retried', { timeout: 30_000 }, async () => {
  // A real pause of an hour: only the abort can end it before the test's timeout.
  const controller = new AbortController();
  let tries = 0;
  const waiting = retryWithBackoff(
    async () => {
      tries++;
      throw down(tries);
    },
    { what: 'the broker', initialMs: 3_600_000, maxMs: 3_600_000, signal: controller.signal, onRetry: () => setImmediate(() => controller.abort()) },
  );
  await assert.rejects(waiting, (error: unknown) => error instanceof WaitAborted && error.message === 'stopped while waiting for the broker');
  assert.equal(tries, 1);

  const clock = recorder();
  const none = failing([]);
  await assert.rejects(retryWithBackoff(none.attempt, { what: 'x', signal: AbortSignal.abort(), sleep: clock.sleep }), WaitAborted);
  assert.deepEqual(none.calls, []);

  const during = new AbortController();
  await assert.rejects(
    retryWithBackoff(
      async () => {
        during.abort();
        throw down(1);
      },
      { what: 'x', signal: during.signal, sleep: clock.sleep },
    ),
    WaitAborted,
  );
  assert.deepEqual(clock.delays, []);
});

test('pause resolves true once its time is up, false at once when its signal aborts', async () => {
  assert.equal(await pause(1), true);
  assert.equal(await pause(3_600_000, AbortSignal.abort()), false);
});
