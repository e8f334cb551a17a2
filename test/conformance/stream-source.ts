// The stream-source conformance suite: the in-process stream and Kafka pass the same assertions, those
// the stream materializer relies on. Messages come back once each, in offset order per partition; a
// group's offsets are committed only for batches whose handler resolved, so a consumer started again
// goes on after the last handled message; a failed batch comes again from its first offset when its
// error is retriable (isRetriable: one of no known kind counts as retriable), and any other (a
// StreamHaltError, a FeaturegraphError that is not retriable) stops the consumer; stop() and close() finish the batch in progress and hand over
// nothing after; a topic created again starts at offset 0 under a new incarnation, reported through
// onReset; each owned partition, idle ones too, is told caught up (onCaughtUp) at instants before which
// every message of it was handled, and never past a message whose handler has not resolved; produce() creates the topic it is given (dead letters), splits a send over the topic's
// limit, and refuses a message over maxMessageBytes whole, with a coded error.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FeaturegraphError, StreamHaltError } from '../../schema/errors.js';
import type { PartitionReset, StreamBatch, StreamSource } from '../../adapters/sources/types.js';
import { sleep, waitUntil } from '../fixtures/wait.js';

export interface StreamSourceHarness {
  source: StreamSource;
  /** Partitions of every topic the harness creates. */
  partitions: number;
  /** Creates an empty topic of `partitions` partitions (names are unique per test). */
  createTopic(topic: string): Promise<void>;
  /** Deletes a topic and creates it again, empty: what a broker whose storage was formatted again looks like. */
  recreateTopic(topic: string): Promise<void>;
  /** Closes the source (if the test did not) and removes every topic whose name starts with the prefix given to the creator. */
  teardown(): Promise<void>;
}

/** Given a prefix that every topic and group name of one test starts with. */
export type StreamSourceCreator = (prefix: string) => Promise<StreamSourceHarness>;

/** Deadlines only guard against hangs (a Kafka group join on a busy machine takes seconds). */
const patience = 90_000;

interface Delivery {
  topic: string;
  partition: number;
  incarnation: string | undefined;
  offsets: number[];
  keys: (string | null)[];
  values: (string | null)[];
  timestamps: number[];
  outcome: 'pending' | 'handled' | 'failed';
}

/** A caught-up report, with what the partition's handled values were when it came. */
interface CaughtUpReport {
  partition: number;
  at: number;
  /** The clock when the report came: `at` is never after it. */
  toldAt: number;
  handled: Set<string | null>;
}

interface Outbound {
  key: string | null;
  value: string;
}

const text = (value: Buffer | string | null): string | null => (value === null ? null : typeof value === 'string' ? value : value.toString('utf8'));

/** A batch as the suite records it; what disagrees within it (messages against payload) goes to `problems`. */
function recorded(batch: StreamBatch, problems: string[]): Delivery {
  const { messages, payload } = batch;
  const where = `${batch.topic}[${batch.partition}]`;
  if (messages.length === 0) problems.push(`${where}: an empty batch was handed over`);
  for (const m of messages) if (m.partition !== batch.partition) problems.push(`${where}: message at ${m.offset} names partition ${m.partition}`);
  if (payload) {
    if (payload.count !== messages.length) problems.push(`${where}: payload counts ${payload.count}, messages ${messages.length}`);
    messages.forEach((m, i) => {
      if (payload.offsetAt(i) !== m.offset) problems.push(`${where}: payload offset ${payload.offsetAt(i)} at ${i}, message offset ${m.offset}`);
      if (payload.textAt(i) !== text(m.value)) problems.push(`${where}: payload text at ${i} differs from the message's value`);
      const out = { buffer: Buffer.alloc(0), start: 0, end: 0 };
      if (payload.bytesAt?.(i, out) && out.buffer.toString('utf8', out.start, out.end) !== text(m.value)) problems.push(`${where}: payload bytes at ${i} differ from the message's value`);
    });
  }
  if (batch.incarnation !== undefined && (typeof batch.incarnation !== 'string' || batch.incarnation === '')) problems.push(`${where}: incarnation ${String(batch.incarnation)}`);
  return {
    topic: batch.topic,
    partition: batch.partition,
    incarnation: batch.incarnation,
    offsets: messages.map((m) => m.offset),
    keys: messages.map((m) => m.key),
    values: messages.map((m) => text(m.value)),
    timestamps: messages.map((m) => m.timestampMs),
    outcome: 'pending',
  };
}

