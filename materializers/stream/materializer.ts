// Turns the events of one topic into tile writes for every windowed view that reads it. Writes carry
// the source partition and offsets, so a replay after a crash changes nothing twice (the online store
// applies only offsets above the last one it saw for that key and partition). Offsets compare only
// within one incarnation of a partition (a topic deleted and created again starts at 0 again), so the
// partition is named with its incarnation's generation, which the online store records.
// Each view's watermark is kept per source partition ("<topic>:<partition>"): the instant the source
// last found the partition caught up, or while behind, the newest event time applied; never past the
// materializer's clock. It is published at most once per interval (watermarks.ts), apart from the
// events: a store that refuses it holds up no write.
import type { ResolvedView } from '../../schema/registry.js';
import type { OnlineStore, TileWrite } from '../../adapters/online/types.js';
import type { PartitionCaughtUp, StreamBatch, StreamPayload, StreamSource } from '../../adapters/sources/types.js';
import type { HistoryStore } from '../../adapters/history/types.js';
import { guardPartitionId, type StreamPlace } from '../../adapters/history/record-ids.js';
import type { StreamHaltError } from '../../schema/errors.js';
import { mergeWrites, messagesPayload, planTopic, planView, prepareBatch, type PreparedBatch, type TopicPlan } from './prepare.js';
import { checkDeadLetterRetry, defaultDeadLetterRetry, sendDeadLetters, type DeadLetter, type DeadLetterRetry } from './dead-letters.js';
import { StreamTelemetry } from '../telemetry.js';
import { WatermarkPublisher } from '../watermarks.js';
import { nodeTimers, type Timers } from '../batch/in-process-scheduler.js';
import { OptionCheck } from '../../adapters/common/options.js';

export type { DeadLetter, DeadLetterRecord, DeadLetterRetry } from './dead-letters.js';

export interface StreamMaterializerStats {
  events: number;
  writes: number;
  duplicates: number;
  deadLetters: number;
  /** Batches written together with the one before them, having waited behind the same writes. */
  groupedBatches: number;
  /** Partitions found under a new incarnation (their offsets started again), each counted once. */
  resets: number;
}

export interface StreamMaterializerOptions {
  topic: string;
  views: ResolvedView[];
  store: OnlineStore;
  source: StreamSource;
  now?: () => number;
  /** Events older than now - allowedLateness go to the dead-letter topic (default: the view's longest window). */
  allowedLatenessMs?: number;
  deadLetterTopic?: string;
  /** Where every applied event is appended, for point-in-time reads. */
  history?: HistoryStore;
  /** Sending dead letters: tries and backoff before the materializer stops (defaults: dead-letters.ts). */
  deadLetterRetry?: Partial<DeadLetterRetry>;
  /** Where resets of a partition's offsets, and failed watermark publishes, are told (default: nowhere). */
  log?: (message: string) => void;
  /** How often the views' watermarks are published, at most (default 1 s). */
  watermarkIntervalMs?: number;
  /** The timers of the watermark publishing (default Node's); tests pass virtual ones. */
  timers?: Timers;
}

/** What this materializer last read of a partition: which incarnation, and up to which offset. */
interface Reading {
  generation: number;
  lastOffset: number;
}

export class StreamMaterializer {
  readonly stats: StreamMaterializerStats = { events: 0, writes: 0, duplicates: 0, deadLetters: 0, groupedBatches: 0, resets: 0 };
  /** Set once the materializer stopped for good: every batch from then on is refused with it. */
  halted: StreamHaltError | null = null;
  private readonly now: () => number;
  private readonly deadLetterTopic: string;
  private readonly deadLetterRetry: DeadLetterRetry;
  private readonly log: (message: string) => void;
  private readonly plan: TopicPlan;
  /** Spans and metrics of batches; null when no OpenTelemetry SDK is registered. */
  private readonly telemetry: StreamTelemetry | null;
  /** Per partition and incarnation, its place (with the generation the store recorded), asked for once. */
  private readonly places = new Map<string, Promise<StreamPlace>>();
  /** Per partition (`<topic>:<partition>`), the generation this materializer last read, to tell resets. */
  private readonly reading = new Map<string, Reading>();
  /** Per source partition, the latest batch still in progress: the next one's writes wait for it. */
  private readonly tails = new Map<string, Promise<void>>();
  /** Per source partition, the group of batches whose writes have not started yet: the next batch joins it. */
  private readonly waiting = new Map<string, WriteGroup>();
  /** Per source partition, the first offset of a batch that failed, until a batch from there comes again. */
  private readonly failedFrom = new Map<string, number>();
  /**
   * Per partition incarnation (its guard name), when the store took the events of groups whose history
   * append then failed: (last offset, stamp) in offset order. When those events come again, the store finds them applied,
   * and their records keep the instant readers could first see them, not the retry's.
   */
  private readonly unrecorded = new Map<string, { toOffset: number; stamp: number }[]>();
  private readonly watermarks: WatermarkPublisher;
  private readonly watermarkIntervalMs: number;
  private readonly timers: Timers;
  private tick: unknown = null;
  private running = false;

