// The embedded store's typed tables: where changes go before and after a view is laid out, that the
// layout outlives the process, and that a changed definition rebuilds the table from the JSON values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRegistry, column, entity, featureView, snowflakeTable, type ResolvedView } from '../../../../../index.js';
import { EmbeddedHistoryStore } from '../../../../../adapters/history/embedded/index.js';
import type { HistoryRecord } from '../../../../../adapters/history/types.js';

function viewWith(features: Record<string, ReturnType<typeof column>>): ResolvedView {
  const shop = entity({ name: 'Shop', key: 'shopId', description: 'layout test entity' });
  const view = featureView({
    name: 'shop_stats',
    entity: shop,
    source: snowflakeTable({ name: 'shops', table: 'SHOPS', keyColumn: 'id', eventTimeColumn: 'at' }),
    features,
    freshness: '1h',
    ttl: '1d',
    owner: 'tests',
    description: 'layout test view',
  });
  return buildRegistry([{ file: 'layout.test.ts', exports: { shop, view } }]).view('shop_stats');
}

const change = (id: string, eventTime: number, values: Record<string, unknown>): HistoryRecord => ({ view: 'shop_stats', key: 'k', id, eventTime, availableTime: eventTime, values });

test('changes appended before the view is known move to its typed table on first read; the layout outlives the process; a new definition rebuilds it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'featuregraph-layout-'));
  const path = join(dir, 'history.duckdb');
  const v1 = viewWith({ orders: column({ type: 'Int' }) });
  const v2 = viewWith({ orders: column({ type: 'Int' }), rating: column({ type: 'Float' }) });
  try {
    let store = await EmbeddedHistoryStore.open(path);
    await store.append([change('a', 10, { orders: 1, rating: 4.5 })]);
    assert.deepEqual((await store.readAsOf({ features: v1.features, mode: 'EVENT_TIME' }, [{ key: 'k', asOf: 10 }]))[0]?.map((r) => r.value), [1]);
    await store.close();

    // Reopened without the definitions: appends still go to the typed table, scans see both.
    store = await EmbeddedHistoryStore.open(path);
    await store.append([change('b', 20, { orders: 2, rating: 3.5 }), change('a', 99, { orders: 9 })]);
    assert.equal(await store.count('shop_stats'), 2);
    assert.deepEqual(await store.readAsOf({ features: v1.features, mode: 'EVENT_TIME' }, [{ key: 'k', asOf: 15 }, { key: 'k', asOf: 20 }]).then((reads) => reads.map((row) => row[0]?.value)), [1, 2]);
    await store.close();

    // A feature added: the table is rebuilt from the JSON values, which held it all along.
    store = await EmbeddedHistoryStore.open(path, { views: [v2] });
    assert.deepEqual((await store.readAsOf({ features: v2.features, mode: 'SERVED' }, [{ key: 'k', asOf: 10 }, { key: 'k', asOf: 25 }])).map((row) => row.map((r) => r.value)), [[1, 4.5], [2, 3.5]]);
    const scanned: HistoryRecord[] = [];
    for await (const batch of store.scan({ view: 'shop_stats' })) scanned.push(...batch);
    assert.deepEqual(scanned.map((r) => r.values), [{ orders: 1, rating: 4.5 }, { orders: 2, rating: 3.5 }]);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
