// Sliding windows as time tiles. A windowed feature with window w keeps partial aggregates ("cells")
// per tile of r milliseconds (r divides w, about w/30). At time t the window is the n = w/r tiles
// ending with the one holding t, restricted to events at or before t: eventTime in
// [(floor(t/r) - n + 1) * r, t]. Online reads, materializers, history and oracles all use this one
// definition, so that they agree to the event.
import type { AggregationFunction, FeatureValue } from './types.js';

const niceTileSizesMs = [1, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400].map((s) => s * 1000);
const targetTilesPerWindow = 30;

/** The tile size for a window: the largest "nice" size that divides it into at least ~30 tiles. */
export function tileSizeFor(windowMs: number): number {
  let chosen = 1000;
  for (const size of niceTileSizesMs) {
    if (size * targetTilesPerWindow <= windowMs && windowMs % size === 0) chosen = size;
  }
  return chosen;
}

/** How a cell merges with another: the store applies these without knowing the feature. */
export type CellOp = 'add' | 'avg' | 'min' | 'max' | 'last' | 'distinct';

/**
 * A tile's partial aggregate. `last` keeps [eventTime, value, order]: of two events at one event time
 * the one with the greater order wins (an event's order is its history record id, which sorts by
 * partition then offset), so the winner never depends on when or in which batch an event was applied.
 */
export type Cell = number | [number, number] | [number, FeatureValue] | [number, FeatureValue, string] | string[];

export function cellOpFor(fn: AggregationFunction): CellOp {
  switch (fn) {
    case 'count':
    case 'sum':
      return 'add';
    case 'avg':
      return 'avg';
    case 'min':
      return 'min';
    case 'max':
      return 'max';
    case 'last':
      return 'last';
    case 'distinctCount':
      return 'distinct';
    default: {
      const unreachable: never = fn;
      throw new Error(`unknown aggregation ${String(unreachable)}`);
    }
  }
}

/** The cell one event contributes, or null when the event carries no usable value for it; `order` ranks `last` ties (see Cell). */
export function cellForEvent(fn: AggregationFunction, value: unknown, eventTimeMs: number, order = ''): Cell | null {
  if (fn === 'count') return 1;
  if (value === null || value === undefined) return null;
  switch (fn) {
    case 'sum':
    case 'min':
    case 'max':
      return typeof value === 'number' && Number.isFinite(value) ? value : null;
    case 'avg':
      return typeof value === 'number' && Number.isFinite(value) ? [value, 1] : null;
    case 'last':
      return [eventTimeMs, value as FeatureValue, order];
    case 'distinctCount':
      return [String(value)];
    default: {
      const unreachable: never = fn;
      throw new Error(`unknown aggregation ${String(unreachable)}`);
    }
  }
}

type LastCell = [number, FeatureValue] | [number, FeatureValue, string];

/** Whether `last` cell b replaces a: a later event time, or the same one and an order at least as great (cells without an order rank lowest). */
function lastWins(b: LastCell, a: LastCell): boolean {
  return b[0] > a[0] || (b[0] === a[0] && (b[2] ?? '') >= (a[2] ?? ''));
}

/** Merges two cells of one op. Pure and associative, so tiles can be combined in any grouping. */
export function mergeCells(op: CellOp, a: Cell, b: Cell): Cell {
  switch (op) {
    case 'add':
      return (a as number) + (b as number);
    case 'avg': {
      const [sa, na] = a as [number, number];
      const [sb, nb] = b as [number, number];
      return [sa + sb, na + nb];
    }
    case 'min':
      return Math.min(a as number, b as number);
    case 'max':
      return Math.max(a as number, b as number);
    case 'last':
      return lastWins(b as LastCell, a as LastCell) ? b : a;
    case 'distinct': {
      const set = new Set(a as string[]);
      for (const v of b as string[]) set.add(v);
      return [...set].sort();
    }
    default: {
      const unreachable: never = op;
      throw new Error(`unknown cell op ${String(unreachable)}`);
    }
  }
}

/** The feature value of a combined cell; an empty window counts 0 and has no avg/min/max/last. */
export function finalizeCell(fn: AggregationFunction, cell: Cell | undefined): FeatureValue {
  if (cell === undefined) return fn === 'count' || fn === 'sum' || fn === 'distinctCount' ? 0 : null;
  switch (fn) {
    case 'count':
    case 'sum':
    case 'min':
    case 'max':
      return cell as number;
    case 'avg': {
      const [s, n] = cell as [number, number];
      return n === 0 ? null : s / n;
    }
    case 'last':
      return (cell as [number, FeatureValue])[1];
    case 'distinctCount':
      return (cell as string[]).length;
    default: {
      const unreachable: never = fn;
      throw new Error(`unknown aggregation ${String(unreachable)}`);
    }
  }
}

export interface WindowSpec {
  fn: AggregationFunction;
  windowMs: number;
  tileMs: number;
}

export const tileIndex = (timeMs: number, tileMs: number): number => Math.floor(timeMs / tileMs);

/** The first tile index inside the window at `atMs` (the last one is tileIndex(atMs)). */
export function firstTileInWindow(spec: WindowSpec, atMs: number): number {
  return tileIndex(atMs, spec.tileMs) - spec.windowMs / spec.tileMs + 1;
}

/** Combines a feature's tiles into its value at `atMs`. */
export function windowValue(spec: WindowSpec, tiles: Readonly<Record<string, Cell>> | undefined, atMs: number): FeatureValue {
  const op = cellOpFor(spec.fn);
  const first = firstTileInWindow(spec, atMs);
  const lastIndex = tileIndex(atMs, spec.tileMs);
  let combined: Cell | undefined;
  if (tiles) {
    for (const key in tiles) {
      const index = Number(key);
      if (index < first || index > lastIndex) continue;
      const cell = tiles[key] as Cell;
      combined = combined === undefined ? cell : mergeCells(op, combined, cell);
    }
  }
  return finalizeCell(spec.fn, combined);
}

/** Whether an event at `eventMs` falls in the window at `atMs`. The oracle's definition. */
export function eventInWindow(spec: WindowSpec, eventMs: number, atMs: number): boolean {
  return eventMs <= atMs && tileIndex(eventMs, spec.tileMs) >= firstTileInWindow(spec, atMs);
}
