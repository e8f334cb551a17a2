// A change feed drives the online store and persists its resume token; a restart resumes after the
// last change handled; a source without a feed is left to polling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { UnsupportedCapabilityError } from '../../../../schema/errors.js';
import { MemoryOnlineStore } from '../../../../adapters/online/memory/index.js';
import { MemoryCheckpointStore } from '../../../../adapters/checkpoints/index.js';
import { MemoryRows } from '../../../../adapters/sources/memory/rows.js';
import type { RowSource, SourceRow, WatchOptions } from '../../../../adapters/sources/types.js';
import { followChanges, resumeTokenName } from '../../../../materializers/rows/watcher.js';

/** A scripted feed: changes numbered 1..n, each token the number of the last change it covers. */
class ScriptedFeed extends MemoryRows implements RowSource {
  readonly resumedAfter: (string | null)[] = [];
  constructor(private readonly changes: SourceRow[]) {
    super('restaurants');
  }
  async watch(options: WatchOptions) {
    this.resumedAfter.push(options.resumeAfter);
    const start = options.resumeAfter === null ? 0 : Number(options.resumeAfter);
    for (let i = start; i < this.changes.length; i += 2) await options.handle(this.changes.slice(i, i + 2), String(Math.min(i + 2, this.changes.length)));
    return { stop: async () => undefined };
  }
}

test('changes reach the store, deletes make entities MISSING, and the token is saved per batch', async () => {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const view = registry.view('restaurant_profile');
  const store = new MemoryOnlineStore();
  const checkpoints = new MemoryCheckpointStore();
  const t = Date.now() - 1000;
  const feed = new ScriptedFeed([
    { key: 'r1', eventTime: t, values: { isOpen: true, menuSize: 10, cuisineTags: ['thai'] } },
    { key: 'r2', eventTime: t, values: { isOpen: false, menuSize: 20, cuisineTags: [] } },
    { key: 'r1', eventTime: t + 1, values: { isOpen: false, menuSize: 11, cuisineTags: ['thai'] } },
    { key: 'r2', eventTime: t + 2, values: {}, deleted: true },
  ]);
  const watch = await followChanges({ view, source: feed, store, checkpoints });
  assert.ok(watch);
  const got = await store.read([{ view: view.name, key: 'r1' }, { view: view.name, key: 'r2' }]);
  // The view's city column is absent from these changes: held as null.
  assert.deepEqual(got[0]?.values, { isOpen: false, menuSize: 11, cuisineTags: ['thai'], city: null });
  assert.equal(got[1], null);
  assert.equal(await checkpoints.get(resumeTokenName(view.name)), '4');
  // A restart resumes after the last change handled.
  await followChanges({ view, source: feed, store, checkpoints });
  assert.deepEqual(feed.resumedAfter, [null, '4']);
});

test('a source without change streams is left to polling', async () => {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  class NoFeed extends MemoryRows {
    async watch(): Promise<never> {
      throw new UnsupportedCapabilityError('mongodb source "restaurants" (server: FerretDB)', 'change streams');
    }
  }
  const result = await followChanges({ view: registry.view('restaurant_profile'), source: new NoFeed('restaurants'), store: new MemoryOnlineStore(), checkpoints: new MemoryCheckpointStore() });
  assert.equal(result, null);
  assert.equal(await followChanges({ view: registry.view('restaurant_profile'), source: new MemoryRows('restaurants'), store: new MemoryOnlineStore(), checkpoints: new MemoryCheckpointStore() }), null);
});
