// The monitor's loop on virtual time: a run at start and every `every`, each over the sliding window
// [now - interval, now); runs never overlap; a failed run is logged by its kind only (no value, no
// backend message), counted, and leaves the gauges of the last successful run; stop() waits for the
// run in progress and nothing runs after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeaturegraphError } from '../../../../schema/errors.js';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { metricNames } from '../../../../schema/telemetry.js';
import type { HealthRow } from '../../../../schema/health.js';
import { MonitorLoop, failureKind } from '../../../../materializers/monitor/loop.js';
import { MonitorMetrics } from '../../../../materializers/monitor/metrics.js';
import { VirtualTime } from '../../../fixtures/virtual-time.js';
import { FakeHealthEngine, healthRow } from '../../../fixtures/health-engine.js';

const registry = await loadFeatureRepo('examples/food-delivery/features');
const MIN = 60_000;
const HOUR = 3_600_000;

function setup() {
  const time = new VirtualTime();
  const engine = new FakeHealthEngine();
  const metrics = new MonitorMetrics(registry);
  const lines: string[] = [];
  const runs: { rows: readonly HealthRow[]; at: number }[] = [];
  const loop = new MonitorLoop({ engine, intervalMs: HOUR, everyMs: MIN, metrics, log: (line) => lines.push(line), now: time.now, timers: time, onRun: (rows, at) => runs.push({ rows, at }) });
  return { time, engine, metrics, lines, runs, loop, start: time.now() };
}

async function gauge(metrics: MonitorMetrics, name: string): Promise<[unknown, number][]> {
  const { resourceMetrics } = await metrics.collect();
  const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []).map((p) => [p.attributes.segment, p.value as number]);
}

test('runs at start, then every `every`, each over [now - interval, now)', async () => {
  const { time, engine, runs, loop, start } = setup();
  loop.start();
  await time.until(() => runs.length === 4, () => `${runs.length} runs`);
  await loop.stop();
  assert.deepEqual(
    engine.queries.map((q) => [q.from - start, q.to - start]),
    [0, 1, 2, 3].map((i) => [i * MIN - HOUR, i * MIN]),
  );
  assert.deepEqual(runs.map((r) => r.at - start), [0, MIN, 2 * MIN, 3 * MIN]);
  assert.deepEqual(loop.stats, { runs: 4, failures: 0 });
});

test('a failed run is logged by its kind only and counted; the gauges keep the last successful run', async () => {
  const { time, engine, metrics, lines, runs, loop } = setup();
  engine.next = [healthRow({ segment: 'city=Berlin', missingRate: 0.5 })];
  loop.start();
  await time.until(() => runs.length === 1, () => 'first run');
  // A driver's message may quote a connection string; a feature value must never reach the log.
  const driverError = Object.assign(new Error('connect ECONNREFUSED redis://:hunter2@10.0.0.7:6379 value=4.5'), { code: 'ECONNREFUSED' });
  engine.next = driverError;
  await time.until(() => loop.stats.failures === 2, () => `${loop.stats.failures} failures`);
  assert.equal(lines.length, 2);
  assert.match(lines[0] as string, /^monitor: the run for \[2026-06-01T11:01:00\.000Z, 2026-06-01T12:01:00\.000Z\) failed \(Error \(ECONNREFUSED\)\); the gauges keep the last successful run's values \(1 failed in a row\)$/);
  assert.match(lines[1] as string, /\(2 failed in a row\)$/);
  for (const line of lines) assert.doesNotMatch(line, /hunter2|10\.0\.0\.7|4\.5/);
  assert.deepEqual(await gauge(metrics, metricNames.monitorMissingRatio), [['city=Berlin', 0.5]]);
  assert.deepEqual(await gauge(metrics, metricNames.monitorFailures), [[undefined, 2]]);
  // A featuregraph error says what it is in its own words.
  engine.next = new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', 'history store embedded: not reachable');
  await time.until(() => loop.stats.failures === 3, () => 'third failure');
  assert.match(lines[2] as string, /failed \(HISTORY_STORE_UNAVAILABLE: history store embedded: not reachable\)/);
  engine.next = [healthRow({ segment: 'city=Rome', missingRate: 0.2 })];
  await time.until(() => runs.length === 2, () => 'recovered');
  await loop.stop();
  assert.equal(lines[3], 'monitor: runs succeed again after 3 failed');
  assert.deepEqual(await gauge(metrics, metricNames.monitorMissingRatio), [['city=Rome', 0.2]]);
  assert.deepEqual(loop.stats, { runs: 5, failures: 3 });
});

test('runs never overlap: nothing is scheduled while a run is in progress, the next is once it ends', async () => {
  const { time, engine, runs, loop, start } = setup();
  let finish: (() => void) | null = null;
  engine.next = (query) =>
    query.to === start
      ? new Promise<HealthRow[]>((resolve) => {
          finish = () => resolve([]);
        })
      : Promise.resolve([]);
  loop.start();
  // Nothing else is pending while the first run is in progress: no timer, no second run.
  await assert.rejects(time.until(() => false, () => 'the slow run'), /nothing left to fire/);
  assert.equal(engine.queries.length, 1);
  (finish as unknown as () => void)();
  await time.until(() => runs.length === 2, () => 'second run');
  await loop.stop();
  assert.deepEqual(engine.queries.map((q) => q.to - start), [0, MIN]);
});

test('stop() waits for the run in progress, and nothing runs after it', async () => {
  const { time, engine, runs, loop } = setup();
  let finish: (() => void) | null = null;
  engine.next = () =>
    new Promise<HealthRow[]>((resolve) => {
      finish = () => resolve([healthRow()]);
    });
  loop.start();
  await time.until(() => finish !== null, () => 'run started');
  let stopped = false;
  const stopping = loop.stop().then(() => (stopped = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stopped, false);
  (finish as unknown as () => void)();
  await stopping;
  assert.equal(runs.length, 1);
  await assert.rejects(time.until(() => false, () => 'after stop'), /nothing left to fire/);
  loop.start();
  assert.equal(engine.queries.length, 1, 'a stopped loop does not start again');
});

test('failureKind: a featuregraph error by code and message, anything else by name and code only', () => {
  assert.equal(failureKind(new FeaturegraphError('INTERNAL', 'x')), 'INTERNAL: x');
  assert.equal(failureKind(new TypeError('secret')), 'TypeError');
  assert.equal(failureKind(Object.assign(new Error('secret'), { code: 'ETIMEDOUT' })), 'Error (ETIMEDOUT)');
  assert.equal(failureKind('a string'), 'string');
});

test('an interval or every that is not a positive duration is refused', () => {
  assert.throws(() => new MonitorLoop({ engine: new FakeHealthEngine(), intervalMs: 0, everyMs: MIN, log: () => {} }), /interval and every must be positive durations, got 0 and 60000 ms/);
});
