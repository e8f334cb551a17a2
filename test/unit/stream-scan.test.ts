// The stream fast path (materializers/stream/scan.ts) against the general path (JSON.parse and
// validation): on random batches of well-formed, odd and broken messages, prepareBatch must give the
// same writes and the same dead letters whether it may read payload bytes or only their text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { avg, buildRegistry, count, distinctCount, entity, featureView, kafkaTopic, last, max, min, sum } from '../../index.js';
import { messagesPayload, planTopic, planView, prepareBatch, type BatchPayload } from '../../materializers/stream/prepare.js';
import { scanEvent, scanSpec, type ScannedEvent } from '../../materializers/stream/scan.js';
import type { StreamMessage } from '../../adapters/sources/types.js';

const NOW = Date.parse('2026-06-01T12:00:00.000Z');

function views() {
  const fields = { orderId: 'string', restaurantId: 'string', userId: 'string', createdAt: 'timestamp', totalPrice: 'number', cuisine: 'string', express: 'boolean', tags: 'string[]', promisedAt: 'timestamp' } as const;
  const byRestaurant = kafkaTopic({ name: 'orders_r', topic: 'orders', keyField: 'restaurantId', eventTimeField: 'createdAt', fields });
  const byUser = kafkaTopic({ name: 'orders_u', topic: 'orders', keyField: 'userId', eventTimeField: 'createdAt', fields });
  const restaurant = entity({ name: 'Restaurant', key: 'restaurantId', description: 'r' });
  const user = entity({ name: 'User', key: 'userId', description: 'u' });
  const restaurantView = featureView({
    name: 'restaurant_orders',
    entity: restaurant,
    source: byRestaurant,
    features: {
      orders30m: count({ window: '30m', description: 'c' }),
      revenue24h: sum({ field: 'totalPrice', window: '24h', description: 's' }),
      avgPrice1h: avg({ field: 'totalPrice', window: '1h', description: 'a' }),
      minPrice1h: min({ field: 'totalPrice', window: '1h', description: 'mi' }),
      maxPrice1h: max({ field: 'totalPrice', window: '1h', description: 'ma' }),
      lastCuisine: last({ field: 'cuisine', type: 'String', window: '1h', description: 'l' }),
      lastExpress: last({ field: 'express', type: 'Boolean', window: '1h', description: 'le' }),
      cuisines1h: distinctCount({ field: 'cuisine', window: '1h', description: 'd' }),
    },
    freshness: '1m',
    ttl: '2d',
    owner: 'test',
    description: 'v',
  });
  const userView = featureView({
    name: 'user_orders',
    entity: user,
    source: byUser,
    features: { orders24h: count({ window: '24h', description: 'c' }), lastPromised: last({ field: 'promisedAt', type: 'String', window: '1h', description: 'p' }) },
    freshness: '1m',
    ttl: '2d',
    owner: 'test',
    description: 'v',
  });
  const registry = buildRegistry([{ file: 'scan.ts', exports: { restaurant, user, byRestaurant, byUser, restaurantView, userView } }]);
  return planTopic([...registry.views.values()].map((view) => planView(view, 3_600_000)));
}

