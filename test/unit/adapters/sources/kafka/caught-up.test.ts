// The Kafka source's caught-up probe against stand-in answers: which position counts (applied here, else
// committed by the group, else where a group with none starts), the instant taken before the end offsets
// are asked, and offsets of another incarnation never compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaughtUpProbe, type CaughtUpActions, type PartitionEnds, type PlacedOffset } from '../../../../../adapters/sources/kafka/caught-up.js';

interface World {
  clock: number;
  /** Topic ids answered in turn (the last one repeats). */
  ids: (string | null)[];
  ends: PartitionEnds[];
  committed: Map<number, PlacedOffset>;
  applied: Map<number, PlacedOffset>;
  stopping: boolean;
  fromBeginning: boolean;
  /** Every topic id asked fails with it. */
  failure?: Error;
}

function probeOf(world: World) {
  const told: { partition: number; at: number }[] = [];
  const errors: unknown[] = [];
  let asked = 0;
  const actions: CaughtUpActions = {
    now: () => world.clock,
    topicId: async () => {
      if (world.failure) throw world.failure;
      return world.ids[Math.min(asked++, world.ids.length - 1)] ?? null;
    },
    ends: async () => {
      // The clock moves while the broker answers: the instant told is the one before asking.
      world.clock += 50;
      return world.ends;
    },
    committed: async () => world.committed,
    applied: (_topic, partition) => world.applied.get(partition) ?? null,
    stopping: () => world.stopping,
    fromBeginning: world.fromBeginning,
    onCaughtUp: (topic, partition, at) => {
      assert.equal(topic, 't');
      told.push({ partition, at });
    },
    onProbeError: (error) => errors.push(error),
  };
  const probe = new CaughtUpProbe(actions, 60_000);
  probe.assigned({ t: world.ends.map((e) => e.partition) });
  return { probe, told, errors };
}

const world = (overrides: Partial<World> = {}): World => ({
  clock: 1000,
  ids: ['A'],
  ends: [
    { partition: 0, low: 0, high: 10 },
    { partition: 1, low: 0, high: 10 },
    { partition: 2, low: 4, high: 4 },
  ],
  committed: new Map(),
  applied: new Map(),
  stopping: false,
  fromBeginning: true,
  ...overrides,
});

test('a partition applied up to its end is told caught up at the instant before the end offsets were asked; one short of it is not', async () => {
  const w = world({ applied: new Map([[0, { offset: 10, incarnation: 'A' }], [1, { offset: 9, incarnation: 'A' }]]), committed: new Map([[2, { offset: -1, incarnation: null }]]) });
  const { probe, told, errors } = probeOf(w);
  await probe.probe();
  assert.deepEqual(errors, []);
  // Partition 2 is empty (first offset = end) and the group has no offset there: nothing to apply.
  assert.deepEqual(told, [{ partition: 0, at: 1000 }, { partition: 2, at: 1000 }]);
});

test('with nothing applied here, the group\'s committed offset counts when committed for the same incarnation (or none recorded)', async () => {
  const w = world({
    committed: new Map([
      [0, { offset: 10, incarnation: 'A' }],
      [1, { offset: 10, incarnation: 'OLD' }],
      [2, { offset: 4, incarnation: null }],
    ]),
  });
  const { probe, told } = probeOf(w);
  await probe.probe();
  assert.deepEqual(told.map((t) => t.partition), [0, 2]);
});

test('a group with no committed offset that starts at the end tells nothing of a partition holding messages', async () => {
  const { probe, told } = probeOf(world({ fromBeginning: false }));
  await probe.probe();
  assert.deepEqual(told, []);
});

test('offsets are compared only within one incarnation: applied offsets of another, or a topic id that changed while asking, tell nothing', async () => {
  const other = world({ applied: new Map([[0, { offset: 10, incarnation: 'OLD' }]]), committed: new Map([[1, { offset: 10, incarnation: 'A' }], [2, { offset: 4, incarnation: 'A' }]]) });
  const first = probeOf(other);
  await first.probe.probe();
  assert.deepEqual(first.told.map((t) => t.partition), [1, 2], 'partition 0 was applied in another incarnation');

  const changed = probeOf(world({ ids: ['A', 'B'], applied: new Map([[0, { offset: 10, incarnation: 'A' }]]) }));
  await changed.probe.probe();
  assert.deepEqual(changed.told, [], 'the end offsets may be the new topic\'s');

  const gone = probeOf(world({ ids: [null], applied: new Map([[0, { offset: 10, incarnation: 'A' }]]) }));
  await gone.probe.probe();
  assert.deepEqual(gone.told, []);
});

test('nothing is told once the consumer stops, nor for partitions no longer assigned; a failed probe is reported, not thrown', async () => {
  const w = world({ applied: new Map([[0, { offset: 10, incarnation: 'A' }]]) });
  const { probe, told, errors } = probeOf(w);
  probe.assigned({});
  await probe.probe();
  assert.deepEqual(told, []);
  probe.assigned({ t: [0] });
  w.stopping = true;
  await probe.probe();
  assert.deepEqual(told, []);
  w.stopping = false;
  w.failure = new Error('broker gone');
  await probe.probe();
  assert.deepEqual(errors, [w.failure]);
  delete w.failure;
  await probe.probe();
  assert.deepEqual(told, [{ partition: 0, at: w.clock - 50 }], 'the next probe tries again');
});
