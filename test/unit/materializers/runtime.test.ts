// The materializer runtime that `serve --demo` and `featuregraph materialize` share: views of tables
// and collections go through its scheduler (here in-process, on virtual time), and a view whose kind of
// source the process did not bind stops the start, naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../../schema/load.js';
import { MemoryOnlineStore } from '../../../adapters/online/memory/index.js';
import { MemoryRows } from '../../../adapters/sources/memory/rows.js';
import { startMaterializers } from '../../../materializers/runtime.js';
import type { BatchRun } from '../../../materializers/batch/scheduler.js';
import { VirtualTime } from '../../fixtures/virtual-time.js';

test('a view whose kind of source is not bound stops the start, naming it', async () => {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const store = new MemoryOnlineStore();
  await assert.rejects(
    startMaterializers({ registry, store, views: ['restaurant_prep', 'restaurant_profile'], bindings: { stream: () => assert.fail('no stream views') } }),
    { code: 'INVALID_CONFIG', message: 'no source is bound for views restaurant_prep (batch), restaurant_profile (document)' },
  );
});

test('row views run on their schedule through the scheduler: a late row within the overlap is read by the next run', async () => {
  const time = new VirtualTime();
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const store = new MemoryOnlineStore({ now: time.now });
  const prep = new MemoryRows('restaurant_prep_stats');
  prep.upsert({ key: 'r1', eventTime: time.now() - 60_000, values: { AVG_PREP_SECONDS_7D: 600 } });
  const runs: BatchRun[] = [];
  const runtime = await startMaterializers({
    registry,
    store,
    views: ['restaurant_prep'],
    now: time.now,
    bindings: { rows: () => prep },
    scheduler: { type: 'in-process', timers: time },
    schedule: { onRun: (run) => runs.push(run) },
  });
  try {
    await time.until(() => runs.length >= 1, () => 'the run at start');
    assert.deepEqual(runs.map((r) => [r.outcome, r.rows, r.scheduledFor]), [['done', 1, time.now()]]);
    // A row that arrives after that run, stamped before the watermark it saved (a late row).
    prep.upsert({ key: 'r2', eventTime: time.now() - 120_000, values: { AVG_PREP_SECONDS_7D: 700 } });
    await time.until(() => runs.length >= 2, () => 'the next slot');
    // restaurant_prep is fresh within 2 h: the next run is an hour after the first.
    assert.equal((runs[1]?.scheduledFor ?? 0) - (runs[0]?.scheduledFor ?? 0), 3_600_000);
    assert.equal(runs[1]?.rows, 2, 'the overlap reads the late row (and r1 again)');
    const [value] = await store.read([{ view: 'restaurant_prep', key: 'r2' }]);
    assert.equal(value?.values?.avgPrepSeconds7d, 700);
    assert.equal(runtime.rows[0]?.stats.runs, 2);
  } finally {
    await runtime.stop();
  }
});
