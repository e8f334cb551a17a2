// The population stability index and the bins it compares over. PSI = Σ (a − e)·ln(a/e) over bins,
// a and e the actual and expected (baseline) shares, each floored at psiFloor so that a bin empty on
// one side adds a large but finite term instead of an infinite one.
//
// Numbers: the bins are cut at the baseline's deciles (nearest rank, repeated edges merged), closed on
// the right: bin 0 is (-∞, e0], bin i is (e(i-1), e(i)], the last (e(n-1), +∞), so values below the
// first edge or above the last fall in the end bins. Categories: the baseline's categories (the most
// common maxCategories of them) and one "other" bin for everything else.

export const psiFloor = 1e-4;

/** Categories kept as bins of their own; the rest of the baseline's share goes to "other". */
export const maxCategories = 100;

export interface NumericBins {
  readonly kind: 'numeric';
  /** Ascending, distinct. */
  readonly edges: readonly number[];
}

export interface CategoryBins {
  readonly kind: 'category';
  /** The baseline's categories, each a bin; one more bin, last, holds every other value. */
  readonly categories: readonly string[];
  readonly index: ReadonlyMap<string, number>;
}

export type Bins = NumericBins | CategoryBins;

export const otherCategory = 'other';

/** The decile edges of ascending numbers: the nearest-rank 10th..90th percentiles, repeats merged. */
export function decileEdges(sorted: readonly number[]): number[] {
  const n = sorted.length;
  if (n === 0) return [];
  const edges: number[] = [];
  for (let k = 1; k <= 9; k++) {
    const edge = sorted[Math.max(0, Math.ceil((k * n) / 10) - 1)] as number;
    if (edges.length === 0 || edge > (edges[edges.length - 1] as number)) edges.push(edge);
  }
  return edges;
}

export function numericBins(sorted: readonly number[]): NumericBins {
  return { kind: 'numeric', edges: decileEdges(sorted) };
}

/** Bins of the most common categories (counts by category), ties by name, at most maxCategories. */
export function categoryBins(counts: ReadonlyMap<string, number>, limit = maxCategories): CategoryBins {
  const categories = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limit)
    .map(([category]) => category);
  return { kind: 'category', categories, index: new Map(categories.map((category, i) => [category, i])) };
}

export function binCount(bins: Bins): number {
  return bins.kind === 'numeric' ? bins.edges.length + 1 : bins.categories.length + 1;
}

/** The bin of a number (numeric bins: the count of edges below it) or of a category. */
export function binOf(bins: Bins, value: number | string): number {
  if (bins.kind === 'category') return bins.index.get(String(value)) ?? bins.categories.length;
  const edges = bins.edges;
  const x = Number(value);
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((edges[mid] as number) < x) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Counts as shares of their total (all zero when the total is). */
export function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((sum, n) => sum + n, 0);
  return counts.map((n) => (total === 0 ? 0 : n / total));
}

/** PSI of actual shares against expected shares, bin by bin (same length), each share floored at psiFloor. */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new RangeError(`psi: ${expected.length} expected shares but ${actual.length} actual ones`);
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(psiFloor, expected[i] as number);
    const a = Math.max(psiFloor, actual[i] as number);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}
