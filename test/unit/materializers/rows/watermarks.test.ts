// Views of tables and collections publish their watermark (part "rows"): a run that went through, its
// upper bound; a failed run, nothing; a change feed, each instant it found nothing left to handle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { MemoryOnlineStore } from '../../../../adapters/online/memory/index.js';
import { MemoryCheckpointStore } from '../../../../adapters/checkpoints/index.js';
import { MemoryRows } from '../../../../adapters/sources/memory/rows.js';
import type { RowReadOptions, SourceRow, WatchOptions } from '../../../../adapters/sources/types.js';
import { FeaturegraphError } from '../../../../schema/errors.js';
import { ViewRuns, type Lease } from '../../../../materializers/batch/scheduler.js';
import { followChanges } from '../../../../materializers/rows/watcher.js';
import { waitUntil } from '../../../fixtures/wait.js';
import { RecordingHistory, RecordingPublishes } from '../../../fixtures/watermarks.js';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const view = 'restaurant_prep';

/** A table whose reads can be made to fail. */
class FlakyRows extends MemoryRows {
  failing = false;
  override read(options: RowReadOptions): AsyncIterable<SourceRow[]> {
    if (this.failing) throw new FeaturegraphError('SOURCE_UNAVAILABLE', 'read: warehouse unreachable', { retriable: true });
    return super.read(options);
  }
}

const lease: Lease = { acquire: async () => true, release: async () => undefined };

async function setup() {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  let clock = T0;
  const now = () => clock;
  const store = new RecordingPublishes({ now });
  const history = new RecordingHistory();
  const source = new FlakyRows('restaurant_prep_stats');
  source.upsert({ key: 'r1', eventTime: T0 - 3_600_000, values: { AVG_PREP_SECONDS_7D: 600 } });
  const logs: string[] = [];
  const runs = new ViewRuns({ registry, store, history, checkpoints: new MemoryCheckpointStore(), rows: () => source, views: [view], now, attempts: 1, log: (line) => logs.push(line) }, 'w1');
  let job = 0;
  const run = () => runs.run({ view, id: `j${++job}`, scheduledFor: null, attemptsMade: 0 }, lease);
  const watermark = () => store.watermarkOf(view);
  return { registry, store, history, source, run, watermark, logs, setClock: (t: number) => (clock = t) };
}

test("a run that went through publishes its upper bound; a failed run publishes nothing, so the watermark stays where the last good run left it", async () => {
  const { source, run, watermark, store, setClock } = await setup();
  assert.equal((await run()).outcome, 'done');
  assert.deepEqual(await watermark(), { view, watermark: T0, at: T0 });
  setClock(T0 + 60_000);
  source.failing = true;
  await assert.rejects(run(), /warehouse unreachable/);
  assert.equal(store.publishes.length, 1, 'the failed run published nothing');
  assert.deepEqual(await watermark(), { view, watermark: T0, at: T0 });
  source.failing = false;
  setClock(T0 + 120_000);
  await run();
  assert.deepEqual(await watermark(), { view, watermark: T0 + 120_000, at: T0 + 120_000 });
});

test('a publish that fails does not fail its run; the next run publishes, and history gets each change, and at start the record the store held', async () => {
  const { run, watermark, store, history, logs, setClock } = await setup();
  await store.publishWatermarks(view, { rows: T0 - 600_000 }, T0 - 500_000);
  store.failing = true;
  assert.equal((await run()).outcome, 'done');
  assert.match(logs.join('\n'), /publishing the watermark of view restaurant_prep failed; trying again after the next run: .*connection refused/);
  assert.deepEqual(await watermark(), { view, watermark: T0 - 600_000, at: T0 - 500_000 });
  store.failing = false;
  setClock(T0 + 1000);
  await run();
  assert.deepEqual(await watermark(), { view, watermark: T0 + 1000, at: T0 + 1000 });
  assert.deepEqual(history.appended, [
    { view, watermark: T0 - 600_000, at: T0 - 500_000 },
    { view, watermark: T0 + 1000, at: T0 + 1000 },
  ]);
});

test('a change feed publishes each instant it found nothing left to handle, never past the clock', async () => {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const profile = registry.view('restaurant_profile');
  let clock = T0;
  const store = new MemoryOnlineStore({ now: () => clock });
  let feed: WatchOptions | null = null;
  const source = new (class extends MemoryRows {
    async watch(options: WatchOptions) {
      feed = options;
      return { stop: async () => undefined };
    }
  })('restaurants');
  const watch = await followChanges({ view: profile, source, store, checkpoints: new MemoryCheckpointStore(), now: () => clock });
  assert.ok(watch && feed);
  const opened = feed as WatchOptions;
  const watermark = async () => (await store.readWatermarks([profile.name])).get(profile.name)?.watermark ?? null;
  await opened.handle([{ key: 'r1', eventTime: T0 - 1000, values: { isOpen: true, menuSize: 3, cuisineTags: [] } }], '1');
  assert.equal(await watermark(), null, 'a handled batch alone says nothing of changes after it');
  opened.onCaughtUp?.(T0 - 10);
  await waitUntil(async () => (await watermark()) === T0 - 10, 5000, () => 'the caught-up instant published');
  clock = T0 + 5000;
  opened.onCaughtUp?.(T0 + 9000);
  await waitUntil(async () => (await watermark()) === T0 + 5000, 5000, () => 'the clock bounds the instant published');
  await watch.stop();
});
