// Turns the events of one topic into tile writes for every windowed view that reads it. Writes carry
// the source partition and offsets, so a replay after a crash changes nothing twice (the online store
// applies only offsets above the last one it saw for that key and partition).
import type { ResolvedView } from '../../schema/registry.js';
import type { StreamSourceDefinition } from '../../schema/types.js';
import { cellForEvent, cellOpFor, firstTileInWindow, mergeCells, tileIndex, type Cell, type CellOp, type WindowSpec } from '../../schema/windows.js';
import type { OnlineStore, TileCellWrite, TileWrite } from '../../adapters/online/types.js';
import type { StreamBatch, StreamMessage, StreamSource } from '../../adapters/sources/types.js';
import type { HistoryRecord, HistoryStore } from '../../adapters/history/types.js';
import { decodeMessage, fieldsOf, parseMessage, validateEvent, type DecodedEvent } from './decode.js';

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: number;
  view: string;
  reason: string;
  value: string | null;
}

export interface StreamMaterializerStats {
  events: number;
  writes: number;
  duplicates: number;
  deadLetters: number;
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
}

interface FeaturePlan {
  name: string;
  window: WindowSpec;
  op: CellOp;
  field: string | undefined;
}

interface ViewPlan {
  view: ResolvedView;
  source: StreamSourceDefinition;
  declared: ReturnType<typeof fieldsOf>;
  lateness: number;
  features: FeaturePlan[];
}

/** One key's events of one view in a batch: their offset range and, per feature, cells by tile. */
interface Pending {
  key: string;
  eventTime: number;
  fromOffset: number;
  toOffset: number;
  tiles: Map<number, Cell>[];
}

interface Prepared {
  now: number;
  writes: TileWrite[];
  deadLetters: DeadLetter[];
  history: HistoryRecord[];
}

function deadLetterOf(batch: StreamBatch, message: StreamMessage, view: string, reason: string): DeadLetter {
  return { topic: batch.topic, partition: batch.partition, offset: message.offset, view, reason, value: message.value === null ? null : String(message.value) };
}

export class StreamMaterializer {
  readonly stats: StreamMaterializerStats = { events: 0, writes: 0, duplicates: 0, deadLetters: 0 };
  private readonly now: () => number;
  private readonly deadLetterTopic: string;
  private readonly plans = new Map<ResolvedView, ViewPlan>();
  /** Per source partition, the latest batch still in progress: the next one's writes wait for it. */
  private readonly tails = new Map<string, Promise<void>>();
  /** Per source partition, the first offset of a batch that failed, until a batch from there comes again. */
  private readonly failedFrom = new Map<string, number>();

  constructor(private readonly options: StreamMaterializerOptions) {
    this.now = options.now ?? Date.now;
    this.deadLetterTopic = options.deadLetterTopic ?? `${options.topic}.dead-letter`;
    for (const view of options.views) {
      if (view.source.kind !== 'stream' || view.source.topic !== options.topic) throw new Error(`view ${view.name} does not read topic ${options.topic}`);
    }
  }

  private latenessFor(view: ResolvedView): number {
    if (this.options.allowedLatenessMs !== undefined) return this.options.allowedLatenessMs;
    return Math.max(...view.features.map((f) => f.window?.windowMs ?? 0));
  }

  /** What a batch does to each view, worked out once per view rather than per event. */
  private planOf(view: ResolvedView): ViewPlan {
    let plan = this.plans.get(view);
    if (!plan) {
      const features: FeaturePlan[] = [];
      for (const feature of view.features) {
        if (!feature.window || feature.def.kind !== 'windowed') continue;
        features.push({ name: feature.name, window: feature.window, op: cellOpFor(feature.window.fn), field: feature.def.field });
      }
      const source = view.source as StreamSourceDefinition;
      plan = { view, source, declared: fieldsOf(source), lateness: this.latenessFor(view), features };
      this.plans.set(view, plan);
    }
    return plan;
  }

