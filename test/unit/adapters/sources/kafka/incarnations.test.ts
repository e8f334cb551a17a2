// Which incarnation a fetched batch comes from (incarnations.ts), against a stand-in broker, and the
// Metadata v10-v12 wire format topic ids are read with (topic-ids.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncarnationGuard, PartitionIncarnations, PartitionLocks } from '../../../../../adapters/sources/kafka/incarnations.js';
import type { PartitionReset } from '../../../../../adapters/sources/types.js';
import { decodeMetadataResponse, encodeMetadataRequest, unsignedVarint as uv } from '../../../../../adapters/sources/kafka/topic-ids.js';

function standIn() {
  const broker = { id: 'A' as string | null, committed: new Map<number, string | null>(), asked: 0 };
  const guard = new IncarnationGuard({
    topicId: async () => {
      broker.asked++;
      return broker.id;
    },
    committedIncarnation: async (_topic, partition) => broker.committed.get(partition) ?? null,
  });
  return { broker, guard };
}

test('a batch is handed over only when an answer from before its fetch and the answer after it agree', async () => {
  const { broker, guard } = standIn();
  guard.rejoined();
  assert.deepEqual(await guard.check('t', 0), { kind: 'refetch' }, 'no answer came before this fetch');
  assert.deepEqual(await guard.check('t', 0), { kind: 'hand-over', incarnation: 'A' });
  assert.deepEqual(await guard.check('t', 0), { kind: 'hand-over', incarnation: 'A' });
  assert.deepEqual(await guard.check('t', 1), { kind: 'refetch' }, "another partition's answer of this generation may have come after this fetch");
  assert.equal(broker.asked, 4, 'asked for every batch: never from a cache');
  // Answers that came before a join came before every fetch of the new generation.
  guard.rejoined();
  assert.deepEqual(await guard.check('t', 2), { kind: 'hand-over', incarnation: 'A' });
  assert.deepEqual(await guard.check('t', 0), { kind: 'hand-over', incarnation: 'A' });
});

test('asked before consuming starts, the id brackets the first batches: none is fetched twice', async () => {
  const { broker, guard } = standIn();
  await guard.prime('t');
  guard.rejoined();
  for (const partition of [0, 1, 2]) assert.deepEqual(await guard.check('t', partition), { kind: 'hand-over', incarnation: 'A' });
  // Created again between the answer before consuming and the first batch: not handed over.
  const other = standIn();
  await other.guard.prime('t');
  other.guard.rejoined();
  other.broker.id = 'B';
  assert.deepEqual(await other.guard.check('t', 0), { kind: 'refetch' });
  assert.equal(broker.asked, 4);
});

test('a changed topic id resets the partition to the new incarnation; a gone topic hands nothing over', async () => {
  const { broker, guard } = standIn();
  guard.rejoined();
  await guard.check('t', 0);
  await guard.check('t', 0);
  broker.id = null; // deleted
  assert.deepEqual(await guard.check('t', 0), { kind: 'refetch' });
  broker.id = 'B'; // created again; the consumer fetched at its old position
  assert.deepEqual(await guard.check('t', 0), { kind: 'reset', from: 'A', to: 'B' });
  assert.deepEqual(await guard.check('t', 0), { kind: 'hand-over', incarnation: 'B' }, 'read from the new start: the answers agree');
  // Deleted and created again between two batches, no answer in between.
  broker.id = 'C';
  assert.deepEqual(await guard.check('t', 0), { kind: 'reset', from: 'B', to: 'C' });
});

test('after a join, offsets committed for another incarnation are not read on; ones committed for this one, or without one, are', async () => {
  const { broker, guard } = standIn();
  guard.rejoined();
  broker.id = 'B';
  broker.committed.set(0, 'A');
  broker.committed.set(1, 'B');
  assert.deepEqual(await guard.check('t', 0), { kind: 'reset', from: 'A', to: 'B' });
  assert.deepEqual(await guard.check('t', 1), { kind: 'refetch' });
  assert.deepEqual(await guard.check('t', 2), { kind: 'refetch' }, 'nothing recorded (kafkajs commits its default offset without metadata)');
  assert.deepEqual(await guard.check('t', 2), { kind: 'hand-over', incarnation: 'B' });
});

test('a partition that gets no batch is swept: its position in an old incarnation, or offsets committed for one, make a reset', async () => {
  const { broker, guard } = standIn();
  guard.rejoined();
  await guard.check('t', 0);
  await guard.check('t', 0);
  assert.equal(await guard.sweep('t', 0, 'A'), null, 'nothing changed');
  assert.equal(await guard.sweep('t', 0, null), null, 'gone: nothing to read yet');
  // Created again with exactly as many messages as the position: no batch will ever come.
  assert.deepEqual(await guard.sweep('t', 0, 'B'), { kind: 'reset', from: 'A', to: 'B' });
  assert.equal(guard.positionOf('t', 0), 'B');
  assert.equal(await guard.sweep('t', 0, 'B'), null, 'reset once');
  // After a join, before any batch: the committed offset's incarnation decides.
  broker.committed.set(1, 'A');
  broker.committed.set(2, null);
  guard.rejoined();
  assert.deepEqual(await guard.sweep('t', 1, 'B'), { kind: 'reset', from: 'A', to: 'B' });
  assert.equal(await guard.sweep('t', 2, 'B'), null, 'nothing recorded: the position is taken as the current incarnation');
});

