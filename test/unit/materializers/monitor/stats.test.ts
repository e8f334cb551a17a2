// The accumulator of one feature's values: rates, nulls, ranges, lists, categories, quantiles, bins, merging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeatureStats, valueKindOf } from '../../../../materializers/monitor/stats.js';
import { categoryBins, numericBins } from '../../../../materializers/monitor/psi.js';

const numeric = (range: [number, number] | null = null) => new FeatureStats({ kind: 'numeric', range, bins: null });

test('rates: missing is MISSING or EXPIRED of all values; stale of all; null of the values served (PRESENT or STALE); out of range of the numbers', () => {
  const stats = numeric([0, 10]);
  stats.add('PRESENT', 1);
  stats.add('PRESENT', null);
  stats.add('STALE', 3);
  stats.add('MISSING', null);
  stats.add('EXPIRED', null);
  stats.add('PRESENT', 20);
  const s = stats.summary();
  assert.equal(s.values, 6);
  assert.equal(s.missingRate, 2 / 6);
  assert.equal(s.staleRate, 1 / 6);
  assert.equal(s.nullRate, 1 / 4);
  assert.equal(s.outOfRangeRate, 1 / 3);
  assert.equal(s.mean, 8);
  assert.deepEqual(s.categories, []);
});

test('no values: rates 0, no mean or quantiles', () => {
  const s = numeric().summary();
  assert.deepEqual({ ...s }, { values: 0, missingRate: 0, staleRate: 0, nullRate: 0, outOfRangeRate: 0, mean: null, p50: null, p90: null, p99: null, categories: [] });
});

test('lists count element by element; values of another type add nothing to the distribution', () => {
  const stats = numeric([0, 2]);
  stats.add('PRESENT', [1, 2]);
  stats.add('PRESENT', [3]);
  stats.add('PRESENT', 'not a number');
  const s = stats.summary();
  assert.equal(s.values, 3);
  assert.equal(stats.numbers, 3);
  assert.equal(s.mean, 2);
  assert.equal(s.outOfRangeRate, 1 / 3);
});

test('categories: strings, booleans and string lists, shares of the elements, largest first, at most 10', () => {
  const tags = new FeatureStats({ kind: valueKindOf('[String]'), range: null, bins: null });
  tags.add('PRESENT', ['thai', 'noodles']);
  tags.add('PRESENT', ['thai']);
  tags.add('PRESENT', ['pizza']);
  tags.add('PRESENT', ['thai']);
  assert.deepEqual(tags.summary().categories, [
    { value: 'thai', share: 3 / 5 },
    { value: 'noodles', share: 1 / 5 },
    { value: 'pizza', share: 1 / 5 },
  ]);
  const open = new FeatureStats({ kind: valueKindOf('Boolean'), range: null, bins: null });
  for (const v of [true, true, false]) open.add('PRESENT', v);
  assert.deepEqual(open.summary().categories, [
    { value: 'true', share: 2 / 3 },
    { value: 'false', share: 1 / 3 },
  ]);
  assert.equal(open.summary().mean, null);
  const many = new FeatureStats({ kind: 'category', range: null, bins: null });
  for (let i = 0; i < 15; i++) for (let n = 0; n <= i; n++) many.add('PRESENT', `c${i}`);
  assert.deepEqual(many.summary().categories.map((c) => c.value), ['c14', 'c13', 'c12', 'c11', 'c10', 'c9', 'c8', 'c7', 'c6', 'c5']);
});

test('mean is exact; quantiles come from the DDSketch, within 1% of the true ones', () => {
  const stats = numeric();
  for (let v = 1; v <= 1000; v++) stats.add('PRESENT', v);
  const s = stats.summary();
  assert.equal(s.mean, 500.5);
  const near = (got: number | null, want: number) => assert.ok(got !== null && Math.abs(got - want) <= 0.01 * want, `${got} is not within 1% of ${want}`);
  near(s.p50, 500);
  near(s.p90, 900);
  near(s.p99, 990);
  const negative = numeric();
  for (const v of [-10, -10, -10, 0, 5]) negative.add('PRESENT', v);
  const p50 = negative.summary().p50 as number;
  assert.ok(Math.abs(p50 + 10) <= 0.1, `${p50} is not within 1% of -10`);
});

test('values are counted into the baseline bins (numbers and categories)', () => {
  const stats = new FeatureStats({ kind: 'numeric', range: null, bins: numericBins([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) });
  for (const v of [0, 1, 1.5, 9.5, 11]) stats.add('PRESENT', v);
  stats.add('MISSING', null);
  assert.deepEqual(stats.binCounts, [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
  assert.equal(stats.binned, 5);
  const cities = new FeatureStats({ kind: 'category', range: null, bins: categoryBins(new Map([['Berlin', 2], ['Paris', 1]])) });
  for (const v of ['Berlin', 'Rome', 'Paris', 'Oslo']) cities.add('PRESENT', v);
  assert.deepEqual(cities.binCounts, [1, 1, 2]);
});

test('merging two halves gives what one accumulator of everything gives', () => {
  const bins = numericBins([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const whole = new FeatureStats({ kind: 'numeric', range: [0, 50], bins });
  const first = new FeatureStats({ kind: 'numeric', range: [0, 50], bins });
  const second = new FeatureStats({ kind: 'numeric', range: [0, 50], bins });
  const empty = new FeatureStats({ kind: 'numeric', range: [0, 50], bins });
  for (let v = 0; v < 100; v++) {
    const status = v % 7 === 0 ? 'MISSING' : v % 11 === 0 ? 'STALE' : 'PRESENT';
    const value = status === 'MISSING' ? null : v % 13 === 0 ? null : v;
    whole.add(status, value);
    (v < 40 ? first : second).add(status, value);
  }
  first.merge(second);
  first.merge(empty);
  assert.deepEqual(first.summary(), whole.summary());
  assert.deepEqual(first.binCounts, whole.binCounts);
  assert.throws(() => first.merge(numeric()), /different bins/);
});
