// PSI and its bins against values worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binOf, categoryBins, decileEdges, numericBins, psi, psiFloor, shares } from '../../../../materializers/monitor/psi.js';

const oneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

test('decile edges are the nearest-rank 10th..90th percentiles, repeats merged', () => {
  assert.deepEqual(decileEdges(oneToTen), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Ranks ceil(k*10/10): the first six deciles are all 0.
  assert.deepEqual(decileEdges([0, 0, 0, 0, 0, 0, 1, 2, 3, 4]), [0, 1, 2, 3]);
  // Three values: ranks ceil(0.3k) = 1,1,1,2,2,2,3,3,3.
  assert.deepEqual(decileEdges([5, 6, 7]), [5, 6, 7]);
  assert.deepEqual(decileEdges([42]), [42]);
  assert.deepEqual(decileEdges([]), []);
});

test('numeric bins are closed on the right; values past either end fall in the end bins', () => {
  const bins = numericBins(oneToTen);
  assert.deepEqual([-5, 0.5, 1, 1.5, 2, 8.5, 9, 9.5, 100].map((v) => binOf(bins, v)), [0, 0, 0, 1, 1, 8, 8, 9, 9]);
});

test('category bins are the most common categories, ties by name, then "other"', () => {
  const bins = categoryBins(new Map([['b', 3], ['a', 3], ['c', 5], ['d', 1]]), 3);
  assert.deepEqual(bins.categories, ['c', 'a', 'b']);
  assert.deepEqual(['c', 'a', 'b', 'd', 'zzz'].map((v) => binOf(bins, v)), [0, 1, 2, 3, 3]);
});

test('shares of counts, all zero for no counts', () => {
  assert.deepEqual(shares([1, 3, 0]), [0.25, 0.75, 0]);
  assert.deepEqual(shares([0, 0]), [0, 0]);
});

test('the same distribution has a PSI of 0', () => {
  assert.equal(psi([0.1, 0.2, 0.7], [0.1, 0.2, 0.7]), 0);
  assert.equal(psi([0.5, 0, 0.5], [0.5, 0, 0.5]), 0);
});

test('PSI of a known numeric shift: baseline 1..10, actual 2..11', () => {
  const bins = numericBins(oneToTen);
  const count = (values: number[]) => {
    const counts = new Array<number>(10).fill(0);
    for (const v of values) (counts[binOf(bins, v)] as number)++;
    return counts;
  };
  const expected = shares(count(oneToTen));
  const actual = shares(count(oneToTen.map((v) => v + 1)));
  assert.deepEqual(expected, new Array(10).fill(0.1));
  // Bin 0 (<= 1) empties, bins 1..8 keep 0.1, the top bin (> 9) holds 10 and 11.
  assert.deepEqual(actual, [0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2]);
  const byHand = (psiFloor - 0.1) * Math.log(psiFloor / 0.1) + (0.2 - 0.1) * Math.log(0.2 / 0.1);
  assert.ok(Math.abs(psi(expected, actual) - byHand) < 1e-12);
  assert.equal(psi(expected, actual).toFixed(6), '0.759399');
});

test('PSI of a pile-up: half the values in the first bin, four bins emptied', () => {
  const expected = new Array(10).fill(0.1);
  const actual = [0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0, 0, 0, 0];
  assert.equal(psi(expected, actual).toFixed(6), (0.4 * Math.log(5) + 4 * (psiFloor - 0.1) * Math.log(psiFloor / 0.1)).toFixed(6));
  assert.equal(psi(expected, actual).toFixed(4), '3.4041');
});

test('PSI of categories: a new category lands in "other", floored on the baseline side', () => {
  const bins = categoryBins(new Map([['a', 50], ['b', 30], ['c', 20]]));
  const expected = [0.5, 0.3, 0.2, 0];
  const counts = [0, 0, 0, 0];
  for (const [value, n] of [['a', 40], ['b', 30], ['d', 30]] as const) counts[binOf(bins, value)] = (counts[binOf(bins, value)] as number) + n;
  assert.deepEqual(shares(counts), [0.4, 0.3, 0, 0.3]);
  const byHand = (0.4 - 0.5) * Math.log(0.4 / 0.5) + (psiFloor - 0.2) * Math.log(psiFloor / 0.2) + (0.3 - psiFloor) * Math.log(0.3 / psiFloor);
  assert.ok(Math.abs(psi(expected, shares(counts)) - byHand) < 1e-12);
  assert.equal(psi(expected, shares(counts)).toFixed(4), '3.9428');
});

test('PSI refuses shares of different lengths', () => {
  assert.throws(() => psi([0.5, 0.5], [1]), /2 expected shares but 1 actual/);
});
