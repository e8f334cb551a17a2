// The stream materializer against a brute-force oracle, on the real broker and Redis. Seeded random
// payments (out of order, ties on event time, late but within the allowed lateness, exactly on the
// lateness bound and on every window's edge, too late, and poison messages) are produced to a fresh
// 3-partition topic; the repo's stream view is materialized in process through the production path
// (startMaterializers + KafkaStreamSource + RedisOnlineStore) with its clock pinned at T0, so that
// "too late" is decided to the millisecond. Then every key is read through GraphQL at several instants
// and compared with the oracle (eventInWindow over the accepted events), the stored tiles are compared
// tile by tile, and the dead-letter topic must hold exactly the rejected messages with their reasons.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import { loadFeatureRepo } from '../../schema/load.js';
import { firstTileInWindow, tileIndex } from '../../schema/windows.js';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import { KafkaStreamSource } from '../../adapters/sources/kafka/index.js';
import { startMaterializers } from '../../materializers/runtime.js';
import { loadConfig } from '../../gateway/config.js';
import { createGateway } from '../../gateway/server.js';
import { requireEndpoint } from '../services/endpoints.js';
import {
  acceptedEvents,
  appliedOffsets,
  assertProducedExactly,
  checkDeadLetters,
  committedOffsets,
  compareGraphql,
  compareStoredTiles,
  createTopic,
  deleteTopics,
  eventsByKey,
  highWatermarks,
  hour,
  kafkaClient,
  lateEvent,
  merchantKeys,
  oracleValue,
  partitionFor,
  partitions,
  paymentEvent,
  pick,
  poisonMessage,
  produceAll,
  readDeadLetters,
  seededRandom,
  shuffle,
  streamRepo,
  summarize,
  testSeed,
  viewName,
  waitUntil,
  windowedFeatures,
  type Outbound,
} from '../fixtures/stream.js';

const minute = 60_000;
/** The materializer's clock: off any tile boundary on purpose. */
const T0 = Date.parse('2026-06-01T12:00:07.345Z');
const lateness = hour; // the view's longest window: the materializer's default allowed lateness
const readOffsets = [0, 1_000, 5 * minute, 20 * minute, 30 * minute + 500, 59 * minute + 59_999, 61 * minute];

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

