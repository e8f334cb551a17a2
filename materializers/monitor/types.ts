// The monitor's parts and how they meet: the health engine computes HealthRows from the served log
// and the history store against a baseline; the skew checker recomputes logged answers.
import type { FeatureRegistry } from '../../schema/registry.js';
import type { HealthQuery, HealthRow, SkewExample } from '../../schema/health.js';
import type { ServedRecord } from '../../schema/served-log.js';
import type { HistoryStore } from '../../adapters/history/types.js';
import type { ServedLogStore } from '../../adapters/served-log/types.js';

/** A health query cut into intervals of `intervalMs` (default: the whole range, one interval). */
export interface IntervalHealthQuery extends HealthQuery {
  intervalMs?: number;
}

export interface HealthEngine {
  health(query: IntervalHealthQuery): Promise<HealthRow[]>;
}

/** One feature's skew in one segment (allSegments included): values recomputed, how many disagreed, a few of those. */
export interface SkewTally {
  checked: number;
  skewed: number;
  examples: SkewExample[];
}

/** Skew by "Entity.feature", then by segment label. */
export type SkewResult = Map<string, Map<string, SkewTally>>;

export interface SkewChecker {
  /** Recomputes the records (those settled by `now`) with SERVED reads, and compares. */
  check(records: readonly ServedRecord[], now: number): Promise<SkewResult>;
}

export interface HealthSources {
  registry: FeatureRegistry;
  servedLog: ServedLogStore | null;
  history: HistoryStore | null;
  /** Recomputes served records when given (served rows then carry skew). */
  skew?: SkewChecker | null;
}
