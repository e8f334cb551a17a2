// The stream fast path (materializers/stream/scan.ts) against the general path (JSON.parse and
// validation): on random batches of well-formed, odd and broken messages, prepareBatch must give the
// same writes and the same dead letters whether it may read payload bytes or only their text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messagesPayload, prepareBatch } from '../../../../materializers/stream/prepare.js';
import { NOW, randomBatch, views } from '../../../fixtures/stream-events.js';
import { scanEvent, scanSpec, type ScannedEvent } from '../../../../materializers/stream/scan.js';
import type { StreamMessage, StreamPayload } from '../../../../adapters/sources/types.js';

const textOnly = (messages: StreamMessage[]): StreamPayload => ({
  count: messages.length,
  offsetAt: (i) => (messages[i] as StreamMessage).offset,
  textAt: (i) => (messages[i] as StreamMessage).value?.toString('utf8') ?? null,
});

test('the fast path gives the same writes and dead letters as the general path on random batches', () => {
  const topic = views();
  let fast = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const messages = randomBatch(seed, 500);
    const expected = prepareBatch(topic, { topic: 'orders', partition: 0, generation: 0 }, textOnly(messages), NOW, false);
    const actual = prepareBatch(topic, { topic: 'orders', partition: 0, generation: 0 }, messagesPayload(messages), NOW, false);
    assert.deepEqual(actual, expected, `seed ${seed}`);
    // Every view's events and dead letters at all, so that the comparison is not over empty batches.
    assert.ok(expected.writes.length > 0 && expected.refused.length > 0, `seed ${seed} has writes and dead letters`);
    const spec = scanSpec(topic.views[0]!.source, ['totalPrice', 'cuisine', 'express']);
    const event: ScannedEvent = { key: '', eventTime: 0, values: [] };
    for (const message of messages) if (Buffer.isBuffer(message.value) && scanEvent(spec, message.value, 0, message.value.length, event)) fast++;
  }
  // Most messages are the common shape: the fast path must be taking them, not passing them all on.
  assert.ok(fast > 40 * 500 * 0.3, `the fast path took ${fast} of ${40 * 500} messages`);
});

test('the fast path reads numbers exactly as JSON.parse does', () => {
  const topic = views();
  const spec = scanSpec(topic.views[0]!.source, ['totalPrice']);
  const event: ScannedEvent = { key: '', eventTime: 0, values: [] };
  let state = 7;
  for (let n = 0; n < 20_000; n++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const digits = String(state);
    const cut = Math.min(1 + (n % 9), digits.length - 1);
    const text = [`${digits.slice(0, cut)}.${digits.slice(cut)}`, `-${state}`, `0.${digits}`, `${state}${digits.slice(0, n % 7)}.5`, `${state / 7}`][n % 5] as string;
    const message = Buffer.from(`{"restaurantId":"r","createdAt":"2026-06-01T11:00:00.000Z","totalPrice":${text}}`);
    const scanned = scanEvent(spec, message, 0, message.length, event);
    assert.ok(scanned, text);
    assert.ok(Object.is(scanned.values[0], JSON.parse(text)), `${text}: ${String(scanned.values[0])}`);
  }
});