test('stream materializer vs oracle: windows read through GraphQL at several instants, tiles, dead letters', { timeout: 120_000 }, async (t) => {
  const seed = testSeed();
  t.diagnostic(`seed ${seed} (FEATUREGRAPH_TEST_SEED=${seed} replays this run)`);
  const rng = seededRandom(seed);
  const { brokers } = requireEndpoint('kafka');
  const { url: redisUrl } = requireEndpoint('redis');
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const topic = `fg-stream-oracle-${runId}`;
  const keyPrefix = `fg-test:oracle:${runId}:`;
  // The fixture repo reads its topic from here when it is imported (below).
  process.env.FEATUREGRAPH_FIXTURE_TOPIC = topic;
  const registry = await loadFeatureRepo(streamRepo);
  const features = windowedFeatures(registry);

  const kafka = kafkaClient(brokers, 'stream-oracle-test');
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  cleanups.push(() => deleteTopics(admin, [topic, `${topic}.dead-letter`]));
  await createTopic(admin, topic);

  // ---- events
  const keys = merchantKeys(45);
  const lateOnly = keys[44] as string; // gets only too-late events: nothing stored, every feature MISSING
  const active = keys.slice(0, 44);
  const hot = active.slice(0, 6);
  const messages: Outbound[] = [];
  const lastTime = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const key = rng() < 0.3 ? pick(rng, hot) : pick(rng, active);
    const r = rng();
    let time: number;
    if (r < 0.1 && lastTime.has(key)) time = lastTime.get(key) as number; // a tie on event time: the later offset wins `last`
    else if (r < 0.35) time = T0 - Math.floor(rng() * 2 * minute);
    else if (r < 0.6) time = T0 - Math.floor(rng() * 10 * minute);
    else time = T0 - Math.floor(rng() * lateness); // late, within the allowed lateness
    lastTime.set(key, time);
    messages.push(paymentEvent(rng, key, time));
  }
  // Edges: now, the lateness bound (accepted: only older is too late) and one millisecond past it,
  // and for every window and read instant the first millisecond in the window and the last one out.
  const edgeKeys = ['m001', 'm002', 'm003'];
  const edges = new Set<number>([T0, T0 - lateness, tileIndex(T0, 1000) * 1000 - 1]);
  for (const feature of features) {
    const spec = feature.window as NonNullable<typeof feature.window>;
    for (const offset of readOffsets) {
      const start = firstTileInWindow(spec, T0 + offset) * spec.tileMs;
      edges.add(start);
      edges.add(start - 1);
    }
  }
  for (const time of edges) {
    if (time > T0 || time < T0 - lateness) continue;
    for (const key of edgeKeys) messages.push(paymentEvent(rng, key, time));
  }
  // Ties at the newest instant with different values: `last` must take the later offset.
  for (const key of edgeKeys) {
    messages.push(paymentEvent(rng, key, T0, { status: 'authorized', amount: 1.25 }));
    messages.push(paymentEvent(rng, key, T0, { status: 'refunded', amount: -1.25 }));
  }
  for (const key of edgeKeys) messages.push(lateEvent(rng, key, T0 - lateness - 1));
  for (let i = 0; i < 60; i++) messages.push(lateEvent(rng, pick(rng, keys), T0 - lateness - 1 - Math.floor(rng() * 3 * hour)));
  for (let i = 0; i < 5; i++) messages.push(lateEvent(rng, lateOnly, T0 - lateness - 1 - Math.floor(rng() * hour)));
  for (let i = 0; i < 40; i++) messages.push(poisonMessage(rng, pick(rng, keys), T0 - Math.floor(rng() * 10 * minute)));
  shuffle(rng, messages);
  // A poison message first in every partition: everything after it proves it does not block.
  const firsts: Outbound[] = [];
  for (let p = 0; p < partitions; p++) {
    const key = active.find((k) => partitionFor(k) === p) as string;
    firsts.push(poisonMessage(rng, key, T0));
  }
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const produced = await produceAll(producer, topic, [...firsts, ...messages], 250);
  await assertProducedExactly(admin, topic, produced);
  const events = acceptedEvents(produced);
  const byKey = eventsByKey(events);
  const rejected = produced.filter((m) => m.expect.kind !== 'event');
  t.diagnostic(`${produced.length} messages: ${events.length} events, ${rejected.filter((m) => m.expect.kind === 'too-late').length} too late, ${rejected.filter((m) => m.expect.kind === 'poison').length} poison, over ${byKey.size} keys`);

  // ---- materialize in process, through the production path, with the clock pinned at T0
  const writer = new RedisOnlineStore({ mode: 'standalone', url: redisUrl, keyPrefix });
  await writer.connect();
  cleanups.push(() => writer.close());
  // The test's reader (tile checks, the gateway): a long read timeout, as other suites and benchmarks
  // may load the shared Redis meanwhile. The materializer writes through `writer`, with the defaults.
  const reader = new RedisOnlineStore({ mode: 'standalone', url: redisUrl, keyPrefix, commandTimeoutMs: 10_000 });
  await reader.connect();
  cleanups.push(() => reader.close());
  cleanups.push(() => reader.delete(keys.map((key) => ({ view: viewName, key }))));
  const source = new KafkaStreamSource({ brokers, clientId: 'stream-oracle-materializer', sessionTimeoutMs: 6000 });
  cleanups.push(() => source.close());
  // No warm-up: the three partitions' first dead letters race to connect the producer and create
  // the dead-letter topic, which the source must share between them.
  const groupId = `fg-stream-oracle-${runId}`;
  const started = Date.now();
  const runtime = await startMaterializers({
    registry,
    store: writer,
    groupId,
    now: () => T0,
    bindings: {
      stream: () => source,
      rows: () => {
        throw new Error('the fixture repo has no row views');
      },
    },
  });
  let stopped = false;
  cleanups.push(() => (stopped ? Promise.resolve() : runtime.stop()));
  const materializer = runtime.streams[0];
  assert.ok(materializer, 'one stream materializer for the fixture topic');

  const lastAccepted = new Map<number, number>();
  for (const e of events) lastAccepted.set(e.partition, Math.max(lastAccepted.get(e.partition) ?? -1, e.offset));
  await waitUntil(
    async () => {
      if (materializer.stats.events < produced.length || materializer.stats.deadLetters < rejected.length) return false;
      const applied = await appliedOffsets(reader, topic, keys);
      return [...lastAccepted].every(([p, offset]) => applied.get(p) === offset);
    },
    60_000,
    () => `materializer stats ${JSON.stringify(materializer.stats)}, ${produced.length} messages produced`,
  );
  const dlqTopic = `${topic}.dead-letter`;
  await waitUntil(
    async () => {
      const high = await highWatermarks(admin, dlqTopic).catch(() => new Map<number, number>());
      return [...high.values()].reduce((s, n) => s + n, 0) >= rejected.length;
    },
    30_000,
    () => `dead-letter topic ${dlqTopic} short of ${rejected.length} messages`,
  );
  await runtime.stop();
  stopped = true;
  t.diagnostic(`materialized in ${Date.now() - started} ms: ${JSON.stringify(materializer.stats)}`);
  assert.equal(materializer.stats.deadLetters, rejected.length, 'one dead letter per too-late or poison message');
  if (materializer.stats.duplicates > 0) t.diagnostic(`note: ${materializer.stats.duplicates} duplicate writes skipped (a batch was retried)`);

  // A graceful stop commits everything: the group is at the end of every partition.
  const committed = await committedOffsets(admin, groupId, topic);
  const high = await highWatermarks(admin, topic);
  for (let p = 0; p < partitions; p++) assert.equal(committed.get(p), high.get(p), `partition ${p}: committed ${committed.get(p)}, end ${high.get(p)}`);

  // ---- dead letters: exactly the rejected messages, each with its reason and raw value
  const letters = await readDeadLetters(kafka, admin, topic);
  const deadCheck = checkDeadLetters(produced, letters, topic, lateness);
  assert.deepEqual(deadCheck.problems, [], summarize(deadCheck.problems));
  // Dead letters are at least once: a batch replayed after a crash sends its dead letters again;
  // nothing may be lost, and repeats are shown.
  if (deadCheck.repeats > 0) t.diagnostic(`dead letters repeated: ${deadCheck.repeats} (of ${letters.length} read)`);
  // Poison first in each partition, yet each partition's last accepted event was applied (checked
  // above through the stored offsets, and below key by key).
  for (let p = 0; p < partitions; p++) {
    const poison = produced.find((m) => m.partition === p && m.offset === 0);
    assert.equal(poison?.expect.kind, 'poison', `partition ${p} starts with a poison message`);
    assert.ok((lastAccepted.get(p) ?? -1) > 0, `partition ${p} has accepted events after its poison message`);
  }

  // ---- stored tiles, tile by tile (every write ran at T0)
  const tileProblems = await compareStoredTiles(reader, registry, topic, byKey, keys, T0);
  assert.deepEqual(tileProblems, [], summarize(tileProblems));

  // ---- GraphQL at several instants, every key, plus one unknown
  const clock = { now: T0 };
  const config = loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1' } });
  const readKeys = [...keys, 'nobody'];
  // Both ways a query is answered: compiled plans (the default) and Apollo's executor.
  for (const fastPath of [true, false]) {
    const gateway = await createGateway({ config, registry, store: reader, now: () => clock.now, fastPath });
    cleanups.push(() => gateway.close());
    const url = await gateway.listen();
    for (const offset of readOffsets) {
      clock.now = T0 + offset;
      const problems = await compareGraphql(url, registry, byKey, readKeys, clock.now);
      assert.deepEqual(problems, [], `${fastPath ? 'fast path' : 'Apollo'} at T0+${offset} ms: ${summarize(problems)}`);
    }
  }
  // The instants are not vacuous: at T0 every feature has a non-empty window somewhere, at T0+61m none.
  const nonEmpty = (at: number) => features.filter((f) => active.some((k) => ![null, 0].includes(oracleValue(f, byKey.get(k), at) as null | number))).length;
  t.diagnostic(`features with a non-empty window at T0: ${nonEmpty(T0)}, at T0+20m: ${nonEmpty(T0 + 20 * minute)}, at T0+61m: ${nonEmpty(T0 + 61 * minute)}`);
  assert.equal(nonEmpty(T0), features.length);
  assert.equal(nonEmpty(T0 + 61 * minute), 0);
});
