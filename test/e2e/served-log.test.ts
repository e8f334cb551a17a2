// What the gateway logs of what it served, and what logging costs a request: decided once per HTTP
// request (the header "1" forces it), for every operation of a batch; a record read at the answer's
// instant with the entity's segments read in the answer's one store read; a request not sampled reads
// no more keys than without logging. On both paths: one gateway with the fast path, one without.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, T0, type Fixture } from './fixture.js';
import { createGateway, type Gateway } from '../../gateway/server.js';
import { loadConfig } from '../../gateway/config.js';
import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import { servedLogHeader, type ServedRecord } from '../../schema/served-log.js';
import { FailingReadsStore } from '../fixtures/failing-store.js';
import { MemoryServedLog } from '../fixtures/served-log.js';

const MIN = 60_000;
const storeClock = { now: () => T0 };
const store = new FailingReadsStore(new MemoryOnlineStore({ now: () => storeClock.now() }));
/** What each sampling decision draws; below the rate (0.5) samples. */
const draws: number[] = [];
const random = () => {
  const draw = 0.9;
  draws.push(draw);
  return draw;
};
const fastLog = new MemoryServedLog({ sampleRate: 0.5, random });
const plainLog = new MemoryServedLog({ sampleRate: 0.5, random });
let f: Fixture;
let plain: Gateway;
let plainUrl: string;