function randomBatch(seed: number, size: number): StreamMessage[] {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const time = () => new Date(NOW - Math.floor(random() * 2 * 3_600_000)).toISOString();
  const price = () => pick([12.5, 0, -0, 7, 1e21, 123456789012345.6, 3.14159, 99.99, 1.7976931348623157e308, 5e-324]);
  const messages: StreamMessage[] = [];
  for (let offset = 0; offset < size; offset++) {
    const order: Record<string, unknown> = { orderId: `o${offset}`, restaurantId: pick(['r1', 'r2', 'r3', 'ré', '']), userId: pick(['u1', 'u2']), createdAt: time(), totalPrice: price(), cuisine: pick(['thai', 'pizza', 'sushi']) };
    if (random() < 0.2) order.express = pick([true, false, null, 'yes']);
    if (random() < 0.1) order.tags = pick([['a'], [], [1]]);
    if (random() < 0.2) order.promisedAt = pick([time(), 'soon', 1760000000000, null]);
    if (random() < 0.05) order.createdAt = pick([NOW - 1000, NOW - 1e9, '2026-06-01T11:00:00Z', '2026-06-01T11:59:59.999+00:00', 'yesterday', null, true]);
    if (random() < 0.05) delete order[pick(['restaurantId', 'userId', 'createdAt'])];
    if (random() < 0.05) order.totalPrice = pick(['12', null, true, { amount: 1 }]);
    if (random() < 0.05) order.extra = pick([{ nested: [1, 2] }, 'x', 1, null, [true]]);
    let text = JSON.stringify(order);
    const odd = random();
    if (odd < 0.03) text = ` \n\t${text.replace(/,/g, ' , ').replace(/:/g, ' :\r')} `;
    else if (odd < 0.05) text = text.replace('"orderId":', '"orderId":"dup","orderId":');
    else if (odd < 0.07) text = text.replace(/"restaurantId":"[^"]*"/, '"restaurantId":"r1","restaurantId":"r2"');
    else if (odd < 0.09) text = text.replace('"cuisine":"', '"cuisine":"\\u0074a\\"');
    else if (odd < 0.1) text = text.replace(/"totalPrice":[^,}]*/, pick(['"totalPrice":01', '"totalPrice":1.', '"totalPrice":-', '"totalPrice":1e5', '"totalPrice":2E-3', '"totalPrice":1.5e+2', '"totalPrice":12abc']));
    else if (odd < 0.11) text = text.slice(0, Math.floor(random() * text.length));
    else if (odd < 0.12) text = pick(['[]', '"a string"', '42', 'null', '{}', '', '\uFEFF{"a":1}', `${text}x`, `${text}}`, text.replace('{', '{,')]);
    else if (odd < 0.13) text = text.replace('"orderId":"', '"orderId":"\u0001');
    const value = random() < 0.01 ? null : Buffer.from(text, 'utf8');
    messages.push({ partition: 0, offset, key: null, value, timestampMs: NOW });
  }
  return messages;
}

const textOnly = (messages: StreamMessage[]): BatchPayload => ({
  count: messages.length,
  offsetAt: (i) => (messages[i] as StreamMessage).offset,
  textAt: (i) => (messages[i] as StreamMessage).value?.toString('utf8') ?? null,
});

test('the fast path gives the same writes and dead letters as the general path on random batches', () => {
  const topic = views();
  let fast = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const messages = randomBatch(seed, 500);
    const expected = prepareBatch(topic, 'orders:0', textOnly(messages), NOW, false);
    const actual = prepareBatch(topic, 'orders:0', messagesPayload(messages), NOW, false);
    assert.deepEqual(actual, expected, `seed ${seed}`);
    // Every view's events and dead letters at all, so that the comparison is not over empty batches.
    assert.ok(expected.writes.length > 0 && expected.refused.length > 0, `seed ${seed} has writes and dead letters`);
    const spec = scanSpec(topic.views[0]!.source, ['totalPrice', 'cuisine', 'express']);
    const event: ScannedEvent = { key: '', eventTime: 0, values: [] };
    for (const message of messages) if (Buffer.isBuffer(message.value) && scanEvent(spec, message.value, 0, message.value.length, event, new Uint8Array(spec.fields.length))) fast++;
  }
  // Most messages are the common shape: the fast path must be taking them, not passing them all on.
  assert.ok(fast > 40 * 500 * 0.3, `the fast path took ${fast} of ${40 * 500} messages`);
});

test('the fast path reads numbers exactly as JSON.parse does', () => {
  const topic = views();
  const spec = scanSpec(topic.views[0]!.source, ['totalPrice']);
  const event: ScannedEvent = { key: '', eventTime: 0, values: [] };
  const seen = new Uint8Array(spec.fields.length);
  let state = 7;
  for (let n = 0; n < 20_000; n++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const digits = String(state);
    const cut = Math.min(1 + (n % 9), digits.length - 1);
    const text = [`${digits.slice(0, cut)}.${digits.slice(cut)}`, `-${state}`, `0.${digits}`, `${state}${digits.slice(0, n % 7)}.5`, `${state / 7}`][n % 5] as string;
    const message = Buffer.from(`{"restaurantId":"r","createdAt":"2026-06-01T11:00:00.000Z","totalPrice":${text}}`);
    const scanned = scanEvent(spec, message, 0, message.length, event, seen);
    assert.ok(scanned, text);
    assert.ok(Object.is(scanned.values[0], JSON.parse(text)), `${text}: ${String(scanned.values[0])}`);
  }
});
