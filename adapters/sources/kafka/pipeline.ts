// Keeps fetching apart from committing. A chunk's offsets are resolved (so kafkajs fetches on) as soon
// as it is handed to the handler; they are committed only once it and every chunk before it on its
// partition are applied. A failed chunk makes its partition start again from that chunk's first offset.
// Offsets are committed with the incarnation they belong to (the topic's id) as their metadata; a reset
// (the partition found under a new incarnation) drops what the old one had not committed yet.
import type { Consumer, Logger } from 'kafkajs';
import type { FeaturegraphError } from '../../../schema/errors.js';
import { pause } from '../../../schema/backoff.js';
import { redeliveryDelay, stopsConsumer } from '../redelivery.js';

interface Chunk {
  first: number;
  last: number;
  incarnation: string | null;
  state: 'pending' | 'applied' | 'failed';
  settled: Promise<void>;
}

interface PartitionState {
  topic: string;
  partition: number;
  /** The incarnation the partition is read in (null: the source knows none). */
  incarnation: string | null;
  /** Handed over, in offset order, until the chunks before them are settled too. */
  chunks: Chunk[];
  /** Chunks of an incarnation before a reset, still in flight: waited for on drain, never committed. */
  orphans: Chunk[];
  /** First offset of a failed chunk the partition was sent back to, until that chunk comes again. */
  rewindTo: number | null;
  /** The lowest failed chunk no applied chunk has covered since: nothing past it may be committed. */
  uncovered: number | null;
  /** Failures in a row: the replay waits longer each time. */
  failures: number;
  /** The next offset to commit (everything below it is applied), and what was committed. */
  committable: number;
  committed: number;
}

export interface PipelineListeners {
  /** Told once, when a chunk failed in a way no retry mends (redelivery.ts: a StreamHaltError, any error not retriable). */
  onHalt?(error: FeaturegraphError): void;
  /** Told when a chunk of the partition's current incarnation failed otherwise (it is handed over again). */
  onError?(error: unknown): void;
}

export class CommitPipeline {
  stopping = false;
  /** Set when a chunk failed in a way no retry mends: nothing is handed over or sought any more. */
  halted: FeaturegraphError | null = null;
  /** Aborted with `stopping`: ends a pause before a replay at once. */
  private readonly stopped = new AbortController();
  private readonly partitions = new Map<string, PartitionState>();
  private timer: NodeJS.Timeout | null = null;
  private committing: Promise<void> | null = null;
  private lastCommitAt = 0;

  constructor(
    private readonly consumer: Consumer,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly listeners: PipelineListeners = {},
  ) {}

  private state(topic: string, partition: number): PartitionState {
    const id = `${topic}\u0000${partition}`;
    let state = this.partitions.get(id);
    if (!state) {
      state = { topic, partition, incarnation: null, chunks: [], orphans: [], rewindTo: null, uncovered: null, failures: 0, committable: -1, committed: -1 };
      this.partitions.set(id, state);
    }
    return state;
  }

  /**
   * How far the partition is applied in the incarnation it is read in: every offset below `offset`
   * (null: nothing of that incarnation applied by this consumer yet). Within an incarnation it only grows.
   */
  applied(topic: string, partition: number): { offset: number; incarnation: string | null } | null {
    const state = this.partitions.get(`${topic}\u0000${partition}`);
    return state === undefined || state.committable < 0 ? null : { offset: state.committable, incarnation: state.incarnation };
  }

  /** The group was joined again: fetching starts from the committed offsets, not from a rewind. */
  rejoined(): void {
    for (const state of this.partitions.values()) state.rewindTo = null;
  }

  /**
   * The partition is read in a new incarnation from now on: chunks of the old one still in flight are
   * never committed (their offsets mean nothing in the new one), nor do their failures send it back.
   */
  reset(topic: string, partition: number, incarnation: string): void {
    const state = this.state(topic, partition);
    state.orphans = [...state.orphans, ...state.chunks].filter((c) => c.state === 'pending');
    state.chunks = [];
    Object.assign(state, { incarnation, rewindTo: null, uncovered: null, failures: 0, committable: -1, committed: -1 });
  }

  /**
   * Waits before the replay of a failed chunk, by the backoff every stream source uses (redelivery.ts),
   * growing with the partition's failures in a row; heartbeats at least every second meanwhile, so that
   * a long pause does not cost the group its member. Ends at once when the pipeline stops.
   */
  async beforeHandOver(topic: string, partition: number, first: number, heartbeat: () => Promise<void>): Promise<void> {
    const state = this.state(topic, partition);
    if (state.rewindTo === null || first > state.rewindTo) return;
    state.rewindTo = null;
    let wait = redeliveryDelay(Math.max(1, state.failures));
    while (wait > 0 && (await pause(Math.min(wait, 1000), this.stopped.signal))) {
      wait -= 1000;
      await heartbeat();
    }
  }

  /** Hands nothing over from now on, and ends the pauses before replays. */
  private stop(): void {
    this.stopping = true;
    this.stopped.abort();
  }