before(async () => {
  f = await startFixture({ store, servedLog: fastLog });
  storeClock.now = () => f.clock.now;
  await f.order('r1', 'u1', T0 - 2 * MIN, 20);
  f.rows.restaurants.upsert({ key: 'r1', eventTime: T0 - 2 * MIN, values: { isOpen: true, menuSize: 42, cuisineTags: ['thai'], city: 'Berlin' } });
  f.rows.restaurant_prep_stats.upsert({ key: 'r1', eventTime: T0 - 30 * MIN, values: { AVG_PREP_SECONDS_7D: 600 } });
  await f.refreshRows();
  plain = await createGateway({ config: loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1' } }), registry: f.registry, store: f.store, history: f.history ?? undefined, now: () => f.clock.now, fastPath: false, servedLog: plainLog });
  plainUrl = await plain.listen();
});
after(async () => {
  await plain.close();
  await f.close();
});

const paths = [
  { path: 'fast path', url: () => f.url, log: fastLog },
  { path: 'Apollo', url: () => plainUrl, log: plainLog },
];

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  assert.equal(response.status, 200);
  return response.json();
}

const forced = { [servedLogHeader]: '1' };

/** Store reads and keys read by `send`. */
async function readsOf(send: () => Promise<unknown>): Promise<{ reads: number; keys: number }> {
  const [reads, keys] = [store.reads, store.keysRead];
  await send();
  return { reads: store.reads - reads, keys: store.keysRead - keys };
}

const requestIdOf = (record: ServedRecord) => record.id.slice(0, record.id.lastIndexOf(':'));

for (const { path, url, log } of paths) {
  test(`${path}: a request not sampled logs nothing and reads no segment keys; the header logs it, segments in the same read`, async () => {
    log.take();
    const query = { query: '{ restaurant(restaurantId: "r1") { ordersLast30m } }' };
    assert.deepEqual(await readsOf(() => post(url(), query)), { reads: 1, keys: 1 });
    assert.deepEqual(log.take(), []);
    assert.deepEqual(await readsOf(() => post(url(), query, forced)), { reads: 1, keys: 2 }, 'restaurant_profile (city) rides in the one read');
    const [record, ...more] = log.take();
    assert.deepEqual(more, []);
    assert.deepEqual({ ...record, id: undefined }, { id: undefined, at: T0, entity: 'Restaurant', key: 'r1', segments: { city: 'Berlin' }, features: { ordersLast30m: { value: 1, status: 'PRESENT' } }, inputs: {} });
    assert.match(record!.id, /^[0-9a-f-]{36}:0$/);
  });

  test(`${path}: a record is read at the instant the store answered`, async () => {
    log.take();
    store.duringNextRead = async () => {
      f.clock.now = T0 + 5;
    };
    try {
      await post(url(), { query: '{ restaurants(restaurantIds: ["r1", "r2"]) { isOpen etaMinutes(distanceKm: 1) } }' }, forced);
    } finally {
      f.clock.now = T0;
    }
    const records = log.take();
    assert.deepEqual(records.map((r) => [r.key, r.at, r.segments, r.inputs]), [
      ['r1', T0 + 5, { city: 'Berlin' }, { etaMinutes: { distanceKm: 1 } }],
      ['r2', T0 + 5, { city: null }, { etaMinutes: { distanceKm: 1 } }],
    ]);
    // r2 is unknown to every store: its request-time feature is null, MISSING, as its stored one.
    assert.deepEqual(records[1]?.features, { isOpen: { value: null, status: 'MISSING' }, etaMinutes: { value: null, status: 'MISSING' } });
  });

  test(`${path}: an answer of the key alone still logs the entity's segments`, async () => {
    log.take();
    const { reads } = await readsOf(() => post(url(), { query: '{ restaurant(restaurantId: "r1") { restaurantId } }' }, forced));
    assert.equal(reads, 1);
    assert.deepEqual(log.take().map((r) => [r.key, r.segments, r.features]), [['r1', { city: 'Berlin' }, {}]]);
  });
}

test('a batch is sampled once, and each of its operations is logged with its own request id', async () => {
  plainLog.take();
  draws.length = 0;
  const batch = [{ query: '{ restaurant(restaurantId: "r1") { isOpen } }' }, { query: '{ a: restaurant(restaurantId: "r1") { menuSize } b: user(userId: "u1") { ordersLast24h } }' }];
  await post(f.url, batch);
  assert.equal(draws.length, 1, 'one decision for the HTTP request');
  assert.deepEqual(fastLog.take(), [], 'not sampled: no operation logged');
  await post(f.url, batch, forced);
  const records = fastLog.take();
  assert.deepEqual(records.map((r) => [r.entity, r.key, Object.keys(r.features)]), [
    ['Restaurant', 'r1', ['isOpen']],
    ['Restaurant', 'r1', ['menuSize']],
    ['User', 'u1', ['ordersLast24h']],
  ]);
  const ids = records.map(requestIdOf);
  assert.equal(ids[1], ids[2]);
  assert.notEqual(ids[0], ids[1]);
  assert.deepEqual(records.map((r) => r.id.slice(r.id.lastIndexOf(':') + 1)), ['0', '0', '1']);
});

test("a request the fast path hands over is logged once, by Apollo, from the fast path's one read", async () => {
  fastLog.take();
  const before = { ...f.gateway.fastPath!.stats };
  // A request-time feature that throws: the fast path declines after its read.
  const { reads, keys } = await readsOf(() => post(f.url, { query: '{ restaurant(restaurantId: "r1") { isOpen etaMinutes(distanceKm: 500) } }' }, forced));
  assert.equal(f.gateway.fastPath!.stats.declined - before.declined, 1);
  assert.deepEqual({ reads, keys }, { reads: 1, keys: 3 }, 'profile, prep and order activity, once');
  assert.deepEqual(fastLog.take().map((r) => [r.key, r.segments, r.features]), [['r1', { city: 'Berlin' }, { isOpen: { value: true, status: 'PRESENT' } }]]);
});

test('federation _entities are logged; asOf reads and training sets are not', async () => {
  fastLog.take();
  await post(f.url, { query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Restaurant { isOpen } } }', variables: { r: [{ __typename: 'Restaurant', restaurantId: 'r1' }, { __typename: 'Restaurant', restaurantId: 'r9' }] } }, forced);
  assert.deepEqual(fastLog.take().map((r) => [r.entity, r.key, r.segments]), [['Restaurant', 'r1', { city: 'Berlin' }], ['Restaurant', 'r9', { city: null }]]);
  await post(f.url, { query: '{ restaurant(restaurantId: "r1", asOf: "2026-06-01T11:59:00Z") { isOpen } }' }, forced);
  await post(f.url, { query: '{ restaurantTrainingSet(rows: [{ restaurantId: "r1", asOf: "2026-06-01T11:59:00Z" }]) { isOpen } }' }, forced);
  assert.deepEqual(fastLog.take(), []);
});