/** A consumer that records every batch, what it was told, and whether a handler was called once stop() was. */
async function consumeInto(
  source: StreamSource,
  options: { topics: string[]; groupId: string; fromBeginning?: boolean; handle?: (delivery: Delivery) => Promise<void> | void },
) {
  const deliveries: Delivery[] = [];
  const problems: string[] = [];
  const errors: unknown[] = [];
  const halts: FeaturegraphError[] = [];
  const resets: PartitionReset[] = [];
  const caughtUp: CaughtUpReport[] = [];
  let stopCalledAt: number | null = null;
  const consumer = await source.consume({
    groupId: options.groupId,
    topics: options.topics,
    fromBeginning: options.fromBeginning ?? true,
    handle: async (batch) => {
      const delivery = recorded(batch, problems);
      deliveries.push(delivery);
      try {
        await options.handle?.(delivery);
        delivery.outcome = 'handled';
      } catch (error) {
        delivery.outcome = 'failed';
        throw error;
      }
    },
    onError: (error) => errors.push(error),
    onHalt: (error) => halts.push(error),
    onReset: (reset) => resets.push(reset),
    onCaughtUp: ({ topic, partition, at }) => {
      if (!options.topics.includes(topic)) problems.push(`caught up told for topic ${topic}, not consumed`);
      const handled = new Set(deliveries.filter((d) => d.partition === partition && d.outcome === 'handled').flatMap((d) => d.values));
      caughtUp.push({ partition, at, toldAt: Date.now(), handled });
    },
  });
  const handled = () => deliveries.filter((d) => d.outcome === 'handled');
  const handledValues = () => handled().flatMap((d) => d.values);
  return {
    deliveries,
    problems,
    errors,
    halts,
    resets,
    caughtUp,
    handled,
    handledValues,
    /** Deliveries that began once stop() was called. */
    deliveredAfterStop: () => (stopCalledAt === null ? [] : deliveries.slice(stopCalledAt)),
    /** Waits until every one of these values was handled. */
    async until(values: readonly string[], what: string): Promise<void> {
      await waitUntil(
        () => {
          const seen = new Set(handledValues());
          return values.every((v) => seen.has(v));
        },
        patience,
        () => `${what}: ${values.length - new Set(handledValues().filter((v) => v !== null && values.includes(v))).size} of ${values.length} values not handled; deliveries ${describeDeliveries(deliveries)}; errors ${errors.map(String).join(' | ')}`,
        20,
      );
    },
    stop(): Promise<void> {
      stopCalledAt ??= deliveries.length;
      return consumer.stop();
    },
  };
}

/** A consumer that runs until these values were handled, then stops; what disagreed within a batch fails the test. */
async function consumeUntil(source: StreamSource, options: Parameters<typeof consumeInto>[1], wanted: readonly string[], what: string) {
  const run = await consumeInto(source, options);
  try {
    await run.until(wanted, what);
  } finally {
    await run.stop();
  }
  assert.deepEqual(run.problems, []);
  return run;
}

function describeDeliveries(deliveries: readonly Delivery[]): string {
  return deliveries.map((d) => `[${d.partition}:${d.offsets[0]}..${d.offsets[d.offsets.length - 1]} ${d.outcome}]`).join(' ') || '(none)';
}

