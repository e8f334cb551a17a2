// `featuregraph monitor` without its sources: the schedule flags (and serve's --monitor-* names) with
// their refusals, --once's table and JSON lines over the window ending now, and the refusal of a
// served log that lives in a gateway's memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeaturegraphError } from '../../../../schema/errors.js';
import { defaultMonitorSchedule, monitorOnce, monitorScheduleOf } from '../../../../gateway/commands/monitor.js';
import { refuseMemoryServedLog } from '../../../../gateway/monitor-sources.js';
import { FakeHealthEngine, healthRow } from '../../../fixtures/health-engine.js';

const T = Date.UTC(2026, 5, 1, 12);

test('the schedule: every 1m over the last 1h by default, durations by flag, serve naming them --monitor-*', () => {
  assert.deepEqual(defaultMonitorSchedule, { everyMs: 60_000, intervalMs: 3_600_000 });
  assert.deepEqual(monitorScheduleOf({}), defaultMonitorSchedule);
  assert.deepEqual(monitorScheduleOf({ every: '30s', interval: '15m' }), { everyMs: 30_000, intervalMs: 900_000 });
  assert.deepEqual(monitorScheduleOf({ 'monitor-every': '5m', every: '1s' }, { every: 'monitor-every', interval: 'monitor-interval' }), { everyMs: 300_000, intervalMs: 3_600_000 });
  const refused = (values: Record<string, string>, message: string) =>
    assert.throws(() => monitorScheduleOf(values), (error: unknown) => error instanceof FeaturegraphError && error.code === 'INVALID_CONFIG' && error.message === message);
  refused({ every: '0' }, '--every must be a duration such as 30s, 5m or 1h30m, got "0"');
  refused({ interval: 'hourly' }, '--interval must be a duration such as 30s, 5m or 1h30m, got "hourly"');
});

test('--once: one run over [now - interval, now), as a table or as JSON lines', async () => {
  const engine = new FakeHealthEngine([
    healthRow({ segment: 'city=Berlin', missingRate: 0.5, psi: 0.31234, skewRate: 0.05, skewChecked: 40 }),
    healthRow({ feature: 'etaMinutes', view: null, mean: 23.456789, p50: null, p99: null, psi: null, skewRate: null, skewChecked: 0 }),
  ]);
  const table = await monitorOnce(engine, { everyMs: 60_000, intervalMs: 900_000 }, T, false);
  assert.deepEqual(engine.queries, [{ from: T - 900_000, to: T }]);
  assert.equal(
    table,
    [
      '[2026-06-01T11:45:00.000Z, 2026-06-01T12:00:00.000Z)',
      'feature                   segment      direction  values  missing%  stale%  null%  range%   mean  p50  p99    psi        skew',
      'Restaurant.ordersLast30m  city=Berlin  served        100      50.0     0.0    0.0     0.0    4.5    4   12  0.312  5.0% of 40',
      'Restaurant.etaMinutes     *            served        100       0.0     0.0    0.0     0.0  23.46    -    -      -           -',
      '',
    ].join('\n'),
  );
  const lines = (await monitorOnce(engine, { everyMs: 60_000, intervalMs: 900_000 }, T, true)).trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => [l.feature, l.segment, l.from, l.to, l.psi]), [
    ['ordersLast30m', 'city=Berlin', '2026-06-01T11:45:00.000Z', '2026-06-01T12:00:00.000Z', 0.31234],
    ['etaMinutes', '*', '2026-06-01T11:45:00.000Z', '2026-06-01T12:00:00.000Z', null],
  ]);
});

test('a served log in memory is refused with the ways that work; the shared sinks and none are not', () => {
  assert.throws(
    () => refuseMemoryServedLog('memory'),
    (error: unknown) => error instanceof FeaturegraphError && error.code === 'INVALID_CONFIG' && /^the served log is the memory sink: .*featuregraph serve --monitor.*servedLog\.sink embedded or kafka/.test(error.message),
  );
  for (const sink of ['embedded', 'kafka', null]) refuseMemoryServedLog(sink);
});
