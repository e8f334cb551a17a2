// What the monitor counts of one feature's values in one segment, direction and interval: statuses,
// nulls, numbers out of the monitor's range, a DDSketch of the numbers (mean and quantiles), category
// counts, and the counts per PSI bin of the baseline it is compared to. Accumulators merge, so that
// parts counted apart (intervals, processes) add up to what one would have counted.
import { DDSketch } from '@datadog/sketches-js';
import type { HealthRow } from '../../schema/health.js';
import type { FeatureStatus } from '../../schema/snapshot.js';
import type { FeatureType, FeatureValue } from '../../schema/types.js';
import { binCount, binOf, type Bins } from './psi.js';

/** numeric: Int, Float, [Float] (lists: each element); category: String, Boolean, [String]. */
export type ValueKind = 'numeric' | 'category';

export function valueKindOf(type: FeatureType): ValueKind {
  return type === 'Int' || type === 'Float' || type === '[Float]' ? 'numeric' : 'category';
}

/**
 * Calls `visit` with each element a value adds to the distributions: numbers of a numeric feature,
 * texts of a category feature (booleans as "true"/"false"); lists element by element. Anything else
 * (a value of another type, a null element) adds nothing.
 */
export function eachElement(kind: ValueKind, value: FeatureValue, visit: (element: number | string) => void): void {
  if (Array.isArray(value)) {
    for (const element of value as readonly unknown[]) visitOne(kind, element, visit);
  } else visitOne(kind, value, visit);
}

function visitOne(kind: ValueKind, element: unknown, visit: (element: number | string) => void): void {
  if (kind === 'numeric') {
    if (typeof element === 'number' && Number.isFinite(element)) visit(element);
  } else if (typeof element === 'string') visit(element);
  else if (typeof element === 'boolean') visit(String(element));
}

/** Categories shown in a summary, largest first. */
export const topCategories = 10;

/** The sketch's relative accuracy: a quantile is within 1% of a value of the data. */
export const sketchAccuracy = 0.01;

export interface StatsOptions {
  kind: ValueKind;
  /** The monitor's range (numeric features): numbers outside it are out of range. */
  range: readonly [number, number] | null;
  /** The baseline's bins, when there is one to compare with. */
  bins: Bins | null;
}

/** A HealthRow's own statistics (what one accumulator says; psi and skew come from elsewhere). */
export type StatsSummary = Pick<HealthRow, 'values' | 'missingRate' | 'staleRate' | 'nullRate' | 'outOfRangeRate' | 'mean' | 'p50' | 'p90' | 'p99' | 'categories'>;

const ratio = (part: number, whole: number): number => (whole === 0 ? 0 : part / whole);

export class FeatureStats {
  /** Values counted: one per answer (served) or change (incoming), whatever its status. */
  values = 0;
  readonly statuses: Record<FeatureStatus, number> = { PRESENT: 0, STALE: 0, MISSING: 0, EXPIRED: 0 };
  /** Values served (PRESENT or STALE) that were null. */
  nulls = 0;
  /** Numeric elements, and those outside the range. */
  numbers = 0;
  outOfRange = 0;
  private sum = 0;
  private sketch: DDSketch | null = null;
  /** Category elements, by category. */
  categoryElements = 0;
  readonly categories = new Map<string, number>();
  /** Elements per bin of options.bins (null without bins). */
  readonly binCounts: number[] | null;

  constructor(readonly options: StatsOptions) {
    this.binCounts = options.bins === null ? null : new Array<number>(binCount(options.bins)).fill(0);
  }

  add(status: FeatureStatus, value: FeatureValue): void {
    this.values++;
    this.statuses[status]++;
    // A STALE value is served all the same: it belongs to the distribution the model gets.
    if (status !== 'PRESENT' && status !== 'STALE') return;
    if (value === null) {
      this.nulls++;
      return;
    }
    eachElement(this.options.kind, value, (element) => this.addElement(element));
  }

  private addElement(element: number | string): void {
    if (typeof element === 'number') {
      this.numbers++;
      this.sum += element;
      (this.sketch ??= new DDSketch({ relativeAccuracy: sketchAccuracy })).accept(element);
      const range = this.options.range;
      if (range !== null && (element < range[0] || element > range[1])) this.outOfRange++;
    } else {
      this.categoryElements++;
      this.categories.set(element, (this.categories.get(element) ?? 0) + 1);
    }
    if (this.binCounts !== null) (this.binCounts[binOf(this.options.bins as Bins, element)] as number)++;
  }

  /** Adds what `other` counted; both must have been made with the same bins. */
  merge(other: FeatureStats): void {
    if (other.options.bins !== this.options.bins) throw new RangeError('FeatureStats.merge: the accumulators compare with different bins');
    this.values += other.values;
    for (const status of Object.keys(this.statuses) as FeatureStatus[]) this.statuses[status] += other.statuses[status];
    this.nulls += other.nulls;
    this.numbers += other.numbers;
    this.outOfRange += other.outOfRange;
    this.sum += other.sum;
    if (other.sketch !== null) {
      if (this.sketch === null) this.sketch = new DDSketch({ relativeAccuracy: sketchAccuracy });
      this.sketch.merge(other.sketch);
    }
    this.categoryElements += other.categoryElements;
    for (const [category, n] of other.categories) this.categories.set(category, (this.categories.get(category) ?? 0) + n);
    if (this.binCounts !== null && other.binCounts !== null) other.binCounts.forEach((n, i) => ((this.binCounts as number[])[i] = ((this.binCounts as number[])[i] as number) + n));
  }

  /** Elements counted into bins. */
  get binned(): number {
    return this.binCounts === null ? 0 : this.binCounts.reduce((sum, n) => sum + n, 0);
  }

  summary(): StatsSummary {
    const { PRESENT, STALE, MISSING, EXPIRED } = this.statuses;
    const sketch = this.sketch;
    const quantile = (q: number): number | null => (sketch === null ? null : sketch.getValueAtQuantile(q));
    const categories = [...this.categories.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, topCategories)
      .map(([value, n]) => ({ value, share: n / this.categoryElements }));
    return {
      values: this.values,
      missingRate: ratio(MISSING + EXPIRED, this.values),
      staleRate: ratio(STALE, this.values),
      nullRate: ratio(this.nulls, PRESENT + STALE),
      outOfRangeRate: ratio(this.outOfRange, this.numbers),
      mean: this.numbers === 0 ? null : this.sum / this.numbers,
      p50: quantile(0.5),
      p90: quantile(0.9),
      p99: quantile(0.99),
      categories,
    };
  }
}