  constructor(private readonly options: StreamMaterializerOptions) {
    this.now = options.now ?? Date.now;
    this.deadLetterTopic = options.deadLetterTopic ?? `${options.topic}.dead-letter`;
    this.deadLetterRetry = checkDeadLetterRetry({ ...defaultDeadLetterRetry, ...options.deadLetterRetry });
    this.log = options.log ?? (() => {});
    const check = new OptionCheck();
    this.watermarkIntervalMs = check.integerIn('stream materializer: watermarkIntervalMs', options.watermarkIntervalMs, 1, 3_600_000, 1000);
    check.done();
    this.timers = options.timers ?? nodeTimers;
    this.watermarks = new WatermarkPublisher({ store: options.store, history: options.history, now: this.now, log: (message) => this.log(`topic ${options.topic}: ${message}`), nextFlush: `in ${this.watermarkIntervalMs} ms` });
    for (const view of options.views) {
      if (view.source.kind !== 'stream' || view.source.topic !== options.topic) throw new Error(`view ${view.name} does not read topic ${options.topic}`);
    }
    this.plan = planTopic(options.views.map((view) => planView(view, this.latenessFor(view))));
    this.telemetry = StreamTelemetry.start(options.topic, options.views, options.source.name, this.now);
  }

  /**
   * Starts publishing the views' watermarks every interval; the first flush appends each view's record
   * the store holds to history (a crash between a publish and its append loses nothing).
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.watermarks.recover(this.options.views.map((v) => v.name));
    const next = () => {
      this.tick = this.timers.setTimeout(() => {
        void this.publishWatermarks().finally(() => {
          if (this.running) next();
        });
      }, this.watermarkIntervalMs);
    };
    next();
  }

  /** Stops publishing, after one last publish of what was noted (best effort: a failure is logged). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.tick !== null) this.timers.clearTimeout(this.tick);
    this.tick = null;
    await this.publishWatermarks();
  }

  /** Publishes the watermarks noted since the last publish, and appends what changed to history; never rejects. */
  publishWatermarks(): Promise<void> {
    return this.watermarks.flush();
  }

  /** The source found a partition caught up: every view of the topic has applied it up to `at`. */
  caughtUp({ topic, partition, at }: PartitionCaughtUp): void {
    if (topic !== this.options.topic) return;
    const part = { [`${topic}:${partition}`]: Math.min(at, this.now()) };
    for (const view of this.options.views) this.watermarks.note(view.name, part);
  }

  /** Applied writes: per view, the newest event time (clamped to the clock when prepared) reaches the partition's watermark. */
  private noteApplied(where: StreamPlace, writes: readonly TileWrite[]): void {
    const newest = new Map<string, number>();
    for (const write of writes) newest.set(write.view, Math.max(newest.get(write.view) ?? write.eventTime, write.eventTime));
    const part = `${where.topic}:${where.partition}`;
    for (const [view, eventTime] of newest) this.watermarks.note(view, { [part]: eventTime });
  }

  private latenessFor(view: ResolvedView): number {
    if (this.options.allowedLatenessMs !== undefined) return this.options.allowedLatenessMs;
    return Math.max(...view.features.map((f) => f.window?.windowMs ?? 0));
  }

