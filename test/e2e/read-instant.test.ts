// The instant of an online answer is when the store answered, on both serving paths: an event that
// lands while the read is on its way is in the answer, so the answer's instant must be after it, or
// the online answer at t holds an event a SERVED read asOf t can never count (found by the
// two-process history test on a busy machine: online 17 orders, SERVED 16, the 17th stamped 10 ms
// after the gateway took its instant and before its read reached the store).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, T0, type Fixture } from './fixture.js';
import { createGateway, type Gateway } from '../../gateway/server.js';
import { loadConfig } from '../../gateway/config.js';
import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import { FailingReadsStore } from '../fixtures/failing-store.js';

const storeClock = { now: () => T0 };
const store = new FailingReadsStore(new MemoryOnlineStore({ now: () => storeClock.now() }));
let f: Fixture;
let plain: Gateway;
let plainUrl: string;

before(async () => {
  f = await startFixture({ store });
  storeClock.now = () => f.clock.now;
  plain = await createGateway({ config: loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1' } }), registry: f.registry, store: f.store, history: f.history ?? undefined, now: () => f.clock.now, fastPath: false });
  plainUrl = await plain.listen();
});
after(async () => {
  await plain.close();
  await f.close();
});

const ttlMs = () => f.registry.view('restaurant_order_activity').ttlMs;

async function post(url: string, query: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data as Record<string, unknown>;
}

/**
 * Two restaurants at an instant T on a minute (a 30-minute window's tile): `busy` had an order 10 s
 * before; `quiet` had its last order exactly a ttl before, so it is live at T and EXPIRED 1 ms later.
 * The next read of the store sees an order of `busy` placed 3 ms after T and answers at T + 5 ms.
 */
async function scenario(busy: string, quiet: string): Promise<number> {
  const start = Math.ceil((f.clock.now + 1) / 60_000) * 60_000;
  f.clock.now = start;
  await f.order(quiet, 'u1', start, 7);
  const at = start + ttlMs();
  f.clock.now = at - 10_000;
  await f.order(busy, 'u1', at - 10_000, 11);
  f.clock.now = at;
  store.duringNextRead = async () => {
    f.clock.now = at + 3;
    await f.order(busy, 'u2', at + 3, 13);
    f.clock.now = at + 5;
  };
  return at + 5;
}

const fields = 'restaurantId ordersLast30m revenueLast24h';
const servedAt = (ids: string[], at: number) => post(plainUrl, `{ restaurants(restaurantIds: ${JSON.stringify(ids)}, asOf: "${new Date(at).toISOString()}", mode: SERVED) { ${fields} } }`);

test('the fast path answers at the instant the store answered: what SERVED gives asOf then', async () => {
  const ids = ['ri1', 'ri2'];
  const answered = await scenario('ri1', 'ri2');
  const fastBefore = f.gateway.fastPath!.stats.answered;
  const online = await post(f.url, `{ restaurants(restaurantIds: ${JSON.stringify(ids)}) { ${fields} } }`);
  assert.equal(f.gateway.fastPath!.stats.answered - fastBefore, 1, 'the fast path answered');
  assert.equal(store.duringNextRead, null, 'the order landed during the read');
  assert.deepEqual(online.restaurants, [
    { restaurantId: 'ri1', ordersLast30m: 2, revenueLast24h: 24 },
    { restaurantId: 'ri2', ordersLast30m: null, revenueLast24h: null },
  ]);
  assert.deepEqual(online.restaurants, (await servedAt(ids, answered)).restaurants);
});

test('Apollo answers at the instant the store answered: featureMeta says it, and SERVED asOf then agrees', async () => {
  const ids = ['ri3', 'ri4'];
  const answered = await scenario('ri3', 'ri4');
  const online = (await post(plainUrl, `{ restaurants(restaurantIds: ${JSON.stringify(ids)}) { ${fields} featureMeta { ordersLast30m { status eventTime ageMs } revenueLast24h { status } } } }`)).restaurants as (Record<string, unknown> & { featureMeta: { ordersLast30m: { eventTime: string; ageMs: number }; revenueLast24h: { status: string } } })[];
  assert.equal(store.duringNextRead, null, 'the order landed during the read');
  const [busy, quiet] = online as [(typeof online)[number], (typeof online)[number]];
  assert.equal(Date.parse(busy.featureMeta.ordersLast30m.eventTime) + busy.featureMeta.ordersLast30m.ageMs, answered, "the answer's instant is when the store answered");
  assert.equal(quiet.featureMeta.revenueLast24h.status, 'EXPIRED');
  assert.deepEqual(online.map(({ featureMeta: _, ...values }) => values), (await servedAt(ids, answered)).restaurants);
});