/** Handled offsets per partition, in the order they were handled. */
function offsetsByPartition(deliveries: readonly Delivery[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const d of deliveries) out.set(d.partition, [...(out.get(d.partition) ?? []), ...d.offsets]);
  return out;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** `n` messages with values `${tag}-${i}`, over six keys (so several partitions). */
function messages(tag: string, n: number, keys: readonly string[] = ['a', 'b', 'c', 'd', 'e', 'f']): Outbound[] {
  return Array.from({ length: n }, (_, i) => ({ key: keys[i % keys.length] as string, value: `${tag}-${i}` }));
}

const values = (outbound: readonly Outbound[]): string[] => outbound.map((m) => m.value);

const sorted = (items: readonly (string | null)[]): (string | null)[] => [...items].sort();

let runs = 0;

export function streamSourceConformance(label: string, create: StreamSourceCreator): void {
  const slug = label.replace(/[^a-z0-9]+/gi, '-').toLowerCase();

  /** Each test gets a source and topics of its own, names under a prefix of its own. */
  async function withHarness(name: string, body: (h: StreamSourceHarness, names: (what: string) => string) => Promise<void>): Promise<void> {
    const prefix = `fg-conf-${slug}-${name}-${Date.now().toString(36)}-${process.pid}-${++runs}-`;
    const harness = await create(prefix);
    try {
      await body(harness, (what) => `${prefix}${what}`);
    } finally {
      await harness.teardown();
    }
  }

  describe(`stream source conformance: ${label}`, () => {
    test('every produced message is handed over once, in offset order per partition from 0, with its key, value and timestamp', () =>
      withHarness('order', async ({ source, partitions, createTopic }, name) => {
        const topic = name('t');
        await createTopic(topic);
        const sent = messages('m', 30);
        const before = Date.now();
        await source.produce(topic, sent.slice(0, 12));
        await source.produce(topic, sent.slice(12));
        const after = Date.now();
        const run = await consumeUntil(source, { topics: [topic], groupId: name('g') }, values(sent), 'all 30 messages');
        assert.deepEqual(sorted(run.handledValues()), sorted(values(sent)), 'each message once');
        for (const [partition, offsets] of offsetsByPartition(run.handled())) {
          assert.ok(partition >= 0 && partition < partitions, `partition ${partition} of ${partitions}`);
          assert.deepEqual(offsets, range(0, offsets.length), `partition ${partition}: offsets in order from 0, none skipped or repeated`);
        }
        const partitionOf = new Map<string | null, number>();
        const perKey = new Map<string | null, string[]>();
        for (const d of run.handled()) {
          assert.equal(d.topic, topic);
          d.keys.forEach((key, i) => {
            assert.equal(partitionOf.get(key) ?? d.partition, d.partition, `key ${key} stays on one partition`);
            partitionOf.set(key, d.partition);
            perKey.set(key, [...(perKey.get(key) ?? []), d.values[i] as string]);
            const ts = d.timestamps[i] as number;
            assert.ok(Number.isFinite(ts) && ts >= before - 1000 && ts <= after + 1000, `timestamp ${ts} of ${d.values[i]} is when it was produced (${before}..${after})`);
          });
        }
        for (const [key, got] of perKey) assert.deepEqual(got, values(sent.filter((m) => m.key === key)), `key ${key}: in the order produced`);
        const incarnations = new Set(run.handled().map((d) => d.incarnation));
        assert.equal(incarnations.size, 1, `one incarnation for one topic: ${[...incarnations].join(', ')}`);
      }));

    test('a group with no committed offset and fromBeginning false starts at the end: earlier messages are never handed over, later ones all are', () =>
      withHarness('latest', async ({ source, createTopic }, name) => {
        const topic = name('t');
        await createTopic(topic);
        // One key: one partition, whose offsets 0-4 are the earlier messages.
        const earlier = messages('earlier', 5, ['k']);
        await source.produce(topic, earlier);
        const run = await consumeInto(source, { topics: [topic], groupId: name('g'), fromBeginning: false });
        try {
          // A source may take a moment to find where the end is (Kafka: the group's join): messages
          // produced meanwhile may or may not count as later; one produced after the first arrived does.
          let probes = 0;
          await waitUntil(
            async () => {
              await source.produce(topic, [{ key: 'k', value: `probe-${probes++}` }]);
              return run.handledValues().some((v) => v?.startsWith('probe-'));
            },
            patience,
            () => `no probe handed over after ${probes} probes: ${describeDeliveries(run.deliveries)}`,
            250,
          );
          const later = messages('later', 5, ['k']);
          await source.produce(topic, later);
          await run.until(values(later), 'the messages produced once the consumer read the end');
        } finally {
          await run.stop();
        }
        assert.deepEqual(run.problems, []);
        assert.deepEqual(run.handledValues().filter((v) => v?.startsWith('earlier-')), [], 'no earlier message');
        assert.ok(Math.min(...run.handled().flatMap((d) => d.offsets)) >= earlier.length, 'no offset below the end at the start');
      }));

    test('offsets are committed once the handler resolved: a consumer started again goes on after the last handled message, and gets the batch whose handler failed', () =>
      withHarness('restart', async ({ source, createTopic }, name) => {
        const topic = name('t');
        const groupId = name('g');
        await createTopic(topic);
        const first = messages('first', 12);
        await source.produce(topic, first);
        const run1 = await consumeInto(source, {
          topics: [topic],
          groupId,
          handle: (d) => {
            if (d.values.some((v) => v?.startsWith('second-'))) throw new Error('store down');
          },
        });
        const second = messages('second', 6);
        try {
          await run1.until(values(first), 'the first messages');
          await source.produce(topic, second);
          await waitUntil(() => run1.errors.length > 0, patience, () => `no failure reported: ${describeDeliveries(run1.deliveries)}`, 20);
        } finally {
          await run1.stop();
        }
        assert.deepEqual(run1.problems, []);
        assert.deepEqual(run1.handledValues().filter((v) => v?.startsWith('second-')), []);
        assert.ok(run1.errors.every((e) => e instanceof Error && e.message === 'store down'), `onError hears the handler's own error: ${run1.errors.map(String).join(' | ')}`);
        assert.equal(run1.errors.length, run1.deliveries.filter((d) => d.outcome === 'failed').length, 'onError hears every failed batch');
        const handledBefore = offsetsByPartition(run1.handled());

        const run2 = await consumeUntil(source, { topics: [topic], groupId }, values(second), 'the failed messages, after the restart');
        assert.deepEqual(sorted(run2.handledValues()), sorted(values(second)), 'exactly the messages not handled before: none lost, none handled twice');
        for (const [partition, offsets] of offsetsByPartition(run2.handled())) {
          const done = handledBefore.get(partition)?.length ?? 0;
          assert.deepEqual(offsets, range(done, done + offsets.length), `partition ${partition} goes on at ${done}`);
        }
      }));

    test('a batch whose handler fails with a retriable error (or one of no known kind) is handed over again from its first offset; onError hears each failure; nothing is lost or skipped', () =>
      withHarness('retry', async ({ source, createTopic }, name) => {
        const topic = name('t');
        await createTopic(topic);
        const sent = messages('m', 20);
        await source.produce(topic, sent);
        const failures = [new Error('store down (1)'), new FeaturegraphError('ONLINE_STORE_UNAVAILABLE', 'store down (2)', { retriable: true })];
        const thrown: Error[] = [];
        const handle = () => {
          const error = failures[thrown.length];
          if (error) {
            thrown.push(error);
            throw error;
          }
        };
        const run = await consumeUntil(source, { topics: [topic], groupId: name('g'), handle }, values(sent), 'every message, after two failures');
        assert.deepEqual(run.errors, thrown, 'onError hears each failure, with the handler\'s error');
        const failed = run.deliveries.filter((d) => d.outcome === 'failed');
        assert.equal(failed.length, 2);
        for (const f of failed) {
          const index = run.deliveries.indexOf(f);
          const again = run.deliveries.slice(index + 1).find((d) => d.partition === f.partition && d.offsets[0] === f.offsets[0]);
          assert.ok(again, `the batch of partition ${f.partition} from offset ${f.offsets[0]} comes again: ${describeDeliveries(run.deliveries)}`);
        }
        assert.deepEqual(sorted([...new Set(run.handledValues())]), sorted(values(sent)), 'every message handled');
        for (const [partition, offsets] of offsetsByPartition(run.handled())) {
          const unique = [...new Set(offsets)].sort((a, b) => a - b);
          assert.deepEqual(unique, range(0, unique.length), `partition ${partition}: no offset skipped`);
        }
      }));

    const finalErrors: [string, string, FeaturegraphError][] = [
      ['a StreamHaltError', 'halt', new StreamHaltError('DEAD_LETTER_FAILED', 'dead-letter topic refused every write')],
      ['any error no retry mends (a FeaturegraphError not retriable)', 'final', new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', 'credentials refused', { retriable: false })],
    ];
    for (const [kind, tag, halt] of finalErrors) {
      test(`a handler that rejects with ${kind} stops the consumer: onHalt hears it, nothing is handed over after, and its batch is not committed`, () =>
        withHarness(tag, async ({ source, createTopic }, name) => {
          const topic = name('t');
          const groupId = name('g');
          await createTopic(topic);
          // One key: one partition, so the halted batch is the only one in flight.
          const first = messages('first', 5, ['k']);
          const second = messages('second', 5, ['k']);
          const third = messages('third', 3, ['k']);
          await source.produce(topic, first);
          const run1 = await consumeInto(source, {
            topics: [topic],
            groupId,
            handle: (d) => {
              if (d.values.some((v) => v?.startsWith('second-'))) throw halt;
            },
          });
          try {
            await run1.until(values(first), 'the first messages');
            await source.produce(topic, second);
            await waitUntil(() => run1.halts.length > 0, patience, () => `onHalt not called: ${describeDeliveries(run1.deliveries)}`, 20);
            const handedOver = run1.deliveries.length;
            await source.produce(topic, third);
            // Nothing to wait for: a moment for a batch that should not come.
            await sleep(1500);
            assert.equal(run1.deliveries.length, handedOver, `nothing handed over after the halt: ${describeDeliveries(run1.deliveries)}`);
          } finally {
            await run1.stop();
          }
          assert.deepEqual(run1.problems, []);
          assert.deepEqual(run1.halts, [halt], 'onHalt hears the error, once');
          assert.deepEqual(run1.errors, [], 'a halt is no failure to retry');

          const run2 = await consumeUntil(source, { topics: [topic], groupId }, [...values(second), ...values(third)], 'the halted batch and what followed it');
          assert.deepEqual(run2.handledValues(), [...values(second), ...values(third)], 'the halted batch comes again from its first offset');
          assert.equal(run2.handled()[0]?.offsets[0], first.length);
        }));
    }

    test('stop() waits for the batches in progress and commits them; no batch is handed over once it was called', () =>
      withHarness('stop', async ({ source, createTopic }, name) => {
        const topic = name('t');
        const groupId = name('g');
        await createTopic(topic);
        const first = messages('first', 12);
        await source.produce(topic, first);
        let release: () => void = () => {};
        const gate = new Promise<void>((resolve) => (release = resolve));
        let finished = 0;
        const run1 = await consumeInto(source, {
          topics: [topic],
          groupId,
          handle: async () => {
            await gate;
            finished++;
          },
        });
        await waitUntil(() => run1.deliveries.length > 0, patience, () => 'no batch handed over', 20);
        const stopping = run1.stop();
        setTimeout(release, 100);
        await stopping;
        assert.deepEqual(run1.problems, []);
        assert.equal(finished, run1.deliveries.length, 'every batch handed over had finished when stop() resolved');
        assert.deepEqual(run1.deliveredAfterStop().map((d) => d.values), [], 'nothing handed over once stop() was called');
        const handled = run1.handledValues();
        assert.ok(handled.length > 0);

        const later = messages('later', 4);
        await source.produce(topic, later);
        await sleep(500);
        assert.deepEqual(run1.deliveredAfterStop().map((d) => d.values), [], 'nothing handed over after stop() resolved');

        const rest = [...values(first).filter((v) => !handled.includes(v)), ...values(later)];
        const run2 = await consumeUntil(source, { topics: [topic], groupId }, rest, 'what the stopped consumer had not handled');
        assert.deepEqual(sorted(run2.handledValues()), sorted(rest), 'what was handled before stop() is committed; the rest comes');
      }));

    test('close() stops a consumer still running: its batch in progress finishes first, nothing is handed over after', () =>
      withHarness('close', async ({ source, createTopic }, name) => {
        const topic = name('t');
        await createTopic(topic);
        const first = messages('first', 6, ['k']);
        await source.produce(topic, first);
        let finished = 0;
        const run = await consumeInto(source, {
          topics: [topic],
          groupId: name('g'),
          handle: async (d) => {
            if (d.values.some((v) => v?.startsWith('second-'))) await sleep(300);
            finished++;
          },
        });
        await run.until(values(first), 'the first messages');
        await source.produce(topic, messages('second', 3, ['k']));
        await waitUntil(() => run.deliveries.some((d) => d.values.some((v) => v?.startsWith('second-'))), patience, () => `the second messages not handed over: ${describeDeliveries(run.deliveries)}`, 20);
        await source.close();
        const handedOver = run.deliveries.length;
        assert.equal(finished, handedOver, 'the batch in progress finished before close() resolved');
        // Nothing to wait for: a moment for a batch that should not come.
        await sleep(500);
        assert.equal(run.deliveries.length, handedOver, 'nothing handed over after close()');
        assert.deepEqual(run.problems, []);
      }));

    test('a topic created again: offsets start at 0 under a new incarnation, onReset says from which to which, and no message of the new topic is lost', () =>
      withHarness('reset', async ({ source, partitions, createTopic, recreateTopic }, name) => {
        const topic = name('t');
        await createTopic(topic);
        const first = messages('first', 9);
        await source.produce(topic, first);
        const run = await consumeInto(source, { topics: [topic], groupId: name('g') });
        const second = messages('second', 6);
        try {
          await run.until(values(first), 'the first topic\'s messages');
          await recreateTopic(topic);
          await source.produce(topic, second);
          await run.until(values(second), 'the new topic\'s messages');
        } finally {
          await run.stop();
        }
        assert.deepEqual(run.problems, []);
        const old = run.handled().filter((d) => d.values.some((v) => v?.startsWith('first-')));
        const renewed = run.handled().filter((d) => d.values.some((v) => v?.startsWith('second-')));
        const [oldIncarnation, ...others] = [...new Set(old.map((d) => d.incarnation))];
        assert.equal(others.length, 0);
        assert.equal(typeof oldIncarnation, 'string', 'batches name their incarnation');
        const newIncarnations = [...new Set(renewed.map((d) => d.incarnation))];
        assert.equal(newIncarnations.length, 1);
        const [newIncarnation] = newIncarnations;
        assert.notEqual(newIncarnation, oldIncarnation, 'the topic created again is a new incarnation');
        assert.ok(renewed.every((d) => d.values.every((v) => v?.startsWith('second-'))), 'no batch mixes the two incarnations');
        assert.deepEqual(sorted(renewed.flatMap((d) => d.values)), sorted(values(second)), 'each new message once');
        for (const [partition, offsets] of offsetsByPartition(renewed)) assert.deepEqual(offsets, range(0, offsets.length), `partition ${partition} of the new topic from 0`);
        for (const reset of run.resets) {
          assert.equal(reset.topic, topic);
          assert.ok(reset.partition >= 0 && reset.partition < partitions);
          assert.equal(reset.from.incarnation, oldIncarnation);
          assert.equal(reset.to.incarnation, newIncarnation);
          assert.equal(reset.to.offset, 0);
        }
        const reset = new Set(run.resets.map((r) => r.partition));
        for (const d of renewed) assert.ok(reset.has(d.partition), `partition ${d.partition}'s reset is reported: ${JSON.stringify(run.resets)}`);
      }));

    test('every owned partition is told caught up, idle and empty ones again and again, at instants before which each of its messages was handled', () =>
      withHarness('caught-up', async ({ source, partitions, createTopic }, name) => {
        const topic = name('t');
        await createTopic(topic);
        // One key: one partition gets the messages, the others stay empty.
        const sent = messages('m', 6, ['k']);
        await source.produce(topic, sent);
        const producedBy = Date.now();
        const run = await consumeInto(source, { topics: [topic], groupId: name('g') });
        try {
          await run.until(values(sent), 'every message');
          // Idle from here on: twice told past the last message, with a later instant the second time.
          const twice = () => range(0, partitions).every((p) => new Set(run.caughtUp.filter((r) => r.partition === p && r.at > producedBy).map((r) => r.at)).size >= 2);
          await waitUntil(twice, patience, () => `not every partition told caught up twice after ${producedBy}: ${JSON.stringify(run.caughtUp.map(({ partition, at }) => ({ partition, at })))}`, 20);
        } finally {
          await run.stop();
        }
        assert.deepEqual(run.problems, []);
        const partitionOf = new Map(run.handled().flatMap((d) => d.values.map((v) => [v, d.partition] as const)));
        for (const report of run.caughtUp) {
          assert.ok(report.at <= report.toldAt, `partition ${report.partition} told caught up at ${report.at}, after the report came (${report.toldAt})`);
          if (report.at <= producedBy) continue;
          const mine = values(sent).filter((v) => partitionOf.get(v) === report.partition);
          assert.deepEqual(mine.filter((v) => !report.handled.has(v)), [], `partition ${report.partition} told caught up at ${report.at}, after every message was produced, before all its messages were handled`);
        }
      }));

    test('a partition holding a message whose handler has not resolved is not told caught up past it; once handled, it is', () =>
      withHarness('behind', async ({ source, partitions, createTopic }, name) => {
        const topic = name('t');
        await createTopic(topic);
        let failing = true;
        const run = await consumeInto(source, {
          topics: [topic],
          groupId: name('g'),
          handle: (d) => {
            if (failing && d.values.includes('stuck')) throw new Error('store down');
          },
        });
        try {
          // Running (with Kafka: joined) once every partition was told caught up.
          await waitUntil(() => range(0, partitions).every((p) => run.caughtUp.some((r) => r.partition === p)), patience, () => `not every partition told caught up: ${JSON.stringify(run.caughtUp.map(({ partition, at }) => ({ partition, at })))}`, 20);
          await source.produce(topic, [{ key: 'k', value: 'stuck' }]);
          const producedBy = Date.now();
          await waitUntil(() => run.errors.length > 0, patience, () => `the stuck message never failed: ${describeDeliveries(run.deliveries)}`, 20);
          const stuck = (run.deliveries.find((d) => d.values.includes('stuck')) as Delivery).partition;
          const failedAt = run.errors.length;
          // Another partition told caught up past the stuck message, after it failed: the probes ran meanwhile.
          const since = run.caughtUp.length;
          await waitUntil(() => run.caughtUp.slice(since).some((r) => r.partition !== stuck && r.at > producedBy), patience, () => `no other partition told caught up after ${producedBy}`, 20);
          assert.deepEqual(
            run.caughtUp.filter((r) => r.partition === stuck && r.at > producedBy).map((r) => r.at),
            [],
            `partition ${stuck} holds the stuck message (failed ${failedAt} times, produced by ${producedBy}) and must not be told caught up past it`,
          );
          failing = false;
          await run.until(['stuck'], 'the stuck message, once the handler succeeds');
          await waitUntil(() => run.caughtUp.some((r) => r.partition === stuck && r.at > producedBy), patience, () => `partition ${stuck} not told caught up once the stuck message was handled`, 20);
          for (const report of run.caughtUp.filter((r) => r.partition === stuck && r.at > producedBy)) assert.ok(report.handled.has('stuck'), `partition ${stuck} told caught up at ${report.at} before the stuck message was handled`);
        } finally {
          await run.stop();
        }
        assert.deepEqual(run.problems, []);
      }));

    test('produce creates the topic it is given (dead letters), and a send over the limit of one request is split: all come back intact', () =>
      withHarness('produce', async ({ source }, name) => {
        const topic = name('dead-letters');
        const small: Outbound[] = [
          { key: 'view:0:17', value: '{"reason":"not JSON","value":"x"}' },
          { key: null, value: 'no key' },
          { key: 'ünï', value: 'ünïcödé "quoted" \n' },
        ];
        await source.produce(topic, small);
        const limit = await source.maxMessageBytes(topic);
        assert.ok(Number.isInteger(limit) && limit >= 100_000, `maxMessageBytes ${limit}`);
        // One key: one partition, whose three messages together are over one message's limit.
        const large = [0, 1, 2].map((i) => ({ key: 'large', value: `${i}${'x'.repeat(Math.floor(limit * 0.6))}` }));
        await source.produce(topic, large);
        const edge = { key: 'edge', value: 'y'.repeat(limit - 4) };
        await source.produce(topic, [edge]);
        await source.produce(topic, []);
        const sent = [...small, ...large, edge];
        const run = await consumeUntil(source, { topics: [topic], groupId: name('g') }, values(sent), 'every message produced');
        const got = run.handled().flatMap((d) => d.keys.map((key, i) => ({ key, value: d.values[i] ?? null })));
        const digest = (m: { key: string | null; value: string | null }) => `${m.key}=${m.value === null ? 'null' : m.value.length > 100 ? `${m.value.slice(0, 5)}..(${m.value.length})` : m.value}`;
        assert.deepEqual(got.map(digest).sort(), sent.map(digest).sort());
        assert.ok(got.every((m) => sent.some((s) => s.key === m.key && s.value === m.value)), 'values intact');
      }));

    test('a message over maxMessageBytes is refused whole, with a LIMIT_EXCEEDED error, and nothing of that send is produced', () =>
      withHarness('too-large', async ({ source, createTopic }, name) => {
        const topic = name('t');
        await createTopic(topic);
        const limit = await source.maxMessageBytes(topic);
        const refused = source.produce(topic, [{ key: 'k', value: 'before' }, { key: 'k', value: 'z'.repeat(limit) }, { key: 'k', value: 'after' }]);
        await assert.rejects(refused, (error: unknown) => {
          assert.ok(error instanceof FeaturegraphError, `a FeaturegraphError: ${String(error)}`);
          assert.equal(error.code, 'LIMIT_EXCEEDED');
          assert.equal(error.retriable, false);
          assert.match(error.message, new RegExp(`message 2 of 3 to topic ${topic} holds ${limit + 1} bytes of key and value, over the topic's limit of ${limit}; nothing of this send was produced`));
          return true;
        });
        await source.produce(topic, [{ key: 'k', value: 'next' }]);
        const run = await consumeUntil(source, { topics: [topic], groupId: name('g') }, ['next'], 'the send after the refused one');
        assert.deepEqual(run.handledValues(), ['next'], 'nothing of the refused send');
      }));
  });
}
