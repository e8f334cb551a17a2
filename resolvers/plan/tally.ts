// What one root of a plan served, counted while its JSON is written, at the cost of a few increments
// per entity and view, not per value: a stored field's status is its view's state for the entity
// (nothing held, expired or live) and, for a live one, whether the view is stale (its watermark, once
// per read) or the value holds nothing for the field (rare, counted where it is written). The sums
// per field follow from those at the end, as do the request-time fields' computations (every entity
// writes every field). The status is readFeature's (schema/snapshot.ts) for the same value at the
// same instant; the differential test holds both paths to the same counts.
//
// The typed arrays are made once per root of a cached plan and reset for each request: a plan's answer
// is written and counted in one synchronous stretch after its store read, so no two requests count
// into them at once. The operation's telemetry gets the sums once the answer is known to be the fast
// path's (a request handed to Apollo is counted there instead).
import type { ResolvedView } from '../../schema/registry.js';
import type { StoredValue, ViewWatermark } from '../../adapters/online/types.js';
import { isStale, type snapshotState } from '../../schema/snapshot.js';
import { statusSlot, type OperationTelemetry } from '../telemetry.js';
import type { LeafPlan, RootPlan } from './compile.js';

type SnapshotState = ReturnType<typeof snapshotState>;

/** Offsets of a view's entity counts: nothing held (or gone past retention), expired, live. */
const heldSlot: Readonly<Record<SnapshotState, number>> = { gone: 0, expired: 1, live: 2 };

// Kept with the plan, and gone with it when the plan cache lets it go.
const tallies = new WeakMap<RootPlan, RootTally>();

export class RootTally {
  /** View v's entities at [3v + heldSlot[state]]. */
  private readonly held: Int32Array;
  /** Stored leaf i: live values that hold nothing for its feature (MISSING). */
  private readonly absent: Int32Array;
  /** Per view, the oldest age (ms) among the entities' values held; -1: none. */
  private readonly oldest: Float64Array;
  /** Per view, whether its watermark is past its SLA at the read's instant. */
  private readonly stale: Uint8Array;
  /** Per view, whether a stored field reads it (the others are read for request-time inputs only). */
  private readonly served: Uint8Array;
  private readonly sums = [0, 0, 0, 0];

  private constructor(private readonly root: RootPlan) {
    this.held = new Int32Array(root.views.length * 3);
    this.absent = new Int32Array(root.leaves.length);
    this.oldest = new Float64Array(root.views.length);
    this.stale = new Uint8Array(root.views.length);
    this.served = new Uint8Array(root.views.length);
    for (const leaf of root.leaves) if (leaf.kind === 'stored') this.served[leaf.viewIndex] = 1;
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
    tally.held.fill(0);
    tally.absent.fill(0);
    tally.oldest.fill(-1);
    for (let i = 0; i < root.views.length; i++) {
      const view = root.views[i] as ResolvedView;
      tally.stale[i] = isStale(view, watermarks.get(view.name)?.watermark ?? null, now) ? 1 : 0;
    }
    return tally;
  }

  /** View v's value for the entity being written (null: none held) and its state at `now`. */
  entityView(v: number, stored: StoredValue | null, state: SnapshotState, now: number): void {
    (this.held[v * 3 + heldSlot[state]] as number)++;
    if (stored === null || state === 'gone') return;
    const age = Math.max(0, now - stored.eventTime);
    if (age > (this.oldest[v] as number)) this.oldest[v] = age;
  }

  /** Stored leaf i's live value held nothing for its feature. */
  absentValue(i: number): void {
    (this.absent[i] as number)++;
  }

  /**
   * Hands the sums of `entities` entities to the operation; `readOk` false: the read failed, so no
   * stored value was served, and request-time fields with stored inputs were not computed (as on
   * Apollo's side). `from` and `to` bound the computations (performance.now()).
   */
  commit(operation: OperationTelemetry, entities: number, readOk: boolean, from: number, to: number): void {
    const { leaves, views } = this.root;
    const sums = this.sums;
    for (let i = 0; i < leaves.length; i++) {
      const leaf = leaves[i] as LeafPlan;
      if (leaf.kind === 'stored') {
        const v = leaf.viewIndex * 3;
        const absent = this.absent[i] as number;
        const live = (this.held[v + 2] as number) - absent;
        sums[statusSlot.PRESENT] = this.stale[leaf.viewIndex] === 1 ? 0 : live;
        sums[statusSlot.STALE] = this.stale[leaf.viewIndex] === 1 ? live : 0;
        sums[statusSlot.MISSING] = (this.held[v] as number) + absent;
        sums[statusSlot.EXPIRED] = this.held[v + 1] as number;
        operation.readCounts(leaf.feature, sums, 0);
      } else if (leaf.kind === 'request' && entities > 0 && (readOk || leaf.feature.inputs.length === 0)) {
        operation.computed(leaf.feature, entities, from, to);
      }
    }
    for (let v = 0; v < views.length; v++) {
      if (this.served[v] === 1 && (this.oldest[v] as number) >= 0) operation.viewAge(views[v] as ResolvedView, this.oldest[v] as number);
    }
  }
}
