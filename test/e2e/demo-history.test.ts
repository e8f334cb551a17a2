// The demo (npm start) keeps every materialized change in its memory history store, with the past it
// pre-loads stamped as readable shortly after it happened, so asOf reads work in both modes with no servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDemo, pastLagMs } from '../../examples/food-delivery/demo.js';
import { loadFeatureRepo } from '../../schema/load.js';
import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import { MemoryHistoryStore } from '../../adapters/history/memory/index.js';
import { startMaterializers } from '../../materializers/runtime.js';
import { createGateway } from '../../gateway/server.js';
import { loadConfig } from '../../gateway/config.js';

const T = Date.parse('2026-06-01T12:00:00.000Z');
const HOUR = 3_600_000;

test('the demo pre-loads its past into history with realistic availableTime; asOf reads it in both modes', async () => {
  const now = () => T;
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const store = new MemoryOnlineStore({ now });
  const history = new MemoryHistoryStore();
  const demo = createDemo({ now, historyMs: 3 * HOUR, ordersPerSecond: 0.2 });
  await demo.start();
  const runtime = await startMaterializers({ registry, store, bindings: demo.bindings, history: demo.recordHistory(history), now });
  const gateway = await createGateway({ config: loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1' } }), registry, store, history, now });
  const url = await gateway.listen();
  try {
    const produced = demo.stream.messages('orders').length;
    await demo.caughtUp(runtime);
    assert.equal(await history.count('restaurant_order_activity'), produced);
    for await (const batch of history.scan({ view: 'restaurant_order_activity' })) {
      for (const record of batch) assert.equal(record.availableTime - record.eventTime, pastLagMs.restaurant_order_activity, `order ${record.id}`);
    }
    for await (const batch of history.scan({ view: 'restaurant_prep' })) {
      for (const record of batch) assert.equal(record.availableTime, Math.min(T, record.eventTime + (pastLagMs.restaurant_prep as number)));
    }
    const ask = async (mode: string) => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ restaurants(restaurantIds: ["r1", "r2"], asOf: "${new Date(T - HOUR).toISOString()}", mode: ${mode}) { ordersLast30m avgPrepSeconds7d isOpen featureMeta { ordersLast30m { status eventTime availableTime } } } }` }) });
      return ((await response.json()) as { data: { restaurants: { ordersLast30m: number; avgPrepSeconds7d: number; isOpen: boolean | null; featureMeta: { ordersLast30m: { status: string; eventTime: string; availableTime: string } } }[] } }).data.restaurants;
    };
    const [served, event] = [await ask('SERVED'), await ask('EVENT_TIME')];
    assert.ok(served[0]!.ordersLast30m > 0, 'r1 had orders an hour ago, readable then');
    assert.ok(served[0]!.avgPrepSeconds7d > 0);
    assert.equal(typeof served[0]!.isOpen, 'boolean', 'the collections have the past day too');
    assert.equal(served[0]!.featureMeta.ordersLast30m.status, 'PRESENT');
    const meta = served[0]!.featureMeta.ordersLast30m;
    assert.ok(Date.parse(meta.availableTime) <= T - HOUR && Date.parse(meta.availableTime) - Date.parse(meta.eventTime) === 2_000);
    assert.ok(served.every((r, i) => r.ordersLast30m <= event[i]!.ordersLast30m + 1));
  } finally {
    await gateway.close();
    await runtime.stop();
    await demo.stop();
  }
});
