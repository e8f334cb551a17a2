// The CPU half of a stream batch: decode, validate and aggregate its messages into one tile write per
// key and view, with no I/O, from plans worked out once per topic.
import type { StreamSourceDefinition } from '../../schema/types.js';
import type { ResolvedView } from '../../schema/registry.js';
import { cellForEvent, cellOpFor, firstTileInWindow, mergeCells, tileIndex, type Cell, type CellOp, type WindowSpec } from '../../schema/windows.js';
import type { TileCells, TileWrite } from '../../adapters/online/types.js';
import type { HistoryRecord } from '../../adapters/history/types.js';
import { guardPartitionId, streamRecordId, streamRecordPrefix, type StreamPlace } from '../../adapters/history/record-ids.js';
import type { PayloadBytes, StreamMessage, StreamPayload } from '../../adapters/sources/types.js';
import { fieldsOf, parseText, validateEvent } from './decode.js';
import { scanEvent, scanSpec, type ScanSpec, type ScannedEvent } from './scan.js';

export interface FeaturePlan {
  name: string;
  window: WindowSpec;
  op: CellOp;
  field: string | undefined;
}

export interface ViewPlan {
  name: string;
  source: StreamSourceDefinition;
  declared: ReturnType<typeof fieldsOf>;
  /** Events older than now - lateness are dead letters. */
  lateness: number;
  retentionMs: number;
  features: FeaturePlan[];
}

/** What a batch does to one view, worked out once per view rather than per event. */
export function planView(view: ResolvedView, lateness: number): ViewPlan {
  const features: FeaturePlan[] = [];
  for (const feature of view.features) {
    if (!feature.window || feature.def.kind !== 'windowed') continue;
    features.push({ name: feature.name, window: feature.window, op: cellOpFor(feature.window.fn), field: feature.def.field });
  }
  const source = view.source as StreamSourceDefinition;
  return { name: view.name, source, declared: fieldsOf(source), lateness, retentionMs: view.retentionMs, features };
}

const textOf = (message: StreamMessage): string | null => (message.value === null ? null : typeof message.value === 'string' ? message.value : message.value.toString('utf8'));

/** A batch's messages as a payload: bytes for Buffer values, text for string ones. */
export function messagesPayload(messages: readonly StreamMessage[]): StreamPayload {
  return {
    count: messages.length,
    offsetAt: (i) => (messages[i] as StreamMessage).offset,
    textAt: (i) => textOf(messages[i] as StreamMessage),
    bytesAt: (i, out) => {
      const value = (messages[i] as StreamMessage).value;
      if (value === null || typeof value === 'string') return false;
      out.buffer = value;
      out.start = 0;
      out.end = value.length;
      return true;
    },
  };
}

/** A message that a view refused, by its index in the batch. */
export interface RefusedMessage {
  index: number;
  view: string;
  reason: string;
}

export interface PreparedBatch {
  now: number;
  writes: TileWrite[];
  refused: RefusedMessage[];
  history: HistoryRecord[];
  /** The offset of each history record's event, by position. */
  historyOffsets: number[];
}

/**
 * One key's events of one view in a batch: their offset range and, per feature, its cells as parallel
 * arrays (numeric cells stay unboxed), which become the write's as they are (see mergeIntoTile).
 */
interface Pending {
  key: string;
  eventTime: number;
  fromOffset: number;
  toOffset: number;
  features: PendingCells[];
}

interface PendingCells {
  tiles: number[];
  cells: Cell[];
  /** Where the last event's tile is in `tiles`. */
  last: number;
}

/** The views of a topic that read one source: a message is scanned once for all of them. */
interface SourceGroup {
  spec: ScanSpec;
  /** scanEvent's scratch, reused message after message. */
  event: ScannedEvent;
  /** Its views, by index in TopicPlan.views. */
  views: number[];
}

/** What a batch does to the views of one topic, worked out once rather than per batch. */
export interface TopicPlan {
  views: ViewPlan[];
  groups: SourceGroup[];
  /** Per view, per feature, where the fast path puts its field's value in its group's scanned event (-1: none). */
  slots: number[][];
}

export function planTopic(views: readonly ViewPlan[]): TopicPlan {
  const bySource = new Map<string, { source: StreamSourceDefinition; wanted: string[]; views: number[] }>();
  views.forEach((view, v) => {
    const id = JSON.stringify(view.source);
    const group = bySource.get(id) ?? { source: view.source, wanted: [], views: [] };
    bySource.set(id, group);
    group.views.push(v);
    for (const feature of view.features) if (feature.field !== undefined && !group.wanted.includes(feature.field)) group.wanted.push(feature.field);
  });
  const slots: number[][] = views.map(() => []);
  const groups = [...bySource.values()].map(({ source, wanted, views: members }) => {
    const spec = scanSpec(source, wanted);
    for (const v of members) slots[v] = (views[v] as ViewPlan).features.map((f) => (f.field === undefined ? -1 : wanted.indexOf(f.field)));
    return { spec, event: { key: '', eventTime: 0, values: new Array<unknown>(wanted.length) }, views: members };
  });
  return { views: [...views], groups, slots };
}

