// Turns the events of one topic into tile writes for every windowed view that reads it. Writes carry
// the source partition and offsets, so a replay after a crash changes nothing twice (the online store
// applies only offsets above the last one it saw for that key and partition).
import type { ResolvedView } from '../../schema/registry.js';
import type { StreamSourceDefinition } from '../../schema/types.js';
import { cellForEvent, cellOpFor, firstTileInWindow, mergeCells, tileIndex } from '../../schema/windows.js';
import type { OnlineStore, TileCellWrite, TileWrite } from '../../adapters/online/types.js';
import type { StreamBatch, StreamMessage, StreamSource } from '../../adapters/sources/types.js';
import type { HistoryRecord, HistoryStore } from '../../adapters/history/types.js';
import { decodeMessage, parseMessage, validateEvent, type DecodedEvent } from './decode.js';

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

export class StreamMaterializer {
  readonly stats: StreamMaterializerStats = { events: 0, writes: 0, duplicates: 0, deadLetters: 0 };
  private readonly now: () => number;
  private readonly deadLetterTopic: string;

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

  /** Applies one batch of one partition; resolves once every write is applied (then offsets may be committed). */
  async handle(batch: StreamBatch): Promise<void> {
    const now = this.now();
    const writes: TileWrite[] = [];
    const deadLetters: DeadLetter[] = [];
    const history: HistoryRecord[] = [];
    const partition = `${batch.topic}:${batch.partition}`;
    const parsed = batch.messages.map(parseMessage);
    const raw = (i: number) => {
      const value = (batch.messages[i] as StreamMessage).value;
      return value === null ? null : String(value);
    };
    for (const view of this.options.views) {
      const source = view.source as StreamSourceDefinition;
      const lateness = this.latenessFor(view);
      const keepFrom = this.keepFrom(view, now);
      // All events of one key in the batch coalesce into one write covering their offset range, with
      // cells of one (feature, tile) merged here rather than by the store.
      const pending = new Map<string, { write: TileWrite; cellAt: Map<string, number> }>();
      batch.messages.forEach((message, i) => {
        const result = parsed[i] as ReturnType<typeof parseMessage>;
        const decoded = result.ok ? validateEvent(source, result.fields) : result;
        if (!decoded.ok) {
          deadLetters.push({ topic: batch.topic, partition: batch.partition, offset: message.offset, view: view.name, reason: decoded.reason, value: raw(i) });
          return;
        }
        const event = decoded.event;
        if (event.eventTime < now - lateness) {
          deadLetters.push({ topic: batch.topic, partition: batch.partition, offset: message.offset, view: view.name, reason: `too late: event time ${new Date(event.eventTime).toISOString()} is more than ${lateness} ms before ${new Date(now).toISOString()}`, value: raw(i) });
          return;
        }
        if (this.options.history) {
          history.push({ view: view.name, key: event.key, id: `${partition}:${message.offset}`, eventTime: event.eventTime, availableTime: now, values: event.fields });
        }
        let entry = pending.get(event.key);
        if (!entry) {
          entry = {
            write: { view: view.name, key: event.key, eventTime: event.eventTime, availableTime: now, retentionMs: view.retentionMs, source: { partition, fromOffset: message.offset, toOffset: message.offset }, cells: [], keepFrom },
            cellAt: new Map(),
          };
          pending.set(event.key, entry);
          writes.push(entry.write);
        } else {
          (entry.write.source as { toOffset: number }).toOffset = message.offset;
          if (event.eventTime > entry.write.eventTime) entry.write.eventTime = event.eventTime;
        }
        for (const cell of this.cellsFor(view, event, now)) {
          const id = `${cell.feature}\u0000${cell.tile}`;
          const at = entry.cellAt.get(id);
          if (at === undefined) {
            entry.cellAt.set(id, entry.write.cells.length);
            entry.write.cells.push(cell);
          } else {
            const existing = entry.write.cells[at] as TileCellWrite;
            existing.cell = mergeCells(existing.op, existing.cell, cell.cell);
          }
        }
      });
    }
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

  private keepFrom(view: ResolvedView, now: number): Record<string, number> {
    const keep: Record<string, number> = {};
    for (const feature of view.features) if (feature.window) keep[feature.name] = firstTileInWindow(feature.window, now);
    return keep;
  }
}
