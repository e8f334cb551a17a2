// What one root of a plan served, counted while its JSON is written: per stored field the statuses of
// its values, per view the oldest age, per request-time field how many it computed. An increment per
// value, into typed arrays made once per root of a cached plan and reset for each request: a plan's
// answer is written and counted in one synchronous stretch after its store read, so no two requests
// count into them at once. The operation's telemetry gets the sums once the answer is known to be the
// fast path's (a request handed to Apollo is counted there instead).
// A status here is readFeature's (schema/snapshot.ts) for the same stored value at the same instant.
import type { ResolvedView } from '../../schema/registry.js';
import type { FeatureValue } from '../../schema/types.js';
import type { StoredValue, ViewWatermark } from '../../adapters/online/types.js';
import { isStale, snapshotState } from '../../schema/snapshot.js';
import { statusSlot, type OperationTelemetry } from '../telemetry.js';
import type { LeafPlan, RootPlan } from './compile.js';

type StoredLeaf = Extract<LeafPlan, { kind: 'stored' }>;

/** A view's value for the entity being written: nothing held (or gone), expired, or live. */
const held = { none: 0, expired: 1, live: 2 } as const;

// Kept with the plan, and gone with it when the plan cache lets it go.
const tallies = new WeakMap<RootPlan, RootTally>();

export class RootTally {
  /** Stored leaf i's statuses at [4i, 4i + 3], in statusSlot order. */
  private readonly counts: Int32Array;
  /** Request-time leaf i's computations. */
  private readonly computations: Int32Array;
  /** Per view, the oldest age (ms) of the values its stored leaves served; -1: none. */
  private readonly oldest: Float64Array;
  /** Per view, the entity being written: what is held, and its age. */
  private readonly held: Uint8Array;
  private readonly ages: Float64Array;
  /** Per view, whether its watermark is past its SLA at the read's instant: a view's, not a value's. */
  private readonly stale: Uint8Array;

  private constructor(private readonly root: RootPlan) {
    this.counts = new Int32Array(root.leaves.length * 4);
    this.computations = new Int32Array(root.leaves.length);
    this.oldest = new Float64Array(root.views.length);
    this.held = new Uint8Array(root.views.length);
    this.ages = new Float64Array(root.views.length);
    this.stale = new Uint8Array(root.views.length);
  }

  /**
   * The root's tally, emptied for a new answer; `watermarks`: those the read returned with the
   * values, judged at `now`, the read's instant.
   */
  static begin(root: RootPlan, watermarks: ReadonlyMap<string, ViewWatermark>, now: number): RootTally {
    let tally = tallies.get(root);
    if (!tally) {
      tally = new RootTally(root);
      tallies.set(root, tally);
    }
    tally.counts.fill(0);
    tally.computations.fill(0);
    tally.oldest.fill(-1);
    for (let i = 0; i < root.views.length; i++) {
      const view = root.views[i] as ResolvedView;
      tally.stale[i] = isStale(view, watermarks.get(view.name)?.watermark ?? null, now) ? 1 : 0;
    }
    return tally;
  }

  /** View i of the next entity: the value the store held for it (null: none), read at `now`. */
  entityView(i: number, view: ResolvedView, stored: StoredValue | null, now: number): void {
    const state = stored === null ? 'gone' : snapshotState(view, stored, now);
    this.held[i] = state === 'gone' ? held.none : state === 'expired' ? held.expired : held.live;
    if (stored !== null && state !== 'gone') this.ages[i] = Math.max(0, now - stored.eventTime);
  }

  /** Stored leaf `leafIndex` of the entity served `value` (undefined: its live value holds none). */
  stored(leafIndex: number, leaf: StoredLeaf, value: FeatureValue | undefined): void {
    const view = leaf.viewIndex;
    const state = this.held[view];
    let slot: number;
    if (state === held.none) slot = statusSlot.MISSING;
    else {
      const age = this.ages[view] as number;
      if (age > (this.oldest[view] as number)) this.oldest[view] = age;
      if (state === held.expired) slot = statusSlot.EXPIRED;
      else if (value === undefined) slot = statusSlot.MISSING;
      else slot = this.stale[view] === 1 ? statusSlot.STALE : statusSlot.PRESENT;
    }
    (this.counts[leafIndex * 4 + slot] as number)++;
  }

  /** Request-time leaf `leafIndex` computed a value. */
  computed(leafIndex: number): void {
    (this.computations[leafIndex] as number)++;
  }

  /** Hands the sums to the operation; `from` and `to` bound the computations (performance.now()). */
  commit(operation: OperationTelemetry, from: number, to: number): void {
    const { leaves, views } = this.root;
    for (let i = 0; i < leaves.length; i++) {
      const leaf = leaves[i] as LeafPlan;
      if (leaf.kind === 'stored') operation.readCounts(leaf.feature, this.counts, i * 4);
      else if (leaf.kind === 'request' && this.computations[i] !== 0) operation.computed(leaf.feature, this.computations[i], from, to);
    }
    for (let i = 0; i < views.length; i++) if ((this.oldest[i] as number) >= 0) operation.viewAge(views[i] as ResolvedView, this.oldest[i] as number);
  }
}
