// A failing store answers once and small (issue 15, items 10 and 11). One failed read is the whole
// story of a request level: the fast path answers it with the coded error itself, and a request it
// hands to Apollo after reading is answered from that read, never read again. The response carries one
// error per field path of a list, with the count of values it left null, not one per element and
// field; both serving paths give the same bytes.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, T0, type Fixture } from './fixture.js';
import { FailingReadsStore } from '../fixtures/failing-store.js';
import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import { MemoryHistoryStore } from '../../adapters/history/memory/index.js';
import type { FeatureRead } from '../../schema/snapshot.js';
import type { PointInTimeQuery, PointInTimeRow } from '../../adapters/history/types.js';
import { FeaturegraphError } from '../../schema/errors.js';
import { createGateway, type Gateway } from '../../gateway/server.js';
import { loadConfig } from '../../gateway/config.js';

const MIN = 60_000;

/** A history store whose point-in-time reads can be made to fail, as a warehouse that went away. */
class FailingHistory extends MemoryHistoryStore {
  failing = false;
  reads = 0;

  override async readAsOf(query: PointInTimeQuery, rows: readonly PointInTimeRow[]): Promise<FeatureRead[][]> {
    this.reads++;
    if (this.failing) throw new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', 'history store memory failed to answer a point-in-time read', { retriable: true });
    return super.readAsOf(query, rows);
  }
}

const clock = { now: () => T0 };
const store = new FailingReadsStore(new MemoryOnlineStore({ now: () => clock.now() }));
const history = new FailingHistory();
let f: Fixture;
let plain: Gateway;
let plainUrl: string;

