// When a partition is caught up (StreamConsumerOptions.onCaughtUp). kafkajs calls eachBatch only for a
// fetch that brought messages, so a partition with nothing new is never heard of through its batches:
// every interval, the owned partitions' applied offsets are compared with their topics' end offsets.
// The instant is taken before the end offsets are asked for: a message written before it lies below
// the end the broker answers, so where everything below that end is applied, so is every message
// written before the instant. Every partition is probed, busy ones too: under a steady stream the
// applied offset often reaches an end asked for a moment earlier.
//
// Offsets compare only within one incarnation of a topic (incarnations.ts): the topic's id is asked
// before and after its end offsets, and an answer is used only when both name the incarnation the
// applied offset belongs to (an id never comes back once replaced).

/** A partition's first offset and its end (the high watermark: the offset the next message gets). */
export interface PartitionEnds {
  partition: number;
  low: number;
  high: number;
}

/** An offset and the incarnation it belongs to (null: not recorded). */
export interface PlacedOffset {
  offset: number;
  incarnation: string | null;
}

/** What the probe asks of the consumer and the brokers. */
export interface CaughtUpActions {
  now(): number;
  topicId(topic: string): Promise<string | null>;
  ends(topic: string): Promise<PartitionEnds[]>;
  /** The group's committed offset per partition, with the incarnation it was committed for. */
  committed(topic: string): Promise<Map<number, PlacedOffset>>;
  /** How far this consumer applied a partition (CommitPipeline.applied); null: nothing of it yet. */
  applied(topic: string, partition: number): PlacedOffset | null;
  /** True once the consumer stops or halted: nothing is told any more. */
  stopping(): boolean;
  /** Where a group with no committed offset starts: at the first offset (true), or at the end. */
  fromBeginning: boolean;
  onCaughtUp(topic: string, partition: number, at: number): void;
  /** Told when a probe failed (it is tried again at the next interval). */
  onProbeError(error: unknown): void;
}

export class CaughtUpProbe {
  private assignment: Record<string, number[]> = {};
  private timer: NodeJS.Timeout | null = null;
  private probing: Promise<void> | null = null;

  constructor(
    private readonly actions: CaughtUpActions,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.probe(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The partitions this consumer owns, from a group join on (none while the group rebalances). */
  assigned(assignment: Record<string, number[]>): void {
    this.assignment = { ...assignment };
  }

  /** One probe of every owned partition; a probe still running is waited for instead. */
  probe(): Promise<void> {
    if (this.probing) return this.probing;
    const probing = (async () => {
      for (const [topic, partitions] of Object.entries(this.assignment)) {
        if (this.actions.stopping()) return;
        if (partitions.length > 0) await this.probeTopic(topic, partitions);
      }
    })()
      .catch((error: unknown) => this.actions.onProbeError(error))
      // Cleared once settled, never before it is set (a probe with nothing to ask ends at once).
      .finally(() => {
        if (this.probing === probing) this.probing = null;
      });
    this.probing = probing;
    return probing;
  }

  private async probeTopic(topic: string, partitions: readonly number[]): Promise<void> {
    const { actions } = this;
    const at = actions.now();
    const before = await actions.topicId(topic);
    if (before === null) return;
    const ends = new Map((await actions.ends(topic)).map((e) => [e.partition, e]));
    if ((await actions.topicId(topic)) !== before) return;
    let committed: Map<number, PlacedOffset> | null = null;
    for (const partition of partitions) {
      const end = ends.get(partition);
      if (end === undefined) continue;
      // Read after the answers: what was applied by then counts.
      let position: number | null = null;
      const applied = actions.applied(topic, partition);
      if (applied !== null) {
        if (applied.incarnation === null || applied.incarnation === before) position = applied.offset;
      } else {
        // Nothing applied here yet (an idle partition since the join): the group's committed offset,
        // committed only once applied, or where a group with none starts.
        committed ??= await actions.committed(topic);
        const found = committed.get(partition);
        if (found !== undefined && found.offset >= 0) {
          if (found.incarnation === null || found.incarnation === before) position = found.offset;
        } else if (actions.fromBeginning) {
          position = end.low;
        }
      }
      if (position === null || position < end.high || actions.stopping()) continue;
      try {
        actions.onCaughtUp(topic, partition, at);
      } catch {
        // A listener that fails must not stop the probes.
      }
    }
  }
}
