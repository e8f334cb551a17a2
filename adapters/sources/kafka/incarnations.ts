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

import type { PartitionReset } from '../types.js';

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

/** What a consumer does for PartitionIncarnations: the Kafka calls, its seek, its commit bookkeeping. */
export interface IncarnationActions {
  topicId(topic: string): Promise<string | null>;
  /** Per partition, the incarnation the group's committed offset was committed for (null: none recorded). */
  committedIncarnations(topic: string): Promise<Map<number, string | null>>;
  /** Where the partition starts now (its log start offset). */
  firstOffset(topic: string, partition: number): Promise<number>;
  seek(topic: string, partition: number, offset: string): void;
  /** The partition is read in a new incarnation from now on (CommitPipeline.reset). */
  reset(topic: string, partition: number, incarnation: string): void;
  /** True once the consumer stops: nothing is sought any more. */
  stopping(): boolean;
  onReset?(reset: PartitionReset): void;
  /** Told when a sweep failed (it is tried again at the next). */
  onSweepError(error: unknown): void;
}

/**
 * The incarnation checks of one consumer: each fetched batch's verdict, acted upon (a seek back, or a
 * reset to the new incarnation's start), the sweep of partitions that get no batch, and what a group
 * join changes. A batch's check and a sweep hold the partition's lock with their seeks.
 */
export class PartitionIncarnations {
  private readonly guard: IncarnationGuard;
  private readonly locks = new PartitionLocks();
  private committed = new Map<string, Promise<Map<number, string | null>>>();
  private assignment: Record<string, number[]> = {};
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(
    private readonly topics: readonly string[],
    private readonly actions: IncarnationActions,
    private readonly sweepMs: number,
  ) {
    this.guard = new IncarnationGuard({
      topicId: (topic) => actions.topicId(topic),
      committedIncarnation: async (topic, partition) => (await this.committedOf(topic)).get(partition) ?? null,
    });
  }

  /** Read once per join and topic, from the join on. */
  private committedOf(topic: string): Promise<Map<number, string | null>> {
    let read = this.committed.get(topic);
    if (!read) {
      read = this.actions.committedIncarnations(topic);
      this.committed.set(topic, read);
      read.catch(() => this.committed.delete(topic));
    }
    return read;
  }

  /**
   * Before consuming: the topics' ids, so that the first batches come after an answer instead of being
   * fetched twice (a failure only costs that), and the sweep's timer.
   */
  async start(): Promise<void> {
    await Promise.all(this.topics.map((topic) => this.guard.prime(topic).catch(() => undefined)));
    this.timer = setInterval(() => this.sweep(), this.sweepMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A group join: partitions at committed offsets again, whose incarnations are read at once. */
  joined(assignment: Record<string, number[]>): void {
    this.guard.rejoined();
    this.committed = new Map();
    this.assignment = { ...assignment };
    for (const topic of this.topics) this.committedOf(topic).catch(() => undefined);
  }

  /**
   * The incarnation to hand a fetched batch over with, or null when it is not handed over (fetched
   * again, the partition reset, or sent back elsewhere meanwhile: `isStale`).
   */
  async verdict(topic: string, partition: number, firstOffset: string, isStale: () => boolean): Promise<string | null> {
    const found = await this.locks.run(topic, partition, async () => {
      const verdict = await this.guard.check(topic, partition);
      if (this.actions.stopping()) return null;
      // A reset is done whatever else sent the partition back meanwhile: the guard counts on it.
      if (verdict.kind === 'reset') await this.reset(topic, partition, verdict, Number(firstOffset));
      else if (isStale()) return null;
      else if (verdict.kind === 'refetch') this.actions.seek(topic, partition, firstOffset);
      return verdict;
    });
    return found?.kind === 'hand-over' ? found.incarnation : null;
  }

  /** Whether a batch checked as `incarnation` may still be handed over (no sweep found a reset since). */
  current(topic: string, partition: number, incarnation: string): boolean {
    return this.guard.positionOf(topic, partition) === incarnation;
  }

  private async reset(topic: string, partition: number, verdict: Extract<IncarnationVerdict, { kind: 'reset' }>, fromOffset: number | null): Promise<void> {
    const start = await this.actions.firstOffset(topic, partition);
    // Together, with no wait between: from the seek on, a batch of the old position is stale.
    this.actions.reset(topic, partition, verdict.to);
    this.actions.seek(topic, partition, String(start));
    this.actions.onReset?.({ topic, partition, from: { incarnation: verdict.from, offset: fromOffset }, to: { incarnation: verdict.to, offset: start } });
  }

  private sweep(): void {
    if (this.sweeping || this.actions.stopping()) return;
    this.sweeping = true;
    void (async () => {
      for (const topic of this.topics) {
        const now = await this.actions.topicId(topic);
        for (const partition of this.assignment[topic] ?? []) {
          await this.locks.run(topic, partition, async () => {
            const verdict = await this.guard.sweep(topic, partition, now);
            if (verdict && !this.actions.stopping()) await this.reset(topic, partition, verdict, null);
          });
        }
      }
    })()
      .catch((error: unknown) => this.actions.onSweepError(error))
      .finally(() => {
        this.sweeping = false;
      });
  }
}
