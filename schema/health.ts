// What the monitor says of a feature's data over an interval, per population segment: the shape that
// metrics, GraphQL featureHealth, `featuregraph health` and the alert rules share.
import type { FeatureValue, RequestArguments } from './types.js';

/** served: what the gateway answered (the served log); incoming: what the materializers wrote (the history store). */
export type HealthDirection = 'served' | 'incoming';
export const healthDirections: readonly HealthDirection[] = ['served', 'incoming'];

/** The segment label of a whole population (every entity, whatever its segment values). */
export const allSegments = '*';

/** A segment's label: its feature and value ("city=Berlin"); a segment value not held is "city=" followed by nothing. */
export const segmentLabel = (feature: string, value: FeatureValue): string => `${feature}=${value === null ? '' : String(value)}`;

export interface CategoryShare {
  value: string;
  share: number;
}

/** A logged value the SERVED recomputation disagrees with. */
export interface SkewExample {
  key: string;
  /** The logged read instant (epoch ms). */
  at: number;
  served: FeatureValue;
  servedStatus: string;
  recomputed: FeatureValue;
  recomputedStatus: string;
  inputs: RequestArguments | null;
}

export interface HealthRow {
  feature: string;
  entity: string;
  /** The feature's view (null: a request-time feature). */
  view: string | null;
  owner: string;
  /** allSegments, or segmentLabel(...). */
  segment: string;
  direction: HealthDirection;
  /** The interval, [from, to) in epoch ms. */
  from: number;
  to: number;
  /** Values counted (served: values answered; incoming: changes written). */
  values: number;
  /** Shares of `values`: MISSING or EXPIRED; STALE; present but null (of those present); numbers outside the monitor's range (of the numbers). */
  missingRate: number;
  staleRate: number;
  nullRate: number;
  outOfRangeRate: number;
  /** Over the numeric values present (lists: each element); null without any. */
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  /** Strings and booleans (lists: each element): the most common values' shares, largest first (at most 10). */
  categories: CategoryShare[];
  /** Population stability index against the baseline; null without a baseline or with too few values. */
  psi: number | null;
  /** served only: values recomputed by a SERVED read, and the share that disagreed; null when not checked. */
  skewChecked: number;
  skewRate: number | null;
  skewExamples: SkewExample[];
}

export interface HealthQuery {
  from: number;
  to: number;
  /** Only these features (names, or Entity.feature); all when absent. */
  features?: readonly string[];
  entity?: string;
  /** Only this segment label (allSegments: only whole populations). */
  segment?: string;
  direction?: HealthDirection;
}