  /**
   * Applies one batch of one partition; resolves once every write is applied (then offsets may be
   * committed). Batches of a partition may be handed over before the previous one resolved: this
   * one is decoded and aggregated at once, and its writes wait for the previous batch's writes, so
   * the store sees a partition's writes in offset order and never one after a write that failed.
   */
  handle(batch: StreamBatch): Promise<void> {
    const partition = `${batch.topic}:${batch.partition}`;
    const first = batch.messages[0]?.offset ?? Number.POSITIVE_INFINITY;
    // After a failed batch, its partition must start again at or before it: a later batch applied
    // first would make the store skip the failed batch's events as already seen.
    const failedFrom = this.failedFrom.get(partition);
    if (failedFrom !== undefined && batch.messages.length > 0) {
      if (first > failedFrom) return Promise.reject(new Error(`batch from offset ${first} of ${partition} refused: the batch from offset ${failedFrom} failed and must be applied first`));
      this.failedFrom.delete(partition);
    }
    const previous = this.tails.get(partition);
    const run = (async () => {
      // Yield first, so that the caller can go on (a Kafka source fetches the next batch meanwhile).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const prepared = this.prepare(batch, partition);
      if (previous) await previous;
      await this.finish(prepared, batch);
    })();
    this.tails.set(partition, run);
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

  /** Decodes and aggregates a batch (no I/O): all events of one key and view coalesce into one write. */
  private prepare(batch: StreamBatch, partition: string): Prepared {
    const now = this.now();
    const views = this.options.views.map((view) => {
      const plan = this.planOf(view);
      return { plan, firstTiles: plan.features.map((f) => firstTileInWindow(f.window, now)), pending: new Map<string, Pending>() };
    });
    const deadLetters: DeadLetter[] = [];
    const history: HistoryRecord[] = [];
    const withHistory = this.options.history !== undefined;
    const messages = batch.messages;
    // Message by message, every view at once: a parsed event is garbage before the next is parsed,
    // instead of a batch of them surviving into the old generation.
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i] as StreamMessage;
      const parsed = parseMessage(message);
      for (const { plan, firstTiles, pending } of views) {
        const decoded = parsed.ok ? validateEvent(plan.source, parsed.fields, plan.declared) : parsed;
        if (!decoded.ok) {
          deadLetters.push(deadLetterOf(batch, message, plan.view.name, decoded.reason));
          continue;
        }
        const event = decoded.event;
        if (event.eventTime < now - plan.lateness) {
          deadLetters.push(deadLetterOf(batch, message, plan.view.name, `too late: event time ${new Date(event.eventTime).toISOString()} is more than ${plan.lateness} ms before ${new Date(now).toISOString()}`));
          continue;
        }
        if (withHistory) history.push({ view: plan.view.name, key: event.key, id: `${partition}:${message.offset}`, eventTime: event.eventTime, availableTime: now, values: event.fields });
        let entry = pending.get(event.key);
        if (!entry) {
          entry = { key: event.key, eventTime: event.eventTime, fromOffset: message.offset, toOffset: message.offset, tiles: plan.features.map(() => new Map<number, Cell>()) };
          pending.set(event.key, entry);
        } else {
          entry.toOffset = message.offset;
          if (event.eventTime > entry.eventTime) entry.eventTime = event.eventTime;
        }
        // Cells of one (feature, tile) merge here rather than in the store.
        for (let f = 0; f < plan.features.length; f++) {
          const feature = plan.features[f] as FeaturePlan;
          const tile = tileIndex(event.eventTime, feature.window.tileMs);
          if (tile < (firstTiles[f] as number)) continue;
          const cell = feature.window.fn === 'count' ? 1 : cellForEvent(feature.window.fn, feature.field === undefined ? undefined : event.fields[feature.field], event.eventTime);
          if (cell === null) continue;
          const tiles = entry.tiles[f] as Map<number, Cell>;
          const existing = tiles.get(tile);
          // Counts and sums (most features) add inline; the generic merge costs a call and a switch per event.
          tiles.set(tile, existing === undefined ? cell : feature.op === 'add' ? (existing as number) + (cell as number) : mergeCells(feature.op, existing, cell));
        }
      }
    }
    const writes: TileWrite[] = [];
    for (const { plan, firstTiles, pending } of views) {
      const keepFrom: Record<string, number> = {};
      plan.features.forEach((f, i) => {
        keepFrom[f.name] = firstTiles[i] as number;
      });
      for (const entry of pending.values()) {
        const cells: TileCellWrite[] = [];
        plan.features.forEach((feature, f) => {
          for (const [tile, cell] of entry.tiles[f] as Map<number, Cell>) cells.push({ feature: feature.name, op: feature.op, tile, cell });
        });
        writes.push({ view: plan.view.name, key: entry.key, eventTime: entry.eventTime, availableTime: now, retentionMs: plan.view.retentionMs, source: { partition, fromOffset: entry.fromOffset, toOffset: entry.toOffset }, cells, keepFrom });
      }
    }
    return { now, writes, deadLetters, history };
  }

  /** Appends history, applies the writes, sends dead letters: the batch's I/O, in that order. */
  private async finish({ now, writes, deadLetters, history }: Prepared, batch: StreamBatch): Promise<void> {
    // History first: a crash between the two replays the batch, and appends are idempotent by id.
    if (history.length > 0) await this.options.history?.append(history);
    if (writes.length > 0) await this.apply(writes, batch, now);
    if (deadLetters.length > 0) {
      await this.options.source.produce(
        this.deadLetterTopic,
        deadLetters.map((d) => ({ key: `${d.view}:${d.partition}:${d.offset}`, value: JSON.stringify(d) })),
      );
    }
    // Counted once the batch is through: a batch that fails is fetched again and counted then.
    this.stats.events += batch.messages.length;
    this.stats.deadLetters += deadLetters.length;
  }

  private async apply(writes: TileWrite[], batch: StreamBatch, now: number): Promise<void> {
    const outcomes = await this.options.store.applyTiles(writes);
    const overlapping: TileWrite[] = [];
    outcomes.forEach((outcome, i) => {
      const write = writes[i] as TileWrite;
      if (outcome === 'applied') this.stats.writes++;
      else if (outcome === 'duplicate') this.stats.duplicates++;
      else overlapping.push(write);
    });
    // A coalesced range that straddles what the store already applied: resend its events one by one.
    for (const write of overlapping) {
      const view = this.options.views.find((v) => v.name === write.view) as ResolvedView;
      const source = view.source as StreamSourceDefinition;
      const singles: TileWrite[] = [];
      for (const message of batch.messages) {
        if (!write.source || message.offset < write.source.fromOffset || message.offset > write.source.toOffset) continue;
        const decoded = decodeMessage(source, message);
        // The same acceptance rules as the first pass: a too-late event was dead-lettered, never applied.
        if (!decoded.ok || decoded.event.key !== write.key || decoded.event.eventTime < now - this.latenessFor(view)) continue;
        singles.push({ ...write, eventTime: decoded.event.eventTime, source: { partition: write.source.partition, fromOffset: message.offset, toOffset: message.offset }, cells: this.cellsFor(view, decoded.event, now) });
      }
      for (const outcome of await this.options.store.applyTiles(singles)) {
        if (outcome === 'applied') this.stats.writes++;
        else this.stats.duplicates++;
      }
    }
  }

  private cellsFor(view: ResolvedView, event: DecodedEvent, now: number): TileCellWrite[] {
    const cells: TileCellWrite[] = [];
    for (const feature of view.features) {
      if (!feature.window || feature.def.kind !== 'windowed') continue;
      const tile = tileIndex(event.eventTime, feature.window.tileMs);
      if (tile < firstTileInWindow(feature.window, now)) continue;
      const cell = cellForEvent(feature.window.fn, feature.def.field === undefined ? undefined : event.fields[feature.def.field], event.eventTime);
      if (cell !== null) cells.push({ feature: feature.name, op: cellOpFor(feature.window.fn), tile, cell });
    }
    return cells;
  }
}