before(async () => {
  f = await startFixture({ store, history });
  clock.now = () => f.clock.now;
  for (let i = 1; i <= 5; i++) await f.order(`r${i}`, `u${i}`, T0 - i * MIN, 10 + i);
  await f.order('rinf', 'u1', T0 - 3 * MIN, 1.7976931348623157e308);
  await f.order('rinf', 'u1', T0 - 4 * MIN, 1.7976931348623157e308);
  for (let i = 1; i <= 5; i++) f.rows.restaurants.upsert({ key: `r${i}`, eventTime: T0 - 2 * MIN, values: { isOpen: i % 2 === 0, menuSize: 10 * i, cuisineTags: ['thai'] } });
  await f.refreshRows();
  plain = await createGateway({ config: loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1' } }), registry: f.registry, store, history, now: () => f.clock.now, fastPath: false });
  plainUrl = await plain.listen();
});
after(async () => {
  await plain.close();
  await f.close();
});
afterEach(() => {
  store.heal();
  history.failing = false;
});

interface GraphqlError {
  message: string;
  locations?: { line: number; column: number }[];
  path?: (string | number)[];
  extensions?: { code?: string; retriable?: boolean; count?: number };
}
interface Answer {
  status: number;
  text: string;
  body: { data?: Record<string, unknown> | null; errors?: GraphqlError[] };
  /** Store reads and fast-path answers this request caused. */
  reads: number;
  answered: number;
}

async function ask(url: string, query: string, variables?: Record<string, unknown>): Promise<Answer> {
  const reads = store.reads;
  const answered = f.gateway.fastPath!.stats.answered;
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as Answer['body'], reads: store.reads - reads, answered: f.gateway.fastPath!.stats.answered - answered };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `r${i + 1}`);

test('a failed read on the fast path is answered there, with the coded error: one store read', async () => {
  store.fail();
  const answer = await ask(f.url, '{ restaurants(restaurantIds: ["r1", "r2", "r3"]) { restaurantId ordersLast30m isOpen etaMinutes(distanceKm: 2) } }');
  assert.equal(answer.status, 200);
  assert.equal(answer.reads, 1, 'one store read for the one request level');
  assert.equal(answer.answered, 1, 'the fast path answered');
  assert.deepEqual(answer.body.data, {
    restaurants: ['r1', 'r2', 'r3'].map((restaurantId) => ({ restaurantId, ordersLast30m: null, isOpen: null, etaMinutes: null })),
  });
  assert.deepEqual(answer.body.errors, [
    { message: 'online store memory: read: connection refused', locations: [{ line: 1, column: 65 }], path: ['restaurants', 0, 'ordersLast30m'], extensions: { code: 'ONLINE_STORE_UNAVAILABLE', retriable: true, count: 3 } },
    { message: 'online store memory: read: connection refused', locations: [{ line: 1, column: 79 }], path: ['restaurants', 0, 'isOpen'], extensions: { code: 'ONLINE_STORE_UNAVAILABLE', retriable: true, count: 3 } },
    { message: 'online store memory: read: connection refused', locations: [{ line: 1, column: 86 }], path: ['restaurants', 0, 'etaMinutes'], extensions: { code: 'ONLINE_STORE_UNAVAILABLE', retriable: true, count: 3 } },
  ]);
});

test('a request the fast path hands to Apollo after reading is answered from that read: one store read', async () => {
  // A sum that overflowed to Infinity: the fast path reads, then leaves the error to Apollo.
  const overflow = await ask(f.url, '{ restaurant(restaurantId: "rinf") { restaurantId ordersLast30m revenueLast24h } }');
  assert.equal(overflow.answered, 0, 'Apollo answered');
  assert.equal(overflow.reads, 1, 'Apollo used the fast path\'s read');
  assert.deepEqual((overflow.body.data as { restaurant: unknown }).restaurant, { restaurantId: 'rinf', ordersLast30m: 2, revenueLast24h: null });
  assert.equal(overflow.body.errors?.length, 1);
  // A read that failed with an error the fast path does not word itself (not a coded store error).
  store.failWith = new Error('socket hang up at 10.0.0.7:6379');
  const odd = await ask(f.url, '{ restaurants(restaurantIds: ["r1", "r2"]) { restaurantId isOpen } }');
  assert.equal(odd.answered, 0, 'Apollo answered');
  assert.equal(odd.reads, 1, 'Apollo did not read again');
  assert.deepEqual(odd.body.errors, [{ message: 'internal error', locations: [{ line: 1, column: 59 }], path: ['restaurants', 0, 'isOpen'], extensions: { code: 'INTERNAL_SERVER_ERROR', count: 2 } }]);
  assert.doesNotMatch(odd.text, /10\.0\.0\.7/, 'the backend\'s message stays out of the response');
});

test('1,000 entities x 10 features during an outage: one error per field path with its count, the same bytes on both paths', async () => {
  store.fail();
  const query = `query($ids: [ID!]!) { restaurants(restaurantIds: $ids) {
    restaurantId ordersLast30m revenueLast24h avgPrepSeconds7d isOpen menuSize cuisineTags
    queryMatch(query: "thai") q2: queryMatch(query: "noodles") etaMinutes(distanceKm: 2) e2: etaMinutes(distanceKm: 5) } }`;
  const fast = await ask(f.url, query, { ids: ids(1000) });
  const apollo = await ask(plainUrl, query, { ids: ids(1000) });
  assert.equal(fast.answered, 1, 'the fast path answered');
  assert.equal(fast.reads, 1);
  assert.equal(apollo.reads, 1);
  assert.equal(fast.text, apollo.text, 'both paths give the same bytes');
  const errors = fast.body.errors ?? [];
  const fields = ['ordersLast30m', 'revenueLast24h', 'avgPrepSeconds7d', 'isOpen', 'menuSize', 'cuisineTags', 'queryMatch', 'q2', 'etaMinutes', 'e2'];
  assert.deepEqual(errors.map((e) => e.path), fields.map((field) => ['restaurants', 0, field]), 'one error per field path, in document order');
  for (const error of errors) assert.deepEqual(error.extensions, { code: 'ONLINE_STORE_UNAVAILABLE', retriable: true, count: 1000 });
  const rows = (fast.body.data as { restaurants: Record<string, unknown>[] }).restaurants;
  assert.equal(rows.length, 1000);
  assert.deepEqual(rows[999], { restaurantId: 'r1000', ...Object.fromEntries(fields.map((field) => [field, null])) });
  // The errors cost a few hundred bytes each, whatever the number of entities.
  const dataBytes = JSON.stringify({ data: fast.body.data }).length;
  assert.ok(fast.text.length < dataBytes + 10 * 300, `body of ${fast.text.length} bytes for ${dataBytes} bytes of data`);
});

test('shapes only Apollo answers collapse too: featureMeta, two roots', async () => {
  store.fail('read: command timed out after 75 ms');
  const answer = await ask(f.url, `{ restaurants(restaurantIds: ${JSON.stringify(ids(5))}) { restaurantId isOpen featureMeta { isOpen { status } } }
    users(userIds: ["u1", "u2"]) { userId favoriteCuisine } }`);
  assert.equal(answer.answered, 0, 'Apollo answered');
  assert.equal(answer.reads, 1);
  const summary = (answer.body.errors ?? []).map((e) => `${e.path?.join('.')} x${e.extensions?.count} ${e.extensions?.code}`);
  // featureMeta is non-null: its failure nulls the entity, once per entity, counted in one error.
  assert.deepEqual(summary, ['restaurants.0.isOpen x5 ONLINE_STORE_UNAVAILABLE', 'restaurants.0.featureMeta.isOpen x5 ONLINE_STORE_UNAVAILABLE', 'users.0.favoriteCuisine x2 ONLINE_STORE_UNAVAILABLE']);
  assert.deepEqual((answer.body.data as { restaurants: unknown[] }).restaurants, [null, null, null, null, null]);
  assert.deepEqual((answer.body.data as { users: unknown[] }).users, [{ userId: 'u1', favoriteCuisine: null }, { userId: 'u2', favoriteCuisine: null }]);
});

test('a failing history store: a training set gets one error per field path, with the count', async () => {
  history.failing = true;
  const rows = ids(40).map((restaurantId) => `{ restaurantId: "${restaurantId}", asOf: "2026-06-01T11:59:00Z" }`).join(', ');
  const reads = history.reads;
  const answer = await ask(f.url, `{ restaurantTrainingSet(rows: [${rows}]) { restaurantId ordersLast30m isOpen etaMinutes(distanceKm: 1) } }`);
  assert.equal(history.reads - reads, 1, 'one history read per entity and mode');
  assert.deepEqual(
    (answer.body.errors ?? []).map((e) => [e.path, e.extensions]),
    ['ordersLast30m', 'isOpen', 'etaMinutes'].map((field) => [['restaurantTrainingSet', 0, field], { code: 'HISTORY_STORE_UNAVAILABLE', retriable: true, count: 40 }]),
  );
});

test('each operation of a batch reports its own failures', async () => {
  store.fail();
  const reads = store.reads;
  const response = await fetch(f.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ query: '{ restaurants(restaurantIds: ["r1", "r2"]) { isOpen } }' }, { query: '{ users(userIds: ["u1"]) { favoriteCuisine } }' }]),
  });
  const answers = (await response.json()) as { errors?: GraphqlError[] }[];
  assert.deepEqual(
    answers.map((a) => (a.errors ?? []).map((e) => `${e.path?.join('.')} x${e.extensions?.count}`)),
    [['restaurants.0.isOpen x2'], ['users.0.favoriteCuisine x1']],
  );
  assert.ok(store.reads - reads <= 2, `${store.reads - reads} reads for two operations`);
});
