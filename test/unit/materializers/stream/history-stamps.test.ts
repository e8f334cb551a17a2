// A stream event's history record carries the instant the online store took the event: when the
// history append fails after the store write, the batch comes again, the store finds it applied, and
// the records appended then still say when readers could first see the events (not the retry's
// instant), so SERVED reads of the seconds in between answer what was served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryOnlineStore } from '../../../../adapters/online/memory/index.js';
import { MemoryStream } from '../../../../adapters/sources/memory/stream.js';
import { MemoryHistoryStore } from '../../../../adapters/history/memory/index.js';
import type { HistoryRecord } from '../../../../adapters/history/types.js';
import type { StreamMessage } from '../../../../adapters/sources/types.js';
import { StreamMaterializer } from '../../../../materializers/stream/materializer.js';
import { readFeature } from '../../../../schema/snapshot.js';
import { registry, T0 } from '../../../fixtures/online-served.js';

test('a failed history append is retried with the records stamped when the store took their events', async () => {
  const activity = registry.view('prop_activity');
  const n1m = activity.features.find((f) => f.name === 'n1m') as (typeof activity.features)[number];
  const clock = { now: T0 };
  const now = () => clock.now;
  const store = new MemoryOnlineStore({ now });
  const history = new MemoryHistoryStore();
  let failNext = 1;
  const flaky = Object.assign(Object.create(history) as MemoryHistoryStore, {
    append: async (records: readonly HistoryRecord[]) => {
      if (failNext-- > 0) throw new Error('history store down');
      await history.append(records);
    },
  });
  const materializer = new StreamMaterializer({ topic: 'prop_events', views: [activity], store, source: new MemoryStream(1, now), now, history: flaky });
  const message = (offset: number): StreamMessage => ({ partition: 0, offset, key: 'k', value: JSON.stringify({ shopId: 'k', at: new Date(T0 - 1000).toISOString(), amount: 1 }), timestampMs: T0 });
  const batch = { topic: 'prop_events', partition: 0, messages: [message(0), message(1)] };

  await assert.rejects(materializer.handle(batch), /history store down/);
  const takenAt = clock.now;
  clock.now += 5000; // readers see both events from takenAt on
  const [online] = await store.read([{ view: activity.name, key: 'k' }]);
  assert.equal(readFeature(n1m, online ?? null, clock.now, null).value, 2);

  await materializer.handle({ ...batch, messages: [message(0), message(1), message(2)] });
  const stamps: number[] = [];
  for await (const page of history.scan({ view: activity.name })) stamps.push(...page.map((r) => r.availableTime));
  assert.deepEqual(stamps, [takenAt, takenAt, clock.now], 'the first two as first taken, the third as taken now');
  const [served] = await history.readAsOf({ features: [n1m], mode: 'SERVED' }, [{ key: 'k', asOf: takenAt + 2500 }]);
  assert.equal(served?.[0]?.value, 2, 'SERVED between the store write and the retry has both events, as readers had');
});
