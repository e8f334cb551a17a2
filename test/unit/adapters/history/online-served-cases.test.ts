// The four cases where the online answer and a SERVED read of the same instant used to differ, each
// as found: README "Online equals SERVED" has the rule each follows now. Both sides are asked through
// the memory online store and the memory and embedded history stores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryOnlineStore } from '../../../../adapters/online/memory/index.js';
import { MemoryStream } from '../../../../adapters/sources/memory/stream.js';
import { MemoryHistoryStore } from '../../../../adapters/history/memory/index.js';
import { EmbeddedHistoryStore } from '../../../../adapters/history/embedded/index.js';
import type { HistoryStore, TimeMode } from '../../../../adapters/history/types.js';
import { StreamMaterializer } from '../../../../materializers/stream/materializer.js';
import { applyRows } from '../../../../materializers/rows/apply.js';
import { readFeature, type FeatureRead } from '../../../../schema/snapshot.js';
import { registry, T0 } from '../../../fixtures/online-served.js';

const activity = registry.view('prop_activity');
const profile = registry.view('prop_profile');
const feature = (view: typeof activity, name: string) => view.features.find((f) => f.name === name) as (typeof activity.features)[number];

async function setup() {
  const clock = { now: T0 };
  const now = () => clock.now;
  const store = new MemoryOnlineStore({ now });
  const histories: HistoryStore[] = [new MemoryHistoryStore(), await EmbeddedHistoryStore.open(':memory:', { views: [activity, profile] })];
  const history: Pick<HistoryStore, 'append' | 'appendWatermarks'> = {
    append: async (records) => void (await Promise.all(histories.map((h) => h.append(records)))),
    appendWatermarks: async (changes) => void (await Promise.all(histories.map((h) => h.appendWatermarks(changes)))),
  };
  const stream = new StreamMaterializer({ topic: 'prop_events', views: [activity], store, source: new MemoryStream(1, now), now, history: history as HistoryStore });
  let offset = 0;
  return {
    clock,
    store,
    async events(events: { shopId: string; at: number; amount?: number; tag?: string }[]) {
      await stream.handle({ topic: 'prop_events', partition: 0, messages: events.map((e) => ({ partition: 0, offset: offset++, key: e.shopId, value: JSON.stringify({ ...e, at: new Date(e.at).toISOString() }), timestampMs: clock.now })) });
    },
    rows: (rows: Parameters<typeof applyRows>[1]) => applyRows(profile, rows, store, history as HistoryStore, clock.now),
    async online(view: typeof activity, name: string, key: string): Promise<FeatureRead> {
      const { values: [stored], watermarks } = await store.readServing([{ view: view.name, key }]);
      return readFeature(feature(view, name), stored ?? null, clock.now, watermarks.get(view.name)?.watermark ?? null);
    },
    async past(view: typeof activity, name: string, key: string, mode: TimeMode): Promise<FeatureRead[]> {
      return Promise.all(histories.map(async (h) => ((await h.readAsOf({ features: [feature(view, name)], mode }, [{ key, asOf: clock.now }]))[0] as FeatureRead[])[0] as FeatureRead));
    },
    close: () => Promise.all(histories.map((h) => h.close())),
  };
}

test('a. last: of 11 events at one event time in one batch, the one at the greatest offset, online and SERVED', async () => {
  const s = await setup();
  try {
    await s.events(Array.from({ length: 11 }, (_, i) => ({ shopId: 'k', at: T0 - 1000, tag: `t${i}` })));
    const online = await s.online(activity, 'lastTag5m', 'k');
    assert.equal(online.value, 't10');
    for (const served of await s.past(activity, 'lastTag5m', 'k', 'SERVED')) assert.deepEqual(served, online);
  } finally {
    await s.close();
  }
});

test('b. a corrected row (same key and event time, new values) is served from its correction, online and in SERVED and EVENT_TIME reads', async () => {
  const s = await setup();
  try {
    await s.rows([{ key: 'k', eventTime: T0 - 5000, values: { rating: 1, visits: 1, city: 'Paris', open: true } }]);
    s.clock.now += 60_000;
    await s.rows([{ key: 'k', eventTime: T0 - 5000, values: { rating: 2, visits: 1, city: 'Paris', open: true } }]);
    s.clock.now += 1;
    const online = await s.online(profile, 'rating', 'k');
    assert.equal(online.value, 2);
    for (const served of await s.past(profile, 'rating', 'k', 'SERVED')) assert.deepEqual(served, online);
    for (const event of await s.past(profile, 'rating', 'k', 'EVENT_TIME')) assert.equal(event.value, 2);
  } finally {
    await s.close();
  }
});

test("c. a windowed key past its retention reads MISSING, online and in SERVED", async () => {
  const s = await setup();
  try {
    await s.events([{ shopId: 'k', at: T0 - 1000, amount: 1 }]);
    s.clock.now += activity.retentionMs + 1;
    const online = await s.online(activity, 'n1m', 'k');
    assert.equal(online.status, 'MISSING');
    for (const served of await s.past(activity, 'n1m', 'k', 'SERVED')) assert.deepEqual(served, online);
  } finally {
    await s.close();
  }
});

test('d. an event stamped 35 s ahead of the clock counts from now, online and in SERVED', async () => {
  const s = await setup();
  try {
    await s.events([{ shopId: 'k', at: T0 + 35_000, amount: 1 }]);
    const online = await s.online(activity, 'n1m', 'k');
    assert.deepEqual([online.status, online.value, online.eventTime], ['PRESENT', 1, T0]);
    for (const served of await s.past(activity, 'n1m', 'k', 'SERVED')) assert.deepEqual(served, online);
  } finally {
    await s.close();
  }
});