test('partition locks let one holder in at a time per partition, in order, other partitions alongside', async () => {
  const locks = new PartitionLocks();
  const log: string[] = [];
  let release!: () => void;
  const first = locks.run('t', 0, async () => {
    log.push('a starts');
    await new Promise<void>((resolve) => (release = resolve));
    log.push('a ends');
  });
  const second = locks.run('t', 0, async () => {
    log.push('b runs');
  });
  const other = locks.run('t', 1, async () => {
    log.push('other partition runs');
  });
  await other;
  assert.deepEqual(log, ['a starts', 'other partition runs']);
  release();
  await Promise.all([first, second]);
  assert.deepEqual(log, ['a starts', 'other partition runs', 'a ends', 'b runs']);
  await assert.rejects(locks.run('t', 0, async () => Promise.reject(new Error('x'))), /x/);
  assert.equal(await locks.run('t', 0, async () => 'after a failure'), 'after a failure');
});

test('a consumer acts on the verdicts: a batch fetched again from its first offset, a reset read from the new start, an idle partition swept', async () => {
  const broker = { id: 'A' as string | null, committed: new Map<number, string | null>(), start: 0 };
  const seeks: string[] = [];
  const resets: PartitionReset[] = [];
  const pipelineResets: string[] = [];
  const incarnations = new PartitionIncarnations(
    ['t'],
    {
      topicId: async () => broker.id,
      committedIncarnations: async () => broker.committed,
      firstOffset: async () => broker.start,
      seek: (topic, partition, offset) => seeks.push(`${topic}[${partition}]@${offset}`),
      reset: (topic, partition, incarnation) => pipelineResets.push(`${topic}[${partition}]:${incarnation}`),
      stopping: () => false,
      onReset: (reset) => resets.push(reset),
      onSweepError: (error) => assert.fail(String(error)),
    },
    60_000,
  );
  const fresh = () => false;
  try {
    await incarnations.start();
    incarnations.joined({ t: [0, 1] });
    assert.equal(await incarnations.verdict('t', 0, '40', fresh), 'A', 'asked before consuming: handed over at once');
    assert.equal(incarnations.current('t', 0, 'A'), true);
    // Created again; the consumer read on at its old position.
    broker.id = 'B';
    assert.equal(await incarnations.verdict('t', 0, '50', fresh), null);
    assert.deepEqual(seeks, ['t[0]@0']);
    assert.deepEqual(pipelineResets, ['t[0]:B']);
    assert.deepEqual(resets, [{ topic: 't', partition: 0, from: { incarnation: 'A', offset: 50 }, to: { incarnation: 'B', offset: 0 } }]);
    assert.equal(incarnations.current('t', 0, 'A'), false, 'a batch checked before the reset is no longer handed over');
    assert.equal(await incarnations.verdict('t', 0, '0', fresh), 'B');
    // Partition 1 had no batch since the join: the first is fetched again, unless stale (then left alone).
    broker.committed.set(1, null);
    assert.equal(await incarnations.verdict('t', 1, '7', () => true), null);
    assert.deepEqual(seeks, ['t[0]@0'], 'a stale batch is not sought back');
  } finally {
    incarnations.stop();
  }
});

/** A Metadata v12 response as a broker writes it (after the correlation id), for some topics. */
function metadataResponse(topics: { name: string; id: Buffer; errorCode: number; partitions: number }[], version = 12): Buffer {
  const str = (s: string) => Buffer.concat([uv(Buffer.byteLength(s) + 1), Buffer.from(s)]);
  const i16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
  const i32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const parts: Buffer[] = [uv(0), i32(0), uv(2), i32(1), str('127.0.0.1'), i32(9092), uv(0), uv(0), str('cluster'), i32(1), uv(topics.length + 1)];
  for (const t of topics) {
    parts.push(i16(t.errorCode), str(t.name), t.id, Buffer.from([0]), uv(t.partitions + 1));
    for (let p = 0; p < t.partitions; p++) parts.push(i16(0), i32(p), i32(1), i32(0), uv(2), i32(1), uv(2), i32(1), uv(1), uv(0));
    parts.push(i32(-2147483648), uv(0));
  }
  if (version === 10) parts.push(i32(-2147483648));
  parts.push(uv(0));
  return Buffer.concat(parts);
}

test('Metadata v10-v12: requests name topics by name, responses give ids as Kafka prints them, null for unknown topics', () => {
  // header tagged fields, 1 topic (count + 1), zero uuid, name, tags, auto-create false, topic auth ops false, tags
  assert.deepEqual([...encodeMetadataRequest(12, ['ab'])], [0, 2, ...Buffer.alloc(16), 3, 0x61, 0x62, 0, 0, 0, 0]);
  assert.equal(encodeMetadataRequest(10, ['ab']).length, encodeMetadataRequest(12, ['ab']).length + 1, 'v10 also asks about cluster operations');
  const id = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  for (const version of [10, 12]) {
    const answers = decodeMetadataResponse(version, metadataResponse([{ name: 'orders', id, errorCode: 0, partitions: 3 }, { name: 'gone', id: Buffer.alloc(16), errorCode: 3, partitions: 0 }], version));
    assert.deepEqual(answers.get('orders'), { id: id.toString('base64url'), errorCode: 0 });
    assert.deepEqual(answers.get('gone'), { id: null, errorCode: 3 });
  }
  assert.throws(() => decodeMetadataResponse(12, metadataResponse([{ name: 'orders', id, errorCode: 0, partitions: 3 }]).subarray(0, 40)), RangeError);
});
