// Which incarnation of a topic a fetched batch comes from. A topic deleted and created again keeps its
// name, and a consumer keeps fetching at its old position: kafkajs then either resets an out-of-range
// position to the new topic's start, or, when the new topic already holds more messages, simply reads
// on from the old position (measured on Kafka 4.1: a consumer at offset 20 of the old topic went on at
// offset 20 of the new one, its first 20 events never read). So each batch is checked against the
// topic's id (topic-ids.ts), asked of the broker once its fetch has arrived:
// - the answer agrees with the answer before (which came before this batch's fetch was sent, since
//   kafkajs sends a broker's next fetch only once every batch of the last one was handled): the batch
//   comes from that incarnation, and is handed over with it;
// - the id changed: the position belongs to the old incarnation, so the partition starts again at the
//   new incarnation's first offset (a reset), and nothing of the batch is handed over;
// - no answer before (the first batch after joining the group, or after the topic was gone): the batch
//   is fetched again, so that it is bracketed by two answers; after a join, the group's committed
//   offset is checked too, against the incarnation its commit recorded (CommitPipeline commits with the
//   incarnation as metadata), so that offsets committed for an old incarnation are not read on in a new one.

/** What to do with a fetched batch. */
export type IncarnationVerdict =
  | { kind: 'hand-over'; incarnation: string }
  /** Seek back to the batch's first offset and fetch it again (nothing handed over). */
  | { kind: 'refetch' }
  /** The partition has a new incarnation: read it from its first offset (nothing handed over). */
  | { kind: 'reset'; from: string | null; to: string };

export interface IncarnationSource {
  /** The topic's id now, asked of the broker (null: the topic does not exist). */
  topicId(topic: string): Promise<string | null>;
  /** The incarnation the group's committed offset of a partition was committed for (null: none recorded). */
  committedIncarnation(topic: string, partition: number): Promise<string | null>;
}

interface PartitionState {
  /** The incarnation the fetch position belongs to; null until known (after a join). */
  position: string | null;
  /** The last answer, asked after the previous batch arrived (so before this batch's fetch was sent). */
  answer: string | null;
}

export class IncarnationGuard {
  private readonly partitions = new Map<string, PartitionState>();

  constructor(private readonly source: IncarnationSource) {}

  /** A join gives partitions at committed offsets again: nothing is known of them any more. */
  rejoined(): void {
    this.partitions.clear();
  }

  async check(topic: string, partition: number): Promise<IncarnationVerdict> {
    const id = `${topic}\u0000${partition}`;
    let state = this.partitions.get(id);
    if (!state) this.partitions.set(id, (state = { position: null, answer: null }));
    const before = state.answer;
    const now = await this.source.topicId(topic);
    state.answer = now;
    // Gone (deleted, maybe being created again): nothing of it is handed over; the next answer decides.
    if (now === null) return { kind: 'refetch' };
    if (state.position === null) {
      state.position = now;
      const committed = await this.source.committedIncarnation(topic, partition);
      if (committed !== null && committed !== now) return { kind: 'reset', from: committed, to: now };
    } else if (state.position !== now) {
      const from = state.position;
      state.position = now;
      return { kind: 'reset', from, to: now };
    }
    return before === now ? { kind: 'hand-over', incarnation: now } : { kind: 'refetch' };
  }
}
