// Tile math: the one definition of a sliding window that online reads, history and oracles share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cellForEvent, cellOpFor, eventInWindow, mergeCells, tileSizeFor, windowValue, tileIndex, type Cell, type WindowSpec } from '../../../schema/windows.js';
import { parseDuration, formatDuration } from '../../../schema/duration.js';
import type { AggregationFunction } from '../../../schema/types.js';

test('durations parse and print', () => {
  assert.equal(parseDuration('30m'), 1_800_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('250ms'), 250);
  for (const bad of ['', '30', 'm', '1.5h', '-1m', '30 minutes', '0s']) assert.equal(parseDuration(bad), null, bad);
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(86_400_000), '1d');
});

test('tile sizes divide their window into about thirty tiles', () => {
  assert.equal(tileSizeFor(parseDuration('30m') as number), 60_000);
  assert.equal(tileSizeFor(parseDuration('24h') as number), 1_800_000);
  assert.equal(tileSizeFor(parseDuration('7d') as number), 14_400_000);
  assert.equal(tileSizeFor(parseDuration('10s') as number), 1000);
  assert.equal(tileSizeFor(parseDuration('7m') as number), 10_000);
  for (const w of ['1s', '45s', '90s', '7m', '1h', '13h', '30d']) {
    const ms = parseDuration(w) as number;
    assert.equal(ms % tileSizeFor(ms), 0, w);
  }
});

/** A seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

function oracle(fn: AggregationFunction, spec: WindowSpec, events: { t: number; v: number; s: string }[], at: number): unknown {
  const inside = events.filter((e) => eventInWindow(spec, e.t, at));
  switch (fn) {
    case 'count':
      return inside.length;
    case 'sum':
      return inside.reduce((a, e) => a + e.v, 0);
    case 'avg':
      return inside.length === 0 ? null : inside.reduce((a, e) => a + e.v, 0) / inside.length;
    case 'min':
      return inside.length === 0 ? null : Math.min(...inside.map((e) => e.v));
    case 'max':
      return inside.length === 0 ? null : Math.max(...inside.map((e) => e.v));
    case 'last': {
      let best: { t: number; v: number } | null = null;
      for (const e of inside) if (best === null || e.t >= best.t) best = e;
      return best?.v ?? null;
    }
    case 'distinctCount':
      return new Set(inside.map((e) => e.s)).size;
  }
}

test('tiles combined over a window equal a brute-force oracle, for every aggregation, events in any order', () => {
  const random = rng(7);
  for (const fn of ['count', 'sum', 'avg', 'min', 'max', 'last', 'distinctCount'] as AggregationFunction[]) {
    const spec: WindowSpec = { fn, windowMs: 30 * 60_000, tileMs: 60_000 };
    const events = Array.from({ length: 400 }, () => ({ t: Math.floor(random() * 3 * 3_600_000), v: Math.round(random() * 1000) / 10, s: `u${Math.floor(random() * 20)}` }));
    for (let i = 0; i < 50; i++) {
      const at = Math.floor(random() * 4 * 3_600_000);
      // Online, the tiles hold the events that have happened by the read: none after it.
      const tiles: Record<string, Cell> = {};
      for (const e of events) {
        if (e.t > at) continue;
        const cell = cellForEvent(fn, fn === 'distinctCount' ? e.s : e.v, e.t) as Cell;
        const key = String(tileIndex(e.t, spec.tileMs));
        tiles[key] = tiles[key] === undefined ? cell : mergeCells(cellOpFor(fn), tiles[key] as Cell, cell);
      }
      const got = windowValue(spec, tiles, at);
      const want = oracle(fn, spec, events, at);
      if (typeof want === 'number' && typeof got === 'number') assert.ok(Math.abs(got - want) < 1e-9, `${fn} at ${at}: ${got} != ${want}`);
      else assert.equal(got, want, `${fn} at ${at}`);
    }
  }
});

test('a window covers exactly its tiles: the tile holding the instant and the n-1 before it', () => {
  const spec: WindowSpec = { fn: 'count', windowMs: 30 * 60_000, tileMs: 60_000 };
  const at = 100 * 60_000 + 30_000; // in tile 100
  assert.equal(eventInWindow(spec, 71 * 60_000, at), true, 'first instant of tile 71');
  assert.equal(eventInWindow(spec, 71 * 60_000 - 1, at), false, 'last instant of tile 70');
  assert.equal(eventInWindow(spec, at, at), true);
  assert.equal(eventInWindow(spec, at + 1, at), false, 'never the future');
  assert.equal(windowValue(spec, { '70': 5, '71': 1, '100': 2, '101': 9 }, at), 3);
  assert.equal(windowValue(spec, undefined, at), 0);
  assert.equal(windowValue({ ...spec, fn: 'avg' }, {}, at), null);
});
