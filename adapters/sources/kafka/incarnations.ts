// Which incarnation of a topic a fetched batch comes from. A topic deleted and created again keeps its
// name, and a consumer keeps fetching at its old position: kafkajs then either resets an out-of-range
// position to the new topic's start, or, when the new topic already holds more messages, simply reads
// on from the old position (measured on Kafka 4.1: a consumer at offset 20 of the old topic went on at
// offset 20 of the new one, its first 20 events never read). So each batch is checked against the
// topic's id (topic-ids.ts), asked of the broker once its fetch has arrived:
// - an answer from before the batch's fetch agrees with the answer after it: the topic had that id at
//   both moments, and an id never comes back once replaced, so the batch comes from it and is handed
//   over with it. An answer is known to be from before the fetch when it came before the group join
//   the fetch belongs to (the consumer asks once before it starts, and no fetch of a generation is
//   sent before its join), or from an earlier batch of the partition in the same generation (kafkajs
//   sends a broker's next fetch only once every batch of the last one was handled, and joins only
//   once every batch was; with several brokers, a join one fetcher makes while another's fetch is in
//   flight weakens this, for a topic created again in that same moment);
// - the partition's position belongs to another incarnation (the id changed since, or the group's
//   committed offset was committed for another one: CommitPipeline commits with the incarnation as
//   metadata): the partition starts again at the new incarnation's first offset (a reset), and
//   nothing of the batch is handed over;
// - no answer known to be from before the fetch (a topic that was gone, the first batch of a partition
//   no answer came before): the batch is fetched again, now after an answer.
// A partition that gets no batch is swept instead, every few seconds: a consumer whose position in the
// old topic is exactly the new topic's end fetches nothing at all, and would wait there forever having
// skipped every event of the new one.

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

/** An answer about a topic's id, with the group joins counted when it was asked and when it came. */
interface Answer {
  id: string | null;
  askedInJoin: number;
  receivedInJoin: number;
}

interface PartitionState {
  /** The incarnation the fetch position belongs to; null until known (after each join). */
  position: string | null;
  /** The answer asked for this partition's last batch. */
  answer: Answer | null;
}

export class IncarnationGuard {
  /** Group joins so far: answers are placed before or after each. */
  private joins = 0;
  /**
   * Per topic, the last answer that came (for whichever partition, or asked before consuming), and the
   * last that came before the latest join: that one came before every fetch since.
   */
  private readonly topics = new Map<string, { latest: Answer | null; beforeJoin: Answer | null }>();
  private readonly partitions = new Map<string, PartitionState>();

  constructor(private readonly source: IncarnationSource) {}

  /** A join gives partitions at committed offsets again: their positions are unknown until checked. */
  rejoined(): void {
    for (const topic of this.topics.values()) topic.beforeJoin = topic.latest ?? topic.beforeJoin;
    this.joins++;
    for (const state of this.partitions.values()) state.position = null;
  }

  private topic(name: string): { latest: Answer | null; beforeJoin: Answer | null } {
    let topic = this.topics.get(name);
    if (!topic) this.topics.set(name, (topic = { latest: null, beforeJoin: null }));
    return topic;
  }

  /** Asks for a topic's id before consuming starts, so that the first batches come after an answer. */
  async prime(topic: string): Promise<void> {
    const askedInJoin = this.joins;
    const id = await this.source.topicId(topic);
    this.topic(topic).latest = { id, askedInJoin, receivedInJoin: this.joins };
  }

  /** The incarnation a partition's position belongs to, as far as known. */
  positionOf(topic: string, partition: number): string | null {
    return this.partitions.get(`${topic}\u0000${partition}`)?.position ?? null;
  }

  /**
   * For a partition that may get no batch: given the topic's id now (asked by the caller, once for all
   * its partitions), a reset when the partition's position belongs to another incarnation; null when
   * nothing is known to be wrong. Runs under the partition's lock, like check().
   */
  async sweep(topic: string, partition: number, now: string | null): Promise<Extract<IncarnationVerdict, { kind: 'reset' }> | null> {
    if (now === null) return null;
    const state = this.partitions.get(`${topic}\u0000${partition}`);
    if (state?.position != null) {
      if (state.position === now) return null;
      const from = state.position;
      state.position = now;
      return { kind: 'reset', from, to: now };
    }
    const committed = await this.source.committedIncarnation(topic, partition);
    if (committed === null || committed === now) return null;
    if (state) state.position = now;
    else this.partitions.set(`${topic}\u0000${partition}`, { position: now, answer: null });
    return { kind: 'reset', from: committed, to: now };
  }

  async check(topic: string, partition: number): Promise<IncarnationVerdict> {
    const join = this.joins;
    const key = `${topic}\u0000${partition}`;
    let state = this.partitions.get(key);
    if (!state) this.partitions.set(key, (state = { position: null, answer: null }));
    const mine = state.answer;
    const topicWide = this.topic(topic).beforeJoin;
    const now = await this.source.topicId(topic);
    const answer = { id: now, askedInJoin: join, receivedInJoin: this.joins };
    state.answer = answer;
    this.topic(topic).latest = answer;
    // Gone (deleted, maybe being created again): nothing of it is handed over; the next answer decides.
    if (now === null) return { kind: 'refetch' };
    const cameBefore = (a: Answer | null, sameGeneration: boolean): boolean => a !== null && (a.receivedInJoin < join || (sameGeneration && a.askedInJoin === join && a.receivedInJoin === join));
    const bracketed = (cameBefore(mine, true) && mine?.id === now) || (cameBefore(topicWide, false) && topicWide?.id === now);
    if (state.position === null) {
      state.position = now;
      const committed = await this.source.committedIncarnation(topic, partition);
      if (committed !== null && committed !== now) return { kind: 'reset', from: committed, to: now };
    } else if (state.position !== now) {
      const from = state.position;
      state.position = now;
      return { kind: 'reset', from, to: now };
    }
    return bracketed ? { kind: 'hand-over', incarnation: now } : { kind: 'refetch' };
  }
}

/** One holder at a time per partition: a batch's check and its seek, or a sweep's, never interleave. */
export class PartitionLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(topic: string, partition: number, critical: () => Promise<T>): Promise<T> {
    const key = `${topic}\u0000${partition}`;
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(critical, critical);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
