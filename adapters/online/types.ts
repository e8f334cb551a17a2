// The online store: one packed value per (feature view, entity key), read in one round trip per
// request level. Implementations: memory (embedded, tests), redis (standalone and Cluster). Every one
// passes test/conformance/online-store.ts.
import type { FeatureValue } from '../../schema/types.js';
import type { Cell, CellOp } from '../../schema/windows.js';

export interface OnlineKey {
  readonly view: string;
  readonly key: string;
}

/** What the store holds for one (view, key). */
export interface StoredValue {
  /** Epoch ms of the newest fact behind the value. */
  eventTime: number;
  /** Epoch ms at which the value became readable. */
  availableTime: number;
  /** Column views: feature name -> value. */
  values?: Record<string, FeatureValue>;
  /** Column views: the version of the write that made the value (see ValueWriteOutcome). */
  version?: number;
  /** Windowed views: feature name -> tile index -> partial aggregate. */
  tiles?: Record<string, Record<string, Cell>>;
  /** Windowed views: source partition -> last offset applied (exactly-once guard). */
  offsets?: Record<string, number>;
}

export interface ValueWrite extends OnlineKey {
  eventTime: number;
  availableTime: number;
  values: Record<string, FeatureValue>;
  /** How long the store keeps the key after this write. */
  retentionMs: number;
  /**
   * The entity was deleted at the source at eventTime: the key reads as nothing, and the store keeps a
   * tombstone for the retention, so that a write older than the delete (a late or re-read row) changes
   * nothing, as it would not have replaced a value.
   */
  deleted?: boolean;
}

/**
 * What a value write did, decided in the store atomically per key (merge.ts holds the rules):
 * - applied: it is the key's value now (a newer eventTime, or at the same eventTime other values: a
 *   correction), under a new version: max(availableTime, previous version + 1), so versions grow per
 *   key even across writes stamped within one millisecond, and across the key expiring;
 * - unchanged: the key holds these very values at this eventTime already (a row read again, a replay),
 *   under `version`, readable since `availableTime`; nothing changed;
 * - superseded: the key holds a newer eventTime; nothing changed.
 * The materializer appends history from these (versions are record ids), so history holds exactly the
 * changes the online store made, stamped as it stamped them.
 */
export type ValueWriteOutcome =
  | { outcome: 'applied'; version: number }
  | { outcome: 'unchanged'; version: number; availableTime: number }
  | { outcome: 'superseded' };

/**
 * One feature's cells in a tile write: cells[i] merges into tile tiles[i] by op, in order. Parallel
 * arrays rather than an object per cell: a materializer hands over what it accumulated as it is, and
 * numeric cells stay unboxed.
 */
export interface TileCells {
  feature: string;
  op: CellOp;
  tiles: readonly number[];
  cells: readonly Cell[];
}

export interface TileWrite extends OnlineKey {
  eventTime: number;
  availableTime: number;
  retentionMs: number;
  /** The source offsets this write carries; a write whose offsets were already applied changes nothing. */
  source?: { partition: string; fromOffset: number; toOffset: number };
  cells: TileCells[];
  /** Per feature, the oldest tile index still worth keeping; older tiles are dropped. */
  keepFrom: Record<string, number>;
}

/**
 * applied: the write changed the value. duplicate: every offset it carries was applied before.
 * overlap: some were, some were not; nothing changed, and the caller resends event by event.
 */
export type TileWriteOutcome = 'applied' | 'duplicate' | 'overlap';

/**
 * What registerIncarnation recorded: the incarnation's generation (0 for the first a partition had),
 * whether this call added it, and the incarnation of the generation before it (null for generation 0).
 */
export interface IncarnationRecord {
  generation: number;
  added: boolean;
  previous: string | null;
}

/** A view's watermark as the online store held it, and since when. */
export interface ViewWatermark {
  view: string;
  /** Epoch ms: every source fact up to this instant is applied. */
  watermark: number;
  /** Epoch ms at which the store made this the view's watermark (as a value's availableTime): strictly increasing per view, max(now, previous at + 1). */
  at: number;
}

export interface WatermarkPublish {
  /** The view's watermark record after the publish (also when unchanged). */
  current: ViewWatermark;
  /** True when this publish changed the view's watermark: the caller appends `current` to history. */
  changed: boolean;
}

/** What a serving read returns: the values, and the watermark of every view among the keys that has one. */
export interface ServingRead {
  values: (StoredValue | null)[];
  watermarks: ReadonlyMap<string, ViewWatermark>;
}

export interface OnlineStore {
  /** For messages and telemetry: "memory", "redis", "redis-cluster". */
  readonly name: string;
  /**
   * One slot per key, in key order; null where the store has nothing (or it has expired). For
   * materializers and maintenance; serving reads use readServing.
   */
  read(keys: readonly OnlineKey[]): Promise<(StoredValue | null)[]>;
  /** Values of keys and the watermarks of every view among them, in the same round trip (serving reads). */
  readServing(keys: readonly OnlineKey[]): Promise<ServingRead>;
  /** The views' watermarks (absent from the map: none published). One round trip. */
  readWatermarks(views: readonly string[]): Promise<ReadonlyMap<string, ViewWatermark>>;
  /**
   * Atomically: each part's watermark becomes max(held, given); the view's watermark is the minimum over
   * its parts; when that differs from the held record, a new record { watermark, at: max(at, held.at + 1) }.
   * Parts are named by the caller ("orders:0" for a stream partition, "rows" for a row view). No expiry.
   */
  publishWatermarks(view: string, parts: Readonly<Record<string, number>>, at: number): Promise<WatermarkPublish>;
  /** Writes column values (and deletes), in order; one outcome per write. */
  writeValues(writes: readonly ValueWrite[]): Promise<ValueWriteOutcome[]>;
  /** Merges tile cells, in order, guarded by source offsets. One outcome per write. */
  applyTiles(writes: readonly TileWrite[]): Promise<TileWriteOutcome[]>;
  /**
   * Records an incarnation of a stream partition (a Kafka topic id), atomically: the incarnations a
   * partition had, in the order first recorded, number its generations, which name the partition in
   * offset guards (TileWrite.source) so that offsets of an old incarnation never skip a new one's
   * events. Kept next to those guards, with no expiry: an incarnation asked for again gets its number.
   */
  registerIncarnation(topic: string, partition: number, incarnation: string): Promise<IncarnationRecord>;
  /** Removes keys outright, tombstones included (maintenance and tests; a source's delete is a write). */
  delete(keys: readonly OnlineKey[]): Promise<void>;
  /** Every entity key the store holds for a view, in batches (for finding keys deleted at the source). */
  listKeys(view: string): AsyncIterable<string[]>;
  /** Resolves when the store answers; rejects with OnlineStoreError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