/** One view's state in a batch. */
interface ViewState {
  plan: ViewPlan;
  firstTiles: number[];
  pending: Map<string, Pending>;
  slots: number[];
}

const noFields: Record<string, unknown> = {};

const tooLate = (plan: ViewPlan, eventTime: number, now: number): string =>
  `too late: event time ${new Date(eventTime).toISOString()} is more than ${plan.lateness} ms before ${new Date(now).toISOString()}`;

/**
 * Adds one accepted event to its key's pending write: its offset, and a cell per feature in the
 * window. Feature values come from a scanned event's `values` (by the view's slots) or else `fields`.
 */
function accumulate(view: ViewState, key: string, eventTime: number, offset: number, values: readonly unknown[] | null, fields: Record<string, unknown>, recordPrefix: string): void {
  const plan = view.plan;
  let entry = view.pending.get(key);
  if (!entry) {
    const features: PendingCells[] = [];
    for (let f = 0; f < plan.features.length; f++) features.push({ tiles: [], cells: [], last: -1 });
    entry = { key, eventTime, fromOffset: offset, toOffset: offset, features };
    view.pending.set(key, entry);
  } else {
    entry.toOffset = offset;
    if (eventTime > entry.eventTime) entry.eventTime = eventTime;
  }
  // Cells of one (feature, tile) merge here rather than in the store.
  for (let f = 0; f < plan.features.length; f++) {
    const feature = plan.features[f] as FeaturePlan;
    const tile = tileIndex(eventTime, feature.window.tileMs);
    if (tile < (view.firstTiles[f] as number)) continue;
    let cell: Cell | null;
    if (feature.window.fn === 'count') cell = 1;
    else {
      const value = feature.field === undefined ? undefined : values !== null ? values[view.slots[f] as number] : fields[feature.field];
      const fn = feature.window.fn;
      cell = fn === 'sum' ? (typeof value === 'number' && Number.isFinite(value) ? value : null) : cellForEvent(fn, value, eventTime, fn === 'last' ? streamRecordId(recordPrefix, offset) : '');
    }
    if (cell === null) continue;
    const pending = entry.features[f] as PendingCells;
    pending.last = mergeIntoTile(pending.tiles, pending.cells, feature.op, tile, cell, pending.last);
  }
}

/**
 * Merges a cell into its tile in a feature's parallel arrays (appending the tile if it is new), trying
 * position `hint` first; answers the tile's position. A feature's tiles are few, and a key's events
 * mostly hit the tile of the one before, so a short search beats a map.
 */
function mergeIntoTile(tiles: number[], cells: Cell[], op: CellOp, tile: number, cell: Cell, hint: number): number {
  let at = hint;
  if (at < 0 || tiles[at] !== tile) {
    // A loop rather than indexOf: over a few tiles the builtin's call costs more than the search.
    at = -1;
    for (let k = 0; k < tiles.length; k++) {
      if (tiles[k] === tile) {
        at = k;
        break;
      }
    }
  }
  if (at < 0) {
    tiles.push(tile);
    cells.push(cell);
    return tiles.length - 1;
  }
  const existing = cells[at] as Cell;
  // Counts and sums (most features) add inline; the generic merge costs a call and a switch per event.
  cells[at] = op === 'add' ? (existing as number) + (cell as number) : mergeCells(op, existing, cell);
  return at;
}

/**
 * One write per view and key out of several batches' (in offset order): offsets from the first to
 * the last, the later batch's keepFrom and availableTime, and each feature's cells merged by tile.
 * The store would have applied them one after another to the same effect. The batches' writes are
 * merged in place (they are the group's own, and a failed group is prepared afresh when it comes again).
 */
export function mergeWrites(batches: readonly TileWrite[][]): TileWrite[] {
  const byKey = new Map<string, TileWrite>();
  const out: TileWrite[] = [];
  for (const writes of batches) {
    for (const write of writes) {
      const id = `${write.view}\u0000${write.key}`;
      const earlier = byKey.get(id);
      // Writes of two incarnations of a partition are guarded apart: they never merge.
      if (!earlier || !earlier.source || !write.source || earlier.source.partition !== write.source.partition) {
        byKey.set(id, write);
        out.push(write);
        continue;
      }
      earlier.source = { ...earlier.source, toOffset: write.source.toOffset };
      if (write.eventTime > earlier.eventTime) earlier.eventTime = write.eventTime;
      earlier.availableTime = write.availableTime;
      earlier.keepFrom = write.keepFrom;
      for (const later of write.cells) {
        const same = earlier.cells.find((c) => c.feature === later.feature && c.op === later.op);
        if (!same) {
          earlier.cells.push(later);
          continue;
        }
        for (let i = 0; i < later.tiles.length; i++) mergeIntoTile(same.tiles as number[], same.cells as Cell[], later.op, later.tiles[i] as number, later.cells[i] as Cell, -1);
      }
    }
  }
  return out;
}

