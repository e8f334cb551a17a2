// GraphQL featureHealth on a gateway in process, computed by a health engine that answers fixed rows:
// every field of a row as the SDL types it, the query the engine is asked, Apollo answering (the fast
// path declines the operation, also mixed with entity reads), closed intervals computed once, bad
// arguments refused as BAD_USER_INPUT naming the argument before anything is computed, and a gateway
// without an engine answering MONITOR_UNAVAILABLE.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../schema/load.js';
import { FeaturegraphError } from '../../schema/errors.js';
import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import { loadConfig } from '../../gateway/config.js';
import { createGateway, type Gateway } from '../../gateway/server.js';
import type { HealthEngine } from '../../materializers/monitor/types.js';
import { FakeHealthEngine, healthRow } from '../fixtures/health-engine.js';

const T0 = Date.parse('2026-06-01T12:00:00.000Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const registry = await loadFeatureRepo('examples/food-delivery/features');

interface Answer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; argument?: string } }[];
}

const open: Gateway[] = [];
after(async () => {
  for (const gateway of open) await gateway.close();
});

async function gatewayWith(engine: HealthEngine | null) {
  const now = () => T0;
  const config = loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1' } });
  const gateway = await createGateway({ config, registry, store: new MemoryOnlineStore({ now }), now, featureHealth: engine });
  open.push(gateway);
  const url = await gateway.listen();
  return {
    gateway,
    async query(query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
      return (await response.json()) as Answer;
    },
  };
}

const allFields = 'feature entity view owner segment direction from to values missingRate staleRate nullRate outOfRangeRate mean p50 p90 p99 categories { value share } psi skewChecked skewRate skewExamples { key at served servedStatus recomputed recomputedStatus inputs }';

test('featureHealth answers the engine rows, every field typed as the SDL says, from the query its arguments make', async () => {
  const example = { key: 'r7', at: T0 - 90_000, served: 12, servedStatus: 'PRESENT', recomputed: 11, recomputedStatus: 'PRESENT', inputs: null };
  const row = healthRow({ segment: 'city=Berlin', values: 120, missingRate: 0.25, categories: [{ value: 'thai', share: 0.75 }], psi: null, skewChecked: 40, skewRate: 0.025, skewExamples: [example] });
  const engine = new FakeHealthEngine([row]);
  const { gateway, query } = await gatewayWith(engine);
  const answer = await query(`query H($from: DateTime!, $to: DateTime!) { featureHealth(feature: "ordersLast30m", entity: "Restaurant", segment: "city=Berlin", direction: SERVED, from: $from, to: $to, interval: "30m") { ${allFields} } }`, {
    from: iso(T0 - 2 * HOUR),
    to: iso(T0 - HOUR),
  });
  // Every field of the row, instants as DateTime text and the direction as the enum's value.
  assert.deepEqual(Object.keys(row).sort(), allFields.replace(/ \{[^}]*\}/g, '').split(' ').sort());
  assert.deepEqual(answer, {
    data: { featureHealth: [{ ...row, direction: 'SERVED', from: iso(T0 - 2 * HOUR), to: iso(T0 - HOUR), skewExamples: [{ ...example, at: iso(example.at) }] }] },
  });
  assert.deepEqual(engine.queries, [{ from: T0 - 2 * HOUR, to: T0 - HOUR, features: ['Restaurant.ordersLast30m'], entity: 'Restaurant', segment: 'city=Berlin', direction: 'served', intervalMs: 30 * 60_000 }]);
  // Apollo answered: the fast path plans entity reads only.
  assert.deepEqual(gateway.fastPath?.stats, { answered: 0, declined: 1 });
});

test('the fast path declines an operation mixing featureHealth with entity reads; Apollo answers both', async () => {
  const engine = new FakeHealthEngine([healthRow({ direction: 'incoming' })]);
  const { gateway, query } = await gatewayWith(engine);
  const answer = await query(`{ restaurant(restaurantId: "r1") { restaurantId } featureHealth(feature: "Restaurant.ordersLast30m", from: "${iso(T0 - HOUR)}", to: "${iso(T0)}") { direction segment } }`);
  assert.deepEqual(answer, { data: { restaurant: { restaurantId: 'r1' }, featureHealth: [{ direction: 'INCOMING', segment: '*' }] } });
  assert.deepEqual(engine.queries, [{ from: T0 - HOUR, to: T0, features: ['Restaurant.ordersLast30m'] }]);
  assert.deepEqual(gateway.fastPath?.stats, { answered: 0, declined: 1 });
  // The same entity read alone is the fast path's.
  await query('{ restaurant(restaurantId: "r1") { restaurantId } }');
  assert.deepEqual(gateway.fastPath?.stats, { answered: 1, declined: 1 });
});