  handOver(topic: string, partition: number, first: number, last: number, applied: Promise<void>, incarnation: string | null = null): void {
    const state = this.state(topic, partition);
    // A hand-over in another incarnation than the partition's (its first, or after a join) means the
    // partition is read in that one now.
    if (incarnation !== null && incarnation !== state.incarnation) this.reset(topic, partition, incarnation);
    const chunk: Chunk = { first, last, incarnation, state: 'pending', settled: Promise.resolve() };
    const orphaned = () => chunk.incarnation !== state.incarnation;
    chunk.settled = applied.then(
      () => {
        chunk.state = 'applied';
        if (orphaned()) return;
        state.failures = 0;
        this.settle(state);
      },
      (error: unknown) => {
        chunk.state = 'failed';
        if (stopsConsumer(error)) {
          // Retrying cannot help: stop handing over; nothing from this chunk on is committed.
          this.stop();
          if (!this.halted) {
            this.halted = error;
            this.logger.error(`stream materializer stopped at offset ${first} of partition ${partition}: ${error.message}`, { topic, partition, offset: first });
            this.listeners.onHalt?.(error);
          }
          if (!orphaned()) this.settle(state);
          return;
        }
        if (orphaned()) return;
        state.failures++;
        try {
          this.listeners.onError?.(error);
        } catch {
          // A listener that fails must not stop the partition from going back to the failed chunk.
        }
        this.logger.error(`stream batch failed; partition ${partition} starts again at offset ${first}`, { topic, partition, offset: first, error: error instanceof Error ? error.message : String(error) });
        if (!this.stopping && (state.rewindTo === null || first < state.rewindTo)) {
          state.rewindTo = first;
          try {
            this.consumer.seek({ topic, partition, offset: String(first) });
          } catch (seekError) {
            // Not running any more: the next consumer starts from the committed offsets anyway.
            this.logger.warn('seek after a failed stream batch failed', { topic, partition, error: seekError instanceof Error ? seekError.message : String(seekError) });
          }
        }
        this.settle(state);
      },
    );
    state.chunks.push(chunk);
  }

  /** Waits until at most `depth` chunks of the partition are pending. */
  async bound(topic: string, partition: number, depth: number): Promise<void> {
    const state = this.state(topic, partition);
    for (;;) {
      const pending = state.chunks.filter((c) => c.state === 'pending');
      if (pending.length <= depth) return;
      await (pending[0] as Chunk).settled;
    }
  }

  /** Takes settled chunks off the front; applied ones move the committable offset unless a failure is uncovered. */
  private settle(state: PartitionState): void {
    let moved = false;
    while (state.chunks.length > 0 && (state.chunks[0] as Chunk).state !== 'pending') {
      const chunk = state.chunks.shift() as Chunk;
      if (chunk.state === 'failed') {
        state.uncovered = state.uncovered === null ? chunk.first : Math.min(state.uncovered, chunk.first);
        continue;
      }
      if (state.uncovered !== null && chunk.first > state.uncovered) continue;
      state.uncovered = null;
      if (chunk.last + 1 > state.committable) {
        state.committable = chunk.last + 1;
        moved = true;
      }
    }
    if (moved) this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.stopping) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.commit();
    }, Math.max(0, this.lastCommitAt + this.intervalMs - Date.now()));
    this.timer.unref();
  }

  /** Commits what is committable; one commit at a time. A failed commit is tried again later. */
  async commit(): Promise<void> {
    while (this.committing) await this.committing;
    const due = [...this.partitions.values()].filter((s) => s.committable > s.committed);
    if (due.length === 0) return;
    const offsets = due.map((s) => ({ topic: s.topic, partition: s.partition, offset: String(s.committable), at: s.committable, incarnation: s.incarnation }));
    this.committing = (async () => {
      try {
        // The incarnation rides along as the commit's metadata: a consumer that joins later can tell
        // offsets committed for an old incarnation of the topic (IncarnationGuard).
        await this.consumer.commitOffsets(offsets.map(({ topic, partition, offset, incarnation }) => (incarnation === null ? { topic, partition, offset } : { topic, partition, offset, metadata: incarnation })));
        offsets.forEach(({ at, incarnation }, i) => {
          const state = due[i] as PartitionState;
          // Reset meanwhile: what was committed belongs to the old incarnation.
          if (state.incarnation === incarnation) state.committed = Math.max(state.committed, at);
        });
      } catch (error) {
        // Lazy commits may fail (a rebalance in progress): the next one covers them, a replay is harmless.
        this.logger.warn('committing stream offsets failed; trying again later', { error: error instanceof Error ? error.message : String(error) });
      } finally {
        this.lastCommitAt = Date.now();
        this.committing = null;
      }
    })();
    await this.committing;
    if (due.some((s) => s.committable > s.committed)) this.schedule();
  }

  /** Stops handing over, waits for what is in flight, commits it. */
  async drain(): Promise<void> {
    this.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.all([...this.partitions.values()].flatMap((s) => [...s.chunks, ...s.orphans].map((c) => c.settled)));
    await this.commit();
  }
}