/**
 * Decodes and aggregates a batch of one partition: all events of one key and view coalesce into one
 * write carrying their offset range, which the online store applies once. An event stamped after
 * `now` (a producer's clock ahead of ours) counts as happening at `now`, online and in its history
 * record alike: a window read at `now` then counts it on both, and nothing ever reads as having
 * happened after the instant it was read at.
 */
export function prepareBatch(topic: TopicPlan, place: StreamPlace, payload: StreamPayload, now: number, withHistory: boolean): PreparedBatch {
  const views: ViewState[] = topic.views.map((plan, v) => ({ plan, firstTiles: plan.features.map((f) => firstTileInWindow(f.window, now)), pending: new Map<string, Pending>(), slots: topic.slots[v] as number[] }));
  // History keeps every field of an event, which only the general path has.
  const groups = withHistory || !payload.bytesAt ? null : topic.groups;
  const bytes: PayloadBytes = { buffer: Buffer.alloc(0), start: 0, end: 0 };
  const refused: RefusedMessage[] = [];
  const history: HistoryRecord[] = [];
  const partition = guardPartitionId(place);
  const historyOffsets: number[] = [];
  const recordPrefix = streamRecordPrefix(place);
  // Message by message, every view at once: a parsed event is garbage before the next is parsed,
  // instead of a batch of them surviving into the old generation.
  messages: for (let i = 0; i < payload.count; i++) {
    const offset = payload.offsetAt(i);
    if (groups !== null && payload.bytesAt?.(i, bytes)) {
      let scanned = 0;
      for (; scanned < groups.length; scanned++) {
        const group = groups[scanned] as SourceGroup;
        if (scanEvent(group.spec, bytes.buffer, bytes.start, bytes.end, group.event) === null) break;
      }
      if (scanned === groups.length) {
        for (const group of groups) {
          const { key, values } = group.event;
          // An event stamped after the clock counts as happening now (see prepareBatch).
          const eventTime = Math.min(group.event.eventTime, now);
          for (const v of group.views) {
            const view = views[v] as ViewState;
            if (eventTime < now - view.plan.lateness) refused.push({ index: i, view: view.plan.name, reason: tooLate(view.plan, eventTime, now) });
            else accumulate(view, key, eventTime, offset, values, noFields, recordPrefix);
          }
        }
        continue messages;
      }
    }
    const parsed = parseText(payload.textAt(i));
    for (const view of views) {
      const plan = view.plan;
      const decoded = parsed.ok ? validateEvent(plan.source, parsed.fields, plan.declared) : parsed;
      if (!decoded.ok) {
        refused.push({ index: i, view: plan.name, reason: decoded.reason });
        continue;
      }
      const event = decoded.event;
      if (event.eventTime < now - plan.lateness) {
        refused.push({ index: i, view: plan.name, reason: tooLate(plan, event.eventTime, now) });
        continue;
      }
      const eventTime = Math.min(event.eventTime, now);
      if (withHistory) {
        history.push({ view: plan.name, key: event.key, id: streamRecordId(recordPrefix, offset), eventTime, availableTime: now, values: event.fields });
        historyOffsets.push(offset);
      }
      accumulate(view, event.key, eventTime, offset, null, event.fields, recordPrefix);
    }
  }
  const writes: TileWrite[] = [];
  for (const { plan, firstTiles, pending } of views) {
    const keepFrom: Record<string, number> = {};
    plan.features.forEach((f, i) => {
      keepFrom[f.name] = firstTiles[i] as number;
    });
    for (const entry of pending.values()) {
      const cells: TileCells[] = [];
      plan.features.forEach((feature, f) => {
        const { tiles, cells: featureCells } = entry.features[f] as PendingCells;
        if (tiles.length > 0) cells.push({ feature: feature.name, op: feature.op, tiles, cells: featureCells });
      });
      writes.push({ view: plan.name, key: entry.key, eventTime: entry.eventTime, availableTime: now, retentionMs: plan.retentionMs, source: { partition, fromOffset: entry.fromOffset, toOffset: entry.toOffset }, cells, keepFrom });
    }
  }
  return { now, writes, refused, history, historyOffsets };
}
