// The checkpoint-store conformance suite: memory, Redis and the embedded history store (a file of its
// own, or shared through its owner) keep the small durable state of materializers (watermarks, resume
// tokens, backfill progress) and pass the same assertions.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckpointStore } from '../../adapters/sources/types.js';

export interface CheckpointStoreHarness {
  store: CheckpointStore;
  /**
   * Closes the store, as a process that stops does, and opens a new one over the same state; null for
   * a store whose state lives and dies with it (memory). The suite uses only the new one afterwards.
   */
  reopen: (() => Promise<CheckpointStore>) | null;
  /** Closes whichever store is open and removes what the test wrote where the state outlives it. */
  teardown(): Promise<void>;
}

/** Values as materializers write them, and the awkward ones. */
const awkward: Record<string, string> = {
  watermark: '1767225600000',
  token: JSON.stringify({ _data: '8263A1B2C3000000012B022C0100296E5A1004' }),
  progress: JSON.stringify({ done: ['2026-01-01', '2026-01-02'], next: '2026-01-03' }),
  'backfill:view:2026-01-01T00:00:00.000Z': 'done',
  'a name with spaces, quotes \' " and ünïcödé': 'value with\nnew lines\tand tabs, \u0000 a NUL and \'quotes\' "too"',
  empty: '',
  large: 'x'.repeat(200_000),
};

export function checkpointStoreConformance(label: string, create: () => Promise<CheckpointStoreHarness>): void {
  async function withHarness(body: (h: CheckpointStoreHarness, name: (what: string) => string) => Promise<void>): Promise<void> {
    const harness = await create();
    // Names of their own per test: a shared server keeps what earlier runs wrote.
    const prefix = `conformance:${Date.now().toString(36)}:${process.pid}:${Math.random().toString(36).slice(2, 8)}:`;
    try {
      await body(harness, (what) => `${prefix}${what}`);
    } finally {
      await harness.teardown();
    }
  }

  describe(`checkpoint store conformance: ${label}`, () => {
    test('a name never set reads null', () =>
      withHarness(async ({ store }, name) => {
        assert.equal(await store.get(name('never')), null);
      }));

    test('a value set reads back exactly, whatever its characters and size; the empty string is a value, not null', () =>
      withHarness(async ({ store }, name) => {
        for (const [what, value] of Object.entries(awkward)) await store.set(name(what), value);
        for (const [what, value] of Object.entries(awkward)) assert.equal(await store.get(name(what)), value, `${what} reads back`);
      }));

    test('a set replaces the value; names are apart, however alike', () =>
      withHarness(async ({ store }, name) => {
        await store.set(name('w'), '1');
        await store.set(name('w'), '2');
        await store.set(name('w:'), 'colon');
        await store.set(name('W'), 'upper');
        assert.equal(await store.get(name('w')), '2');
        assert.equal(await store.get(name('w:')), 'colon');
        assert.equal(await store.get(name('W')), 'upper');
        assert.equal(await store.get(name('w ')), null);
      }));

    test('sets of many names at the same time all land', () =>
      withHarness(async ({ store }, name) => {
        const names = Array.from({ length: 50 }, (_, i) => name(`n${i}`));
        await Promise.all(names.map((n, i) => store.set(n, `v${i}`)));
        assert.deepEqual(await Promise.all(names.map((n) => store.get(n))), names.map((_, i) => `v${i}`));
      }));

    test('what was set survives a restart (a store opened again over the same state)', async (t) => {
      await withHarness(async ({ store, reopen }, name) => {
        if (!reopen) {
          t.diagnostic(`${label}: its state lives and dies with the store; nothing survives a restart`);
          return;
        }
        await store.set(name('watermark'), '42');
        await store.set(name('token'), awkward.token as string);
        const again = await reopen();
        assert.equal(await again.get(name('watermark')), '42');
        assert.equal(await again.get(name('token')), awkward.token);
        assert.equal(await again.get(name('never')), null);
      });
    });
  });
}
