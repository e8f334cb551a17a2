// The fast path of event-time parsing against Date.parse, on seeded random instants and odd shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTimestamp } from './decode.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('parseTimestamp equals Date.parse', () => {
  const rng = seeded(7);
  for (let i = 0; i < 100_000; i++) {
    const text = new Date(Math.floor((rng() * 2.2 - 0.1) * 4e12)).toISOString();
    assert.equal(parseTimestamp(text), Date.parse(text), text);
  }
  for (const text of ['2026-02-30T00:00:00.000Z', '2024-02-29T23:59:59.999Z', '2026-13-01T00:00:00.000Z', '2026-01-01T24:00:00.000Z', '2026-01-0aT00:00:00.000Z', 'yesterday', '2026-01-01T00:00:00.000+01:00', '1969-12-31T23:59:59.999Z']) {
    assert.ok(Object.is(parseTimestamp(text), Date.parse(text)), text);
  }
});
