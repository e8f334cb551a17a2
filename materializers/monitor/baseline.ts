// What drift is measured against: the distribution of each feature in a baseline, per segment, as PSI
// bins with their expected shares. A baseline is a training-set export file (what the model learned
// from) or a named past period of the same data (the served log, the history store). A segment gets
// its own bins when the baseline holds at least the feature's monitor.minValues values of it, else
// the whole population's: a small segment is compared with everyone rather than with its own noise.
//
// Numbers are kept as a sample (reservoir, exact below sampleCap values) from which the deciles and
// each bin's share are taken; categories are counted exactly.
import type { HealthDirection } from '../../schema/health.js';
import { allSegments } from '../../schema/health.js';
import type { FeatureValue } from '../../schema/types.js';
import type { FeatureStatus } from '../../schema/snapshot.js';
import { Reservoir } from './reservoir.js';
import { binCount, binOf, categoryBins, numericBins, shares, type Bins } from './psi.js';
import { eachElement, type ValueKind } from './stats.js';

export interface FeatureBaseline {
  /** Values (elements) the bins were made of. */
  values: number;
  bins: Bins;
  /** The baseline's share of each bin. */
  expected: number[];
}

export interface Baseline {
  /** Where it comes from, for logs and tables ("file train.parquet", "2026-05-01T00:00Z to ..."). */
  readonly description: string;
  /**
   * The bins a feature ("Entity.feature") of a segment is compared with: the segment's own when it
   * has at least minValues values, else the population's when that has; null otherwise.
   */
  of(direction: HealthDirection, feature: string, segment: string, minValues: number): FeatureBaseline | null;
}

/** Numbers kept per feature and segment; past it, a uniform sample of this size. */
export const sampleCap = 100_000;

/** One feature's values in one segment: a reservoir of numbers, or category counts. */
class Sample {
  values = 0;
  private readonly numbers: Reservoir<number>;
  private readonly categories = new Map<string, number>();
  private built: FeatureBaseline | null | undefined;

  constructor(private readonly kind: ValueKind, cap: number) {
    this.numbers = new Reservoir(cap);
  }

  add(element: number | string): void {
    this.values++;
    this.built = undefined;
    if (typeof element === 'string') this.categories.set(element, (this.categories.get(element) ?? 0) + 1);
    else this.numbers.add(element);
  }

  baseline(): FeatureBaseline | null {
    if (this.built !== undefined) return this.built;
    if (this.values === 0) return (this.built = null);
    let bins: Bins;
    let counts: number[];
    if (this.kind === 'numeric') {
      const sorted = Float64Array.from(this.numbers.items).sort();
      bins = numericBins(Array.from(sorted));
      counts = new Array<number>(binCount(bins)).fill(0);
      for (const n of sorted) (counts[binOf(bins, n)] as number)++;
    } else {
      bins = categoryBins(this.categories);
      counts = new Array<number>(binCount(bins)).fill(0);
      for (const [category, n] of this.categories) {
        const bin = binOf(bins, category);
        counts[bin] = (counts[bin] as number) + n;
      }
    }
    return (this.built = { values: this.values, bins, expected: shares(counts) });
  }
}

/** Which direction a sample is of: a file's baseline serves both. */
type SampleDirection = HealthDirection | 'any';

/** Gathers a baseline value by value (from a file's rows or a past period's observations). */
export class BaselineBuilder {
  private readonly samples = new Map<string, Sample>();

  constructor(private readonly cap = sampleCap) {}

  private sample(direction: SampleDirection, feature: string, segment: string, kind: ValueKind): Sample {
    const id = `${direction}\u0000${feature}\u0000${segment}`;
    let sample = this.samples.get(id);
    if (!sample) this.samples.set(id, (sample = new Sample(kind, this.cap)));
    return sample;
  }

  /** A value of a feature (`Entity.feature`) in the given segments (allSegments is added); only served values count. */
  add(direction: SampleDirection, feature: { key: string; kind: ValueKind }, segments: readonly string[], status: FeatureStatus, value: FeatureValue): void {
    if ((status !== 'PRESENT' && status !== 'STALE') || value === null) return;
    const targets = [allSegments, ...segments].map((segment) => this.sample(direction, feature.key, segment, feature.kind));
    eachElement(feature.kind, value, (element) => {
      for (const target of targets) target.add(element);
    });
  }

  build(description: string): Baseline {
    const samples = this.samples;
    const find = (direction: HealthDirection, feature: string, segment: string): Sample | undefined =>
      samples.get(`${direction}\u0000${feature}\u0000${segment}`) ?? samples.get(`any\u0000${feature}\u0000${segment}`);
    return {
      description,
      of(direction, feature, segment, minValues) {
        for (const candidate of segment === allSegments ? [allSegments] : [segment, allSegments]) {
          const sample = find(direction, feature, candidate);
          if (sample !== undefined && sample.values >= minValues) return sample.baseline();
        }
        return null;
      },
    };
  }
}