test('a closed range is computed once and kept; a range that ends within the last minute is computed each time', async () => {
  const engine = new FakeHealthEngine();
  const { query } = await gatewayWith(engine);
  const ask = (from: number, to: number) => query(`{ featureHealth(feature: "isOpen", from: "${iso(from)}", to: "${iso(to)}") { values } }`);
  for (let i = 0; i < 3; i++) assert.deepEqual(await ask(T0 - 2 * HOUR, T0 - 61_000), { data: { featureHealth: [{ values: 100 }] } });
  assert.equal(engine.queries.length, 1);
  await ask(T0 - HOUR, T0 - 59_000);
  await ask(T0 - HOUR, T0 - 59_000);
  assert.equal(engine.queries.length, 3);
  // Other arguments, another entry.
  await query(`{ featureHealth(feature: "isOpen", segment: "*", from: "${iso(T0 - 2 * HOUR)}", to: "${iso(T0 - 61_000)}") { values } }`);
  assert.equal(engine.queries.length, 4);
});

test('bad arguments are BAD_USER_INPUT naming the argument, and nothing is computed', async () => {
  const engine = new FakeHealthEngine();
  const { query } = await gatewayWith(engine);
  const range = `from: "${iso(T0 - HOUR)}", to: "${iso(T0)}"`;
  const refused = async (args: string, argument: string, message: RegExp) => {
    const answer = await query(`{ featureHealth(${args}) { values } }`);
    assert.equal(answer.data, null, args);
    assert.equal(answer.errors?.length, 1, args);
    const [error] = answer.errors ?? [];
    assert.deepEqual([error?.extensions?.code, error?.extensions?.argument, error?.path], ['BAD_USER_INPUT', argument, ['featureHealth']], args);
    assert.match(error?.message ?? '', message, args);
  };
  await refused(`feature: "nope", ${range}`, 'feature', /^featureHealth: unknown feature "nope"; known: Restaurant\.ordersLast30m, Restaurant\.revenueLast24h, .*User\.country/);
  await refused(`feature: "ordersLast30m", entity: "User", ${range}`, 'feature', /^featureHealth: unknown feature "ordersLast30m"; known: User\./);
  await refused(`feature: "Shop.ordersLast30m", ${range}`, 'feature', /^featureHealth: unknown feature "Shop\.ordersLast30m": no entity "Shop" among Restaurant, User$/);
  await refused(`feature: "ordersLast30m", entity: "Shop", ${range}`, 'entity', /^featureHealth: unknown entity "Shop"; known: Restaurant, User$/);
  await refused(`feature: "ordersLast30m", segment: "Berlin", ${range}`, 'segment', /^featureHealth: segment "Berlin" is not a segment of Restaurant: give \* for the whole population, or a segment feature and its value such as city=\.\.\. \(segment features: city\)$/);
  await refused(`feature: "ordersLast30m", segment: "country=DE", ${range}`, 'segment', /segment "country=DE" is not a segment of Restaurant/);
  await refused(`feature: "ordersLast30m", from: "${iso(T0)}", to: "${iso(T0)}"`, 'from', /^featureHealth: from \(2026-06-01T12:00:00\.000Z\) must be before to \(2026-06-01T12:00:00\.000Z\)$/);
  await refused(`feature: "ordersLast30m", from: "${iso(T0 - 32 * 24 * HOUR)}", to: "${iso(T0)}"`, 'to', /is longer than 31 days; ask for a shorter one$/);
  await refused(`feature: "ordersLast30m", ${range}, interval: "soon"`, 'interval', /^featureHealth: interval must be a duration such as 1h, 30m or 1d, got "soon"$/);
  await refused(`feature: "ordersLast30m", from: "${iso(T0 - 30 * 24 * HOUR)}", to: "${iso(T0)}", interval: "1m"`, 'interval', /^featureHealth: interval 1m cuts the range into 43200 intervals; at most 1000/);
  // An instant that is none is refused by the DateTime scalar, as everywhere.
  const instant = await query(`{ featureHealth(feature: "ordersLast30m", from: "yesterday", to: "${iso(T0)}") { values } }`);
  assert.equal(instant.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  assert.match(instant.errors?.[0]?.message ?? '', /DateTime "yesterday" is not an instant/);
  assert.equal(engine.queries.length, 0);
});

test('a gateway without a health engine answers MONITOR_UNAVAILABLE; engine failures show as coded errors or masked', async () => {
  const none = await gatewayWith(null);
  const unavailable = await none.query(`{ featureHealth(feature: "ordersLast30m", from: "${iso(T0 - HOUR)}", to: "${iso(T0)}") { values } }`);
  assert.equal(unavailable.data, null);
  assert.equal(unavailable.errors?.[0]?.extensions?.code, 'MONITOR_UNAVAILABLE');
  assert.match(unavailable.errors?.[0]?.message ?? '', /^featureHealth: this gateway has nothing to compute it from \(no served log, no history store\)/);

  const engine = new FakeHealthEngine();
  const { query } = await gatewayWith(engine);
  const ask = () => query(`{ featureHealth(feature: "ordersLast30m", from: "${iso(T0 - HOUR)}", to: "${iso(T0)}") { values } }`);
  engine.next = new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', 'history store embedded: not reachable', { retriable: true });
  assert.deepEqual((await ask()).errors?.map((e) => [e.message, e.extensions?.code]), [['history store embedded: not reachable', 'HISTORY_STORE_UNAVAILABLE']]);
  engine.next = new Error('redis://:secret@10.0.0.1 refused');
  assert.deepEqual((await ask()).errors?.map((e) => [e.message, e.extensions?.code]), [['internal error', 'INTERNAL_SERVER_ERROR']]);
});
