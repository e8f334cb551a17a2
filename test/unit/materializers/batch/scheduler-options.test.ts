// Abuse: the scheduler's options are checked where they enter, every problem named at once with the
// contract and the bad value, before anything is scheduled (the in-process one: no Redis needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { MemoryOnlineStore } from '../../../../adapters/online/memory/index.js';
import { MemoryCheckpointStore } from '../../../../adapters/checkpoints/index.js';
import { MemoryRows } from '../../../../adapters/sources/memory/rows.js';
import { InProcessScheduler } from '../../../../materializers/batch/in-process-scheduler.js';
import type { SchedulerOptions } from '../../../../materializers/batch/scheduler.js';

test('bad scheduler options are refused, each named with its contract and value', async () => {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const base: SchedulerOptions = { registry, store: new MemoryOnlineStore(), checkpoints: new MemoryCheckpointStore(), rows: (def) => new MemoryRows(def.name), views: ['restaurant_prep', 'restaurant_order_activity'] };
  assert.throws(() => new InProcessScheduler({ ...base, attempts: 0, backoffMs: Number.NaN, overlapMs: -1, leaseMs: 10, reconcileEvery: 1.5, intervalMs: () => 0 }), {
    code: 'INVALID_CONFIG',
    message: [
      '7 problems in the options:',
      '  - scheduler: attempts (tries of a run, the first included) must be an integer from 1 to 100, got 0',
      '  - scheduler: backoffMs must be an integer from 1 to 3600000, got NaN',
      '  - scheduler: overlapMs must be an integer from 0 to 2147483647, got -1',
      '  - scheduler: leaseMs must be an integer from 1000 to 3600000, got 10',
      '  - scheduler: reconcileEvery must be an integer from 1 to 1000000, got 1.5',
      '  - scheduler: intervalMs of view restaurant_prep must be an integer from 1 to 2147483647, got 0',
      '  - scheduler: view restaurant_order_activity reads a stream; the scheduler runs views of tables and collections',
    ].join('\n'),
  });
});

test('a view fresh within months is still scheduled: its default interval is capped at the longest timer', async () => {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const view = registry.view('restaurant_prep');
  const slow = { ...view, freshnessMs: 90 * 24 * 3_600_000 };
  const scheduler = new InProcessScheduler({ registry: { ...registry, view: () => slow } as unknown as typeof registry, store: new MemoryOnlineStore(), checkpoints: new MemoryCheckpointStore(), rows: (def) => new MemoryRows(def.name), views: ['restaurant_prep'] });
  assert.equal(scheduler.materializers.size, 1);
  await scheduler.close();
});
