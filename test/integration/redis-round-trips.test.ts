// One store round trip per request level, whatever the number of entities and features, the views'
// watermarks included (their record keys ride in the same MGET), and a request sampled for the
// served-feature log included (its entities' segment features ride in it too; a request not sampled
// reads no more keys): counted from what Redis itself received (MONITOR), not assumed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import { startFixture, T0, type Fixture } from '../e2e/fixture.js';
import { requireEndpoint } from '../services/endpoints.js';
import { waitUntil } from '../fixtures/wait.js';
import { MemoryServedLog } from '../fixtures/served-log.js';
import { servedLogHeader } from '../../schema/served-log.js';

const prefix = `rt:${process.pid}:`;
let f: Fixture;
let client: Redis;
let monitor: Awaited<ReturnType<Redis['monitor']>>;
const commands: string[][] = [];
// Samples no request unless the header asks: the tests without it pin what a request not sampled reads.
const servedLog = new MemoryServedLog({ sampleRate: 0 });

before(async () => {
  const { url } = requireEndpoint('redis');
  const store = new RedisOnlineStore({ mode: 'standalone', url, keyPrefix: prefix, commandTimeoutMs: 2000 });
  await store.connect();
  f = await startFixture({ store, servedLog });
  for (let i = 1; i <= 100; i++) await f.order(`r${i}`, `u${i}`, T0 - i * 1000);
  for (let i = 1; i <= 100; i++) f.rows.restaurants.upsert({ key: `r${i}`, eventTime: T0 - 1000, values: { isOpen: true, menuSize: i, cuisineTags: ['thai'], city: `c${i % 3}` } });
  await f.refreshRows();
  client = new Redis(url);
  monitor = await client.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args.some((a) => a.startsWith(prefix))) commands.push(args);
  });
  await caughtUp();
});
after(async () => {
  monitor.disconnect();
  client.disconnect();
  await f.close();
});

let sentinels = 0;

/**
 * Resolves once MONITOR has shown every command Redis executed so far: Redis runs commands one at a
 * time and MONITOR reports them in that order, so once a marker command sent now shows up, every
 * command that was answered before it has shown up too (a fixed sleep assumed a quiet machine).
 */
async function caughtUp(): Promise<void> {
  const marker = `${prefix}sentinel:${++sentinels}`;
  await client.get(marker);
  const isMarker = (c: string[]) => c[1] === marker;
  await waitUntil(() => commands.some(isMarker), 60_000, () => `MONITOR showing ${marker}`, 10);
  commands.splice(commands.findIndex(isMarker), 1);
}

async function commandsFor(query: string, headers: Record<string, string> = {}): Promise<string[][]> {
  await caughtUp();
  commands.length = 0;
  const { body } = await f.query(query, undefined, headers);
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  await caughtUp();
  return [...commands];
}

const watermarkKey = (view: string) => `${prefix}~watermark:{${view}}`;

test('100 restaurants x every feature of 3 views, plus request-time features and metadata: one MGET, with the 3 views\' watermarks', async () => {
  const ids = Array.from({ length: 100 }, (_, i) => `"r${i + 1}"`).join(',');
  const seen = await commandsFor(`{ restaurants(restaurantIds: [${ids}]) { restaurantId ordersLast30m revenueLast24h avgPrepSeconds7d isOpen menuSize cuisineTags queryMatch(query: "thai") etaMinutes(distanceKm: 2) featureMeta { ordersLast30m { status } isOpen { ageMs } } } }`);
  assert.equal(seen.length, 1, JSON.stringify(seen.map((c) => c.slice(0, 3))));
  assert.equal(seen[0]?.[0]?.toLowerCase(), 'mget');
  assert.equal(seen[0]?.length, 1 + 100 * 3 + 3, 'every (view, restaurant) once, and each view\'s watermark once');
  assert.deepEqual(seen[0]?.slice(-3).sort(), ['restaurant_order_activity', 'restaurant_prep', 'restaurant_profile'].map(watermarkKey));
});

test('two entity types at one level share the round trip', async () => {
  const seen = await commandsFor(`{ restaurants(restaurantIds: ["r1", "r2"]) { ordersLast30m isOpen } users(userIds: ["u1", "u2", "u3"]) { ordersLast24h favoriteCuisine } }`);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]?.length, 1 + 2 * 2 + 3 * 2 + 4);
});

test("one entity with one feature is one MGET of its key and its view's watermark", async () => {
  const seen = await commandsFor(`{ restaurant(restaurantId: "r7") { ordersLast30m } }`);
  assert.deepEqual(seen, [['mget', `${prefix}restaurant_order_activity:{r7}`, watermarkKey('restaurant_order_activity')]]);
});

const sampled = { [servedLogHeader]: '1' };

test("a sampled request's segment features ride in its one MGET, on the fast path and on Apollo's", async () => {
  servedLog.take();
  const expected = [['mget', `${prefix}restaurant_order_activity:{r7}`, `${prefix}restaurant_profile:{r7}`, watermarkKey('restaurant_order_activity'), watermarkKey('restaurant_profile')]];
  const sorted = (seen: string[][]) => seen.map(([command, ...keys]) => [command, ...keys.sort()]);
  assert.deepEqual(sorted(await commandsFor(`{ restaurant(restaurantId: "r7") { ordersLast30m } }`, sampled)), expected, 'fast path');
  // A fragment: Apollo answers, its loader batching the root's segment load with the fields' loads.
  assert.deepEqual(sorted(await commandsFor(`{ restaurant(restaurantId: "r7") { ...F } } fragment F on Restaurant { ordersLast30m }`, sampled)), expected, 'Apollo');
  assert.deepEqual(servedLog.take().map((r) => [r.key, r.segments]), [['r7', { city: 'c1' }], ['r7', { city: 'c1' }]]);
});

test('a sampled request of 100 restaurants whose fields read the segment view already reads nothing more', async () => {
  servedLog.take();
  const ids = Array.from({ length: 100 }, (_, i) => `"r${i + 1}"`).join(',');
  const seen = await commandsFor(`{ restaurants(restaurantIds: [${ids}]) { ordersLast30m isOpen etaMinutes(distanceKm: 2) } }`, sampled);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]?.length, 1 + 100 * 3 + 3);
  assert.equal(servedLog.take().length, 100);
});
