// The cache of featureHealth's closed intervals: bounded by the rows it holds (least recently asked
// dropped first), one computation shared by the requests that ask meanwhile, a failed one forgotten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClosedHealthCache } from '../../../gateway/feature-health.js';
import type { HealthRow } from '../../../schema/health.js';
import { healthRow } from '../../fixtures/health-engine.js';

const rows = (n: number): HealthRow[] => Array.from({ length: n }, () => healthRow());

test('entries are dropped least recently asked first once the rows held pass the bound', async () => {
  const cache = new ClosedHealthCache(10);
  let computed = 0;
  const ask = (key: string, n: number) => cache.rowsOf(key, async () => (computed++, rows(n)));
  await ask('a', 4);
  await ask('b', 4);
  await ask('a', 4);
  await ask('c', 4);
  assert.equal(computed, 3);
  assert.equal(cache.size, 2);
  await ask('a', 4);
  assert.equal(computed, 3, 'a was asked last, b dropped');
  await ask('b', 4);
  assert.equal(computed, 4);
  // An entry larger than the bound is answered, and stays alone.
  assert.equal((await ask('big', 30)).length, 30);
  assert.equal(cache.size, 1);
});

test('a computation in progress is shared; one that fails is forgotten and computed again', async () => {
  const cache = new ClosedHealthCache();
  let computed = 0;
  let fail = true;
  const compute = async () => {
    computed++;
    await new Promise((resolve) => setImmediate(resolve));
    if (fail) throw new Error('store down');
    return rows(1);
  };
  const both = [cache.rowsOf('k', compute), cache.rowsOf('k', compute)];
  for (const answer of both) await assert.rejects(answer, /store down/);
  assert.equal(computed, 1);
  assert.equal(cache.size, 0);
  fail = false;
  assert.equal((await cache.rowsOf('k', compute)).length, 1);
  assert.equal(computed, 2);
});
