// The pure update rules every online store applies (Redis runs the same rules as a Lua script).
import { mergeCells, type Cell } from '../../schema/windows.js';
import type { StoredValue, TileWrite, TileWriteOutcome, ValueWrite, ValueWriteOutcome } from './types.js';

/** What a store keeps for a column view's key: a value, or the tombstone of a delete (which reads as nothing). */
export type StoredState = StoredValue & { deleted?: true };

/**
 * The value-write rule (types.ts ValueWriteOutcome). Values are compared as their JSON text, which is
 * what Redis keeps and compares.
 */
export function applyValueWrite(current: StoredState | null, write: ValueWrite): { outcome: ValueWriteOutcome; next: StoredState | null } {
  if (current !== null) {
    if (current.eventTime > write.eventTime) return { outcome: { outcome: 'superseded' }, next: null };
    const version = current.version ?? current.availableTime;
    // A delete of a deleted key changes nothing, whatever its time: a reconcile that finds the key gone
    // again must not write a new tombstone, and history a new delete, at every run.
    const same = current.deleted === true ? write.deleted === true : write.deleted !== true && current.eventTime === write.eventTime && JSON.stringify(current.values) === JSON.stringify(write.values);
    if (same) return { outcome: { outcome: 'unchanged', version, availableTime: current.availableTime }, next: null };
  }
  const version = current === null ? write.availableTime : Math.max(write.availableTime, (current.version ?? current.availableTime) + 1);
  const next: StoredState = write.deleted === true ? { eventTime: write.eventTime, availableTime: write.availableTime, version, deleted: true } : { eventTime: write.eventTime, availableTime: write.availableTime, version, values: write.values };
  return { outcome: { outcome: 'applied', version }, next };
}

/** Refuses a write whose features do not pair each tile with one cell (a materializer's bug), before any of it is applied. */
export function checkTileWrite(write: TileWrite): void {
  for (const { feature, tiles, cells } of write.cells) {
    if (tiles.length !== cells.length) throw new Error(`tile write for ${write.view}/${write.key}: feature ${feature} has ${tiles.length} tiles and ${cells.length} cells`);
  }
}

/** Applies one tile write to a stored value; the caller has checked the write (checkTileWrite). */
export function applyTileWrite(current: StoredValue | null, write: TileWrite): { outcome: TileWriteOutcome; next: StoredValue | null } {
  const state: StoredValue = current ?? { eventTime: write.eventTime, availableTime: write.availableTime, tiles: {}, offsets: {} };
  const tiles = state.tiles ?? {};
  const offsets = state.offsets ?? {};
  if (write.source) {
    const last = offsets[write.source.partition];
    if (last !== undefined) {
      if (write.source.toOffset <= last) return { outcome: 'duplicate', next: null };
      if (write.source.fromOffset <= last) return { outcome: 'overlap', next: null };
    }
    offsets[write.source.partition] = write.source.toOffset;
  }
  for (const { feature, op, tiles: indexes, cells } of write.cells) {
    const featureTiles = (tiles[feature] ??= {});
    for (let i = 0; i < indexes.length; i++) {
      const key = String(indexes[i]);
      const cell = cells[i] as Cell;
      const existing = featureTiles[key];
      featureTiles[key] = existing === undefined ? cell : mergeCells(op, existing, cell);
    }
  }
  for (const [feature, first] of Object.entries(write.keepFrom)) {
    const featureTiles = tiles[feature];
    if (!featureTiles) continue;
    for (const key of Object.keys(featureTiles)) if (Number(key) < first) delete featureTiles[key];
  }
  return {
    outcome: 'applied',
    next: {
      eventTime: Math.max(state.eventTime, write.eventTime),
      availableTime: write.availableTime,
      tiles,
      offsets,
    },
  };
}
