// Documents deleted at a source that polling cannot see: a reconcile finds them by listing keys, and
// their features become MISSING.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../../../schema/load.js';
import { MemoryOnlineStore } from '../../../../adapters/online/memory/index.js';
import { MemoryRows } from '../../../../adapters/sources/memory/rows.js';
import { MemoryHistoryStore } from '../../../../adapters/history/memory/index.js';
import { RowMaterializer } from '../../../../materializers/rows/materializer.js';

test('reconcile deletes the keys a source no longer has, and records the deletion in history', async () => {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const store = new MemoryOnlineStore();
  const source = new MemoryRows('restaurants');
  const history = new MemoryHistoryStore();
  for (let i = 1; i <= 5; i++) source.upsert({ key: `r${i}`, eventTime: Date.now() - 1000, values: { isOpen: true, menuSize: i, cuisineTags: [] } });
  const materializer = new RowMaterializer({ view: registry.view('restaurant_profile'), source, store, history });
  await materializer.runOnce();
  source.remove('r2');
  source.remove('r4');
  assert.equal(await materializer.runOnce(), 0, 'polling sees nothing of a hard delete');
  assert.equal(await materializer.reconcile(), 2);
  const got = await store.read(['r1', 'r2', 'r3', 'r4', 'r5'].map((key) => ({ view: 'restaurant_profile', key })));
  assert.deepEqual(got.map((g) => g?.values?.menuSize ?? null), [1, null, 3, null, 5]);
  assert.equal(await materializer.reconcile(), 0, 'nothing more to delete');
  const deletions = [];
  for await (const batch of history.scan({ view: 'restaurant_profile' })) deletions.push(...batch.filter((r) => r.deleted).map((r) => r.key));
  assert.deepEqual(deletions.sort(), ['r2', 'r4']);
});
