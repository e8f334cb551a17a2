// A topic whose offsets start again (issue 15, item 1): deleted and created again under a running
// materializer, and deleted and created again while it is stopped, which is what a broker whose storage
// was formatted again looks like to it (no committed offsets, offsets from 0, a store that remembers
// offsets of the topic before). Simulated with a topic delete and create on the shared broker: the
// harness's broker is never stopped here, other suites use it. Every event of the new topic must count
// exactly once, online (the stored tiles) and in history (the memory history store's records).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin } from 'kafkajs';
import { MemoryHistoryStore } from '../../adapters/history/memory/index.js';
import { KafkaStreamSource } from '../../adapters/sources/kafka/index.js';
import { startMaterializers, type MaterializerRuntime } from '../../materializers/runtime.js';
import { committedOffsets, committedToEnd, highWatermarks, partitionFor, paymentEvent, paymentsRegistry, produceAll, recreateTopic, seededRandom, viewName, waitUntil, type Outbound } from '../fixtures/stream.js';
import { startStreamScenario } from '../fixtures/stream-scenario.js';

const T0 = Date.parse('2026-06-01T12:00:07.345Z');
const minute = 60_000;

interface Scenario {
  topic: string;
  groupId: string;
  admin: Admin;
  history: MemoryHistoryStore;
  produce(perPartition: readonly number[]): Promise<number>;
  start(): Promise<{ runtime: MaterializerRuntime; lines: string[] }>;
  recreateTopic(): Promise<void>;
  counted(): Promise<number>;
}

/** A topic, group and key prefix of its own; events of 30 merchants at known partitions. */
async function scenario(t: TestContext, name: string): Promise<Scenario> {
  const s = await startStreamScenario(t, { name: `incarnation-${name}`, keyCount: 30, registry: paymentsRegistry });
  const { admin, keys, producer, registry, store, topic, groupId } = s;
  const history = new MemoryHistoryStore();
  const rng = seededRandom(7);
  const byPartition = [0, 1, 2].map((p) => keys.filter((k) => partitionFor(k) === p));
  const source = new KafkaStreamSource({ brokers: s.brokers, clientId: `incarnation-test-${name}`, sessionTimeoutMs: 6000 });
  s.cleanup(() => source.close());
  let seq = 0;
  return {
    topic,
    groupId,
    admin,
    history,
    async produce(perPartition) {
      const messages: Outbound[] = [];
      perPartition.forEach((n, p) => {
        const mine = byPartition[p] as string[];
        for (let i = 0; i < n; i++) messages.push(paymentEvent(rng, mine[(seq + i) % mine.length] as string, T0 - Math.floor(rng() * 20 * minute)));
      });
      seq++;
      return (await produceAll(producer, topic, messages, 200)).length;
    },
    async start() {
      const lines: string[] = [];
      const runtime = await startMaterializers({ registry, store, history, groupId, now: () => T0, bindings: { stream: () => source, rows: () => assert.fail('no row views') }, log: (line) => lines.push(line) });
      s.cleanup(() => runtime.stop());
      return { runtime, lines };
    },
    async recreateTopic() {
      await recreateTopic(admin, topic);
      t.diagnostic(`${topic} deleted and created again`);
    },
    /** Events the store has counted: every tile of the 1-hour count, over every merchant. */
    async counted() {
      const values = await store.read(keys.map((key) => ({ view: viewName, key })));
      let total = 0;
      for (const value of values) for (const cell of Object.values(value?.tiles?.paymentsLast1h ?? {})) total += cell as number;
      return total;
    },
  };
}

/**
 * Waits until the group committed every partition to its end (so everything fetched was applied),
 * then checks that the store counted exactly `expected` events and history holds as many records.
 */
async function expectCounted(s: Scenario, expected: number, what: string, runtime: MaterializerRuntime): Promise<void> {
  const describe = async () =>
    `${what}: committed ${JSON.stringify([...(await committedOffsets(s.admin, s.groupId, s.topic))])}, end ${JSON.stringify([...(await highWatermarks(s.admin, s.topic))])}; the store counted ${await s.counted()} of ${expected} events, history holds ${await s.history.count(viewName)}; stats ${JSON.stringify(runtime.streams[0]?.stats)}`;
  await waitUntil(
    () => committedToEnd(s.admin, s.groupId, s.topic),
    90_000,
    describe,
    250,
  );
  await waitUntil(async () => (await s.counted()) >= expected && (await s.history.count(viewName)) >= expected, 60_000, describe, 250);
  assert.equal(await s.counted(), expected, `${what}: every event counted once online`);
  assert.equal(await s.history.count(viewName), expected, `${what}: every event recorded once in history`);
}

test('a topic deleted and created again under a running materializer: every event of the new topic counts once, online and in history', { timeout: 240_000 }, async (t) => {
  const s = await scenario(t, 'live');
  const { runtime, lines } = await s.start();
  const before = await s.produce([120, 60, 90]);
  await expectCounted(s, before, 'the first topic', runtime);

  await s.recreateTopic();
  // Partition 0 gets more events than before (a consumer that kept its fetch position would go on
  // past the new topic's first 120 events), partition 1 as many, partition 2 fewer (offsets out of range).
  const after = await s.produce([200, 60, 30]);
  await expectCounted(s, before + after, 'after the topic was created again', runtime);

  for (const line of lines.filter((l) => /incarnation/.test(l))) t.diagnostic(line);
  const stats = runtime.streams[0]?.stats;
  assert.ok(stats && stats.resets >= 3, `each partition's reset is counted: ${JSON.stringify(stats)}`);
  for (const p of [0, 1, 2]) {
    const line = lines.find((l) => l.includes(`${s.topic}[${p}]`) && /new incarnation/.test(l));
    assert.ok(line, `partition ${p}'s reset is logged:\n${lines.join('\n')}`);
    assert.match(line, /new incarnation \S+ \(generation 1\) after incarnation \S+ \(generation 0\)/);
  }
});

test('a topic deleted and created again while the materializer is stopped (a broker formatted again): every new event counts once', { timeout: 240_000 }, async (t) => {
  const s = await scenario(t, 'stopped');
  const first = await s.start();
  const before = await s.produce([80, 80, 80]);
  await expectCounted(s, before, 'the first topic', first.runtime);
  await first.runtime.stop();
  t.diagnostic('first topic counted; materializer stopped');

  await s.recreateTopic();
  const after = await s.produce([100, 40, 80]);
  const second = await s.start();
  await expectCounted(s, before + after, 'after a restart on the new topic', second.runtime);
  assert.ok(second.lines.some((l) => /new incarnation/.test(l)), `the reset is logged:\n${second.lines.join('\n')}`);
  for (const line of second.lines.filter((l) => /incarnation/.test(l))) t.diagnostic(line);

  // A restart on the same topic changes nothing: the new topic's offsets guard it as before.
  await second.runtime.stop();
  const third = await s.start();
  const more = await s.produce([5, 5, 5]);
  await expectCounted(s, before + after + more, 'after another restart', third.runtime);
  assert.equal(third.runtime.streams[0]?.stats.resets, 0, `no reset when nothing was reset:\n${third.lines.join('\n')}`);
});