  /**
   * Applies one batch of one partition; resolves once every write is applied (then offsets may be
   * committed). Batches of a partition may be handed over before the previous one resolved: this
   * one is decoded and aggregated at once, and its writes wait for the previous batch's writes, so
   * the store sees a partition's writes in offset order and never one after a write that failed.
   * Batches that wait behind the same writes are written as one: a key's events of all of them
   * become one write, so a store slower than the stream gets fewer, larger writes.
   */
  handle(batch: StreamBatch): Promise<void> {
    if (this.halted) return Promise.reject(this.halted);
    // Batches of one incarnation of a partition form a chain; another incarnation's offsets are guarded
    // under another name, so its batches neither wait for nor merge with the old one's.
    const partition = batch.incarnation === undefined ? `${batch.topic}:${batch.partition}` : `${batch.topic}:${batch.partition}@${batch.incarnation}`;
    const payload = batch.payload ?? messagesPayload(batch.messages);
    const count = payload.count;
    const first = count > 0 ? payload.offsetAt(0) : Number.POSITIVE_INFINITY;
    // After a failed batch, its partition must start again at or before it: a later batch applied
    // first would make the store skip the failed batch's events as already seen.
    const failedFrom = this.failedFrom.get(partition);
    if (failedFrom !== undefined && count > 0) {
      if (first > failedFrom) return Promise.reject(new Error(`batch from offset ${first} of ${partition} refused: the batch from offset ${failedFrom} failed and must be applied first`));
      this.failedFrom.delete(partition);
    }
    const observed = this.telemetry === null ? null : this.telemetry.batch(batch, payload);
    // Asked for now, in the order batches come: batches waiting on one answer resume in that order.
    const placed = this.placeOf(partition, batch, first);
    const previous = this.tails.get(partition);
    const run = (async () => {
      // Yield first, so that the caller can go on (a Kafka source fetches the next batch meanwhile).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const place = await placed;
      const now = this.now();
      const withHistory = this.options.history !== undefined;
      const prepared = prepareBatch(this.plan, place, payload, now, withHistory);
      observed?.prepared(prepared);
      if (count > 0) this.noteRead(place, payload.offsetAt(count - 1));
      // Batches are prepared in the order they came, so a group's members stay in offset order.
      const waiting = this.waiting.get(partition);
      if (waiting) {
        waiting.members.push({ prepared, payload });
        return waiting.done;
      }
      const group: WriteGroup = { members: [{ prepared, payload }], done: Promise.resolve() };
      this.waiting.set(partition, group);
      group.done = (async () => {
        try {
          if (previous) await previous;
        } finally {
          // Whatever comes from here on waits for this group instead of joining it.
          if (this.waiting.get(partition) === group) this.waiting.delete(partition);
        }
        // Stopped meanwhile (another partition's dead letters): nothing more is applied.
        if (this.halted) throw this.halted;
        await this.finish(group.members, place);
      })();
      return group.done;
    })();
    this.tails.set(partition, run);
    observed?.settle(run);
    const forget = () => {
      if (this.tails.get(partition) === run) this.tails.delete(partition);
    };
    run.then(forget, () => {
      forget();
      const earlier = this.failedFrom.get(partition);
      if (earlier === undefined || first < earlier) this.failedFrom.set(partition, first);
    });
    return run;
  }

  /**
   * A batch's place: its partition with the generation the store recorded for its incarnation (0 for
   * batches of sources that know none, and for the first incarnation recorded, whose offsets the store
   * kept under the plain partition name before generations existed). Asked of the store once per
   * partition and incarnation; a failed ask is forgotten, so the retried batch asks again.
   */
  private placeOf(id: string, batch: StreamBatch, first: number): Promise<StreamPlace> {
    let placed = this.places.get(id);
    if (placed) return placed;
    const { topic, partition, incarnation } = batch;
    if (incarnation === undefined) {
      placed = Promise.resolve({ topic, partition, generation: 0 });
    } else {
      placed = this.options.store.registerIncarnation(topic, partition, incarnation).then((recorded) => {
        const place = { topic, partition, generation: recorded.generation };
        const seen = this.reading.get(`${topic}:${partition}`);
        if (seen ? recorded.generation > seen.generation : recorded.added && recorded.previous !== null) this.noteReset(place, incarnation, recorded.previous, seen, first);
        return place;
      });
      placed.catch(() => {
        if (this.places.get(id) === placed) this.places.delete(id);
      });
    }
    this.places.set(id, placed);
    return placed;
  }

  private noteReset(place: StreamPlace, incarnation: string, previous: string | null, seen: Reading | undefined, first: number): void {
    this.stats.resets++;
    const { topic, partition, generation } = place;
    const read = seen === undefined ? ', which this materializer did not read' : seen.generation === generation - 1 ? `, which this materializer read up to offset ${seen.lastOffset}` : `; this materializer last read generation ${seen.generation}, up to offset ${seen.lastOffset}`;
    const from = Number.isFinite(first) ? `; its events are applied from offset ${first}` : '';
    this.log(`topic ${this.options.topic}: ${topic}[${partition}] has a new incarnation ${incarnation} (generation ${generation}) after incarnation ${previous ?? 'unknown'} (generation ${generation - 1})${read}${from}`);
  }

  private noteRead(place: StreamPlace, lastOffset: number): void {
    const id = `${place.topic}:${place.partition}`;
    const seen = this.reading.get(id);
    // A late batch of an older incarnation does not count as reading it again.
    if (seen === undefined || place.generation > seen.generation) this.reading.set(id, { generation: place.generation, lastOffset });
    else if (place.generation === seen.generation && lastOffset > seen.lastOffset) seen.lastOffset = lastOffset;
  }

  /** Applies the writes, appends history, sends dead letters: a group's I/O, in that order. */
  private async finish(members: readonly GroupMember[], where: StreamPlace): Promise<void> {
    const history = members.length === 1 ? (members[0] as GroupMember).prepared.history : members.flatMap((m) => m.prepared.history);
    const historyOffsets = members.length === 1 ? (members[0] as GroupMember).prepared.historyOffsets : members.flatMap((m) => m.prepared.historyOffsets);
    const writes = members.length === 1 ? (members[0] as GroupMember).prepared.writes : mergeWrites(members.map((m) => m.prepared.writes));
    // Stamped as they go to the store, not when prepared (a group may have waited behind earlier
    // writes): availableTime is when the values become readable, and their history records say the
    // same instant, so that SERVED reads of the moments around it answer what readers were served.
    const availableTime = this.now();
    for (const write of writes) write.availableTime = availableTime;
    // Offsets compare within one incarnation: what is remembered is per guard name (with its generation).
    const id = guardPartitionId(where);
    const earlier = this.unrecorded.get(id) ?? [];
    history.forEach((record, i) => {
      const offset = historyOffsets[i] as number;
      record.availableTime = earlier.find((segment) => offset <= segment.toOffset)?.stamp ?? availableTime;
    });
    if (writes.length > 0) await this.apply(writes, where, members, availableTime);
    // History after the store, so that a slow history store (a warehouse MERGE takes seconds) never
    // puts in SERVED what readers could not see yet. If the append fails, the batch comes again: the
    // store finds its offsets applied and changes nothing, and the records, stamped as remembered
    // here, are appended then. (After a crash between the two, the replay stamps them anew.)
    if (history.length > 0 && this.options.history) {
      let lastOffset = -1;
      for (const offset of historyOffsets) if (offset > lastOffset) lastOffset = offset;
      try {
        await this.options.history.append(history);
      } catch (error) {
        if (!earlier.some((segment) => segment.toOffset >= lastOffset)) this.unrecorded.set(id, [...earlier, { toOffset: lastOffset, stamp: availableTime }]);
        throw error;
      }
      const left = earlier.filter((segment) => segment.toOffset > lastOffset);
      if (left.length > 0) this.unrecorded.set(id, left);
      else this.unrecorded.delete(id);
    }
    const deadLetters: DeadLetter[] = [];
    for (const { prepared, payload } of members) {
      for (const { index, view, reason } of prepared.refused) deadLetters.push({ topic: where.topic, partition: where.partition, offset: payload.offsetAt(index), view, reason, value: payload.textAt(index) });
    }
    if (deadLetters.length > 0) {
      try {
        await sendDeadLetters(this.options.source, this.deadLetterTopic, deadLetters, this.deadLetterRetry);
      } catch (error) {
        // Only a StreamHaltError comes out: the topic refused every try, or a letter cannot fit at all.
        this.halted ??= error as StreamHaltError;
        throw error;
      }
    }
    this.noteApplied(where, writes);
    // Counted once the batches are through: a batch that fails is fetched again and counted then.
    for (const { payload } of members) this.stats.events += payload.count;
    this.stats.deadLetters += deadLetters.length;
    this.stats.groupedBatches += members.length - 1;
  }

  private async apply(writes: TileWrite[], where: StreamPlace, members: readonly GroupMember[], availableTime: number): Promise<void> {
    const outcomes = await this.options.store.applyTiles(writes);
    const overlapping: TileWrite[] = [];
    outcomes.forEach((outcome, i) => {
      const write = writes[i] as TileWrite;
      if (outcome === 'applied') this.stats.writes++;
      else if (outcome === 'duplicate') this.stats.duplicates++;
      else overlapping.push(write);
    });
    // A coalesced range that straddles what the store already applied: resend its events one by one,
    // each prepared alone by the same rules (a too-late event was dead-lettered, never applied).
    for (const write of overlapping) {
      const singles: TileWrite[] = [];
      for (const { prepared, payload } of members) {
        for (let i = 0; i < payload.count; i++) {
          const offset = payload.offsetAt(i);
          if (!write.source || offset < write.source.fromOffset || offset > write.source.toOffset) continue;
          const single: StreamPayload = { count: 1, offsetAt: () => offset, textAt: () => payload.textAt(i) };
          for (const resend of prepareBatch(this.plan, where, single, prepared.now, false).writes) {
            if (resend.view !== write.view || resend.key !== write.key) continue;
            resend.availableTime = availableTime;
            singles.push(resend);
          }
        }
      }
      for (const outcome of await this.options.store.applyTiles(singles)) {
        if (outcome === 'applied') this.stats.writes++;
        else this.stats.duplicates++;
      }
    }
  }
}

/** A prepared batch waiting for its writes, with its messages (for dead letters and resends). */
interface GroupMember {
  prepared: PreparedBatch;
  payload: StreamPayload;
}

/** Batches of one partition that wait behind the same writes, and the promise of their own. */
interface WriteGroup {
  members: GroupMember[];
  done: Promise<void>;
}
