// The gateway end to end over HTTP: values, decay, metadata, catalog, introspection, federation, and
// every kind of bad request answered with a coded GraphQL error (never a 500, a hang or a crash).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { getIntrospectionQuery } from 'graphql';
import { startFixture, T0, type Fixture } from './fixture.js';

const MIN = 60_000;

describe('gateway over HTTP', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
    // r1: 3 orders in the last 30 minutes, 1 older; r2: 1 order 29 minutes ago; r3: 1 order 40 minutes ago.
    await f.order('r1', 'u1', T0 - 1 * MIN, 10);
    await f.order('r1', 'u2', T0 - 10 * MIN, 20);
    await f.order('r1', 'u1', T0 - 20 * MIN, 30);
    await f.order('r1', 'u3', T0 - 45 * MIN, 40);
    await f.order('r2', 'u1', T0 - 29 * MIN + 1, 5);
    await f.order('r3', 'u2', T0 - 40 * MIN, 7);
    f.rows.restaurants.upsert({ key: 'r1', eventTime: T0 - 2 * MIN, values: { isOpen: true, menuSize: 42, cuisineTags: ['thai', 'noodles'] } });
    f.rows.restaurants.upsert({ key: 'r2', eventTime: T0 - 20 * MIN, values: { isOpen: false, menuSize: 12, cuisineTags: ['pizza'] } });
    f.rows.restaurant_prep_stats.upsert({ key: 'r1', eventTime: T0 - 30 * MIN, values: { AVG_PREP_SECONDS_7D: 600 } });
    f.rows.users.upsert({ key: 'u1', eventTime: T0 - 5 * MIN, values: { favoriteCuisine: 'thai' } });
    await f.refreshRows();
  });
  after(() => f.close());

  test('serves demo values for several restaurants, in the order asked', async () => {
    const { status, body } = await f.query(`{ restaurants(restaurantIds: ["r1", "r2", "r3"]) { restaurantId ordersLast30m revenueLast24h avgPrepSeconds7d isOpen menuSize cuisineTags } }`);
    assert.equal(status, 200);
    assert.equal(body.errors, undefined);
    assert.deepEqual(body.data, {
      restaurants: [
        { restaurantId: 'r1', ordersLast30m: 3, revenueLast24h: 100, avgPrepSeconds7d: 600, isOpen: true, menuSize: 42, cuisineTags: ['thai', 'noodles'] },
        { restaurantId: 'r2', ordersLast30m: 1, revenueLast24h: 5, avgPrepSeconds7d: null, isOpen: false, menuSize: 12, cuisineTags: ['pizza'] },
        { restaurantId: 'r3', ordersLast30m: 0, revenueLast24h: 7, avgPrepSeconds7d: null, isOpen: null, menuSize: null, cuisineTags: null },
      ],
    });
  });

  test('request-time features combine their arguments with stored features', async () => {
    const { body } = await f.query(`{ restaurant(restaurantId: "r1") { queryMatch(query: "Thai curry") etaMinutes(distanceKm: 5) } }`);
    assert.equal(body.errors, undefined);
    // 600 s prep * (1 + 3/60) = 10.5 min, + 12 min ride + 3 = 25.5
    assert.deepEqual(body.data, { restaurant: { queryMatch: 0.5, etaMinutes: 25.5 } });
  });

  test('unknown ids give null features with status MISSING, never an error for the whole list', async () => {
    const { body } = await f.query(`{ restaurants(restaurantIds: ["r1", "nope"]) { restaurantId ordersLast30m isOpen etaMinutes(distanceKm: 1) featureMeta { ordersLast30m { status value } isOpen { status } } } }`);
    assert.equal(body.errors, undefined);
    const [, nope] = (body.data as { restaurants: Record<string, unknown>[] }).restaurants;
    assert.deepEqual(nope, { restaurantId: 'nope', ordersLast30m: null, isOpen: null, etaMinutes: null, featureMeta: { ordersLast30m: { status: 'MISSING', value: null }, isOpen: { status: 'MISSING' } } });
  });

  test("featureMeta gives status, event time, age, the view's watermark and freshness SLA: a quiet value is PRESENT, a view behind its SLA makes it STALE", async () => {
    // r2's row is 20 minutes old, past its view's 5m SLA, but its view is applied up to 4 minutes ago: PRESENT.
    // The orders view is applied up to 2 minutes ago, past its 1m SLA: STALE, windowed or not. (A part
    // of their own, so that whatever else publishes for these views, the least part is this one.)
    await f.store.publishWatermarks('restaurant_profile', { e2e: T0 - 4 * MIN }, T0);
    await f.store.publishWatermarks('restaurant_order_activity', { e2e: T0 - 2 * MIN }, T0);
    const { body } = await f.query(`{ restaurant(restaurantId: "r2") { featureMeta { isOpen { feature status value eventTime availableTime ageMs watermark freshnessMs } ordersLast30m { status eventTime ageMs watermark freshnessMs } avgPrepSeconds7d { status watermark freshnessMs } } } }`);
    assert.equal(body.errors, undefined);
    assert.deepEqual(body.data, {
      restaurant: {
        featureMeta: {
          isOpen: { feature: 'isOpen', status: 'PRESENT', value: false, eventTime: new Date(T0 - 20 * MIN).toISOString(), availableTime: new Date(T0).toISOString(), ageMs: 20 * MIN, watermark: new Date(T0 - 4 * MIN).toISOString(), freshnessMs: 5 * MIN },
          ordersLast30m: { status: 'STALE', eventTime: new Date(T0 - 29 * MIN + 1).toISOString(), ageMs: 29 * MIN - 1, watermark: new Date(T0 - 2 * MIN).toISOString(), freshnessMs: MIN },
          // No watermark published for its view: nothing to measure, never STALE.
          avgPrepSeconds7d: { status: 'MISSING', watermark: null, freshnessMs: 120 * MIN },
        },
      },
    });
  });

  test('users have their own features', async () => {
    const { body } = await f.query(`{ users(userIds: ["u1", "u2", "u9"]) { userId ordersLast24h favoriteCuisine } }`);
    assert.deepEqual(body.data, { users: [{ userId: 'u1', ordersLast24h: 3, favoriteCuisine: 'thai' }, { userId: 'u2', ordersLast24h: 2, favoriteCuisine: null }, { userId: 'u9', ordersLast24h: null, favoriteCuisine: null }] });
  });

  test('featureCatalog filters by search text, entity and tag', async () => {
    const ids = async (args: string) => ((await f.query(`{ featureCatalog${args} { id } }`)).body.data as { featureCatalog: { id: string }[] }).featureCatalog.map((i) => i.id).sort();
    assert.equal((await ids('')).length, 12);
    assert.deepEqual(await ids('(entity: "User")'), ['User.country', 'User.favoriteCuisine', 'User.ordersLast24h']);
    assert.deepEqual(await ids('(tag: "eta")'), ['Restaurant.avgPrepSeconds7d', 'Restaurant.etaMinutes', 'Restaurant.ordersLast30m', 'Restaurant.revenueLast24h']);
    assert.deepEqual(await ids('(search: "kitchen")'), ['Restaurant.avgPrepSeconds7d', 'Restaurant.etaMinutes', 'Restaurant.ordersLast30m']);
    assert.deepEqual(await ids('(search: "orders", entity: "restaurant", tag: "realtime")'), ['Restaurant.ordersLast30m', 'Restaurant.revenueLast24h']);
    const { body } = await f.query(`{ featureCatalog(search: "etaMinutes") { id owner source sourceKind arguments inputs freshnessSla ttl } }`);
    assert.deepEqual(body.data, { featureCatalog: [{ id: 'Restaurant.etaMinutes', owner: 'eta-team', source: 'request time', sourceKind: 'request', arguments: ['distanceKm: Float!'], inputs: ['avgPrepSeconds7d', 'ordersLast30m'], freshnessSla: null, ttl: null }] });
  });

  test('introspection lists every feature with owner, source, freshness SLA, ttl and tags in its description', async () => {
    const { body } = await f.query(`{ __type(name: "Restaurant") { fields { name description args { name } } } }`);
    const fields = (body.data as { __type: { fields: { name: string; description: string | null; args: { name: string }[] }[] } }).__type.fields;
    const byName = new Map(fields.map((x) => [x.name, x]));
    for (const name of ['ordersLast30m', 'revenueLast24h', 'avgPrepSeconds7d', 'isOpen', 'menuSize', 'cuisineTags', 'queryMatch', 'etaMinutes']) {
      const description = byName.get(name)?.description ?? '';
      for (const label of ['Owner: ', 'Source: ', 'Freshness SLA: ', 'TTL: ', 'Tags: ']) assert.ok(description.includes(label), `${name} lacks "${label}": ${description}`);
    }
    assert.match(byName.get('ordersLast30m')?.description ?? '', /Owner: eta-team\nSource: kafka topic orders \(view restaurant_order_activity\)\nAggregation: count over 30m \(tiles of 1m\)\nFreshness SLA: 1m\nTTL: 2d\nTags: realtime, eta/);
    assert.deepEqual(byName.get('etaMinutes')?.args, [{ name: 'distanceKm' }]);
  });

  test('the standard introspection query (as GraphiQL sends it) passes the limits', async () => {
    const { status, body } = await f.query(getIntrospectionQuery());
    assert.equal(status, 200);
    assert.equal(body.errors, undefined);
  });

  test('it is a Federation 2 subgraph: _service.sdl has @key and _entities resolves references', async () => {
    const sdl = ((await f.query('{ _service { sdl } }')).body.data as { _service: { sdl: string } })._service.sdl;
    assert.match(sdl, /type Restaurant\s+@key\(fields: "restaurantId"\)/);
    assert.match(sdl, /restaurantTrainingSet\(rows: \[RestaurantAsOfInput!\]!, mode: TimeMode = SERVED\): \[Restaurant\]!/);
    const { body } = await f.query(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Restaurant { restaurantId ordersLast30m } ... on User { userId favoriteCuisine } } }`, {
      r: [{ __typename: 'Restaurant', restaurantId: 'r1' }, { __typename: 'User', userId: 'u1' }],
    });
    assert.deepEqual(body.data, { _entities: [{ restaurantId: 'r1', ordersLast30m: 3 }, { userId: 'u1', favoriteCuisine: 'thai' }] });
  });

  test('asOf that is not an ISO-8601 instant is refused by the DateTime scalar', async () => {
    const bad = await f.query(`{ restaurant(restaurantId: "r1", asOf: "yesterday") { ordersLast30m } }`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.errors?.[0]?.message ?? '', /^DateTime "yesterday" is not an instant: it is neither ISO-8601 text nor epoch milliseconds; accepted: ISO-8601/);
    assert.equal(bad.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });
});

describe('a gateway without a history store', () => {
  test('asOf reads and training sets answer AS_OF_UNAVAILABLE, saying what to configure', async () => {
    const f = await startFixture({ history: null });
    try {
      const one = await f.query(`{ restaurant(restaurantId: "r1", asOf: "2026-05-01T00:00:00Z") { ordersLast30m } }`);
      assert.equal(one.body.errors?.[0]?.extensions?.code, 'AS_OF_UNAVAILABLE');
      assert.match(one.body.errors?.[0]?.message ?? '', /restaurant: asOf reads of Restaurant need a history store, and this gateway has none; configure history/);
      const rows = await f.query(`{ restaurantTrainingSet(rows: [{ restaurantId: "r1", asOf: "2026-05-01T00:00:00Z" }]) { ordersLast30m } }`);
      assert.equal(rows.body.errors?.[0]?.extensions?.code, 'AS_OF_UNAVAILABLE');
      const now = await f.query(`{ restaurant(restaurantId: "r1", mode: SERVED) { restaurantId } }`);
      assert.deepEqual(now.body, { data: { restaurant: { restaurantId: 'r1' } } }, 'without asOf, mode changes nothing');
    } finally {
      await f.close();
    }
  });
});

describe('time passing', () => {
  test('ordersLast30m decays to 0 with no new orders, PRESENT while its view keeps up, STALE once it does not; values past ttl are EXPIRED, then MISSING', async () => {
    const f = await startFixture();
    try {
      await f.order('r1', 'u1', T0 - 1 * MIN);
      await f.order('r1', 'u2', T0 - 10 * MIN);
      await f.order('r1', 'u1', T0 - 20 * MIN);
      f.rows.restaurants.upsert({ key: 'r1', eventTime: T0 - 2 * MIN, values: { isOpen: true, menuSize: 42, cuisineTags: ['thai'] } });
      await f.refreshRows();
      // Both views are applied up to now; afterwards only the stream keeps up (a part of its own, as above).
      const applied = (view: string) => f.store.publishWatermarks(view, { e2e: f.clock.now }, f.clock.now);
      await applied('restaurant_order_activity');
      await applied('restaurant_profile');
      const ask = async () => (await f.query(`{ restaurant(restaurantId: "r1") { ordersLast30m featureMeta { ordersLast30m { status } isOpen { status value } } } }`)).body.data;
      const at = (ordersLast30m: number | null, orders: string, isOpen: boolean | null, open: string) => ({ restaurant: { ordersLast30m, featureMeta: { ordersLast30m: { status: orders }, isOpen: { status: open, value: isOpen } } } });
      assert.deepEqual(await ask(), at(3, 'PRESENT', true, 'PRESENT'));
      f.clock.now = T0 + 4 * MIN;
      assert.deepEqual(await ask(), at(3, 'STALE', true, 'PRESENT'), 'the stream has not said it caught up for 4 minutes');
      await applied('restaurant_order_activity');
      assert.deepEqual(await ask(), at(3, 'PRESENT', true, 'PRESENT'), 'a quiet restaurant is not stale');
      f.clock.now = T0 + 15 * MIN;
      await applied('restaurant_order_activity');
      assert.deepEqual(await ask(), at(2, 'PRESENT', true, 'STALE'));
      f.clock.now = T0 + 31 * MIN;
      await applied('restaurant_order_activity');
      assert.deepEqual(await ask(), at(0, 'PRESENT', true, 'STALE'));
      f.clock.now = T0 + 3 * 24 * 60 * MIN;
      await applied('restaurant_order_activity');
      assert.deepEqual(await ask(), at(null, 'EXPIRED', true, 'STALE'));
      f.clock.now = T0 + 31 * 24 * 60 * MIN;
      assert.deepEqual(await ask(), at(null, 'MISSING', null, 'EXPIRED'), 'EXPIRED wins over STALE, MISSING stays MISSING');
    } finally {
      await f.close();
    }
  });
});

describe('bad requests get coded errors, never a 500', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
    await f.order('r1', 'u1', T0 - 1 * MIN);
  });
  after(() => f.close());

  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetch(f.url, { method: 'POST', headers, body });

  test('wrong argument types', async () => {
    const r = await f.query(`{ restaurant(restaurantId: "r1") { etaMinutes(distanceKm: "far") } }`);
    assert.equal(r.status, 400);
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    const v = await f.query(`query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { ordersLast30m } }`, { ids: 'r1' });
    assert.equal(v.status, 200, 'a single id is coerced to a list, as GraphQL specifies');
    const w = await f.query(`query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { ordersLast30m } }`, { ids: [{ id: 1 }] });
    assert.equal(w.status, 400);
    assert.equal(w.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });

  test('an argument a request-time feature refuses nulls that field alone, with a code', async () => {
    const r = await f.query(`{ restaurant(restaurantId: "r1") { restaurantId etaMinutes(distanceKm: 500) } }`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { restaurant: { restaurantId: 'r1', etaMinutes: null } });
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'REQUEST_FEATURE_FAILED');
    assert.match(r.body.errors?.[0]?.message ?? '', /distanceKm must be between 0 and 100, got 500/);
  });

  test('10,000 ids', async () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `r${i}`);
    const r = await f.query(`query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { ordersLast30m } }`, { ids });
    assert.equal(r.status, 200);
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'LIMIT_EXCEEDED');
    assert.match(r.body.errors?.[0]?.message ?? '', /asks for 10000 Restaurant entities; at most 1000/);
  });

  test('1,000 ids, the most one field may ask for, are served', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `r${i}`);
    const r = await f.query(`query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { ordersLast30m } }`, { ids });
    assert.equal(r.status, 200);
    assert.equal((r.body.data as { restaurants: unknown[] }).restaurants.length, 1000);
  });

  test('malformed JSON', async () => {
    const r = await post('{"query": "{ restaurant(');
    assert.equal(r.status, 400);
    const body = (await r.json()) as { errors: { extensions: { code: string } }[] };
    assert.equal(body.errors[0]?.extensions.code, 'BAD_REQUEST');
  });

  test('a syntax error in the query', async () => {
    const r = await f.query('{ restaurant(restaurantId: "r1") { ordersLast30m ');
    assert.equal(r.status, 400);
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'GRAPHQL_PARSE_FAILED');
  });

  test('a deeply nested query', async () => {
    const deep = `{ __type(name: "Restaurant") { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }`;
    const r = await f.query(deep);
    assert.equal(r.status, 400);
    assert.match(r.body.errors?.[0]?.message ?? '', /depth/i);
    // Nested lists are refused for what they would return, before the depth is looked at.
    const wide = `{ __schema { types { fields { type { fields { type { fields { type { fields { type { fields { type { fields { name } } } } } } } } } } } } } }`;
    const w = await f.query(wide);
    assert.equal(w.status, 400);
    assert.equal(w.body.errors?.[0]?.extensions?.code, 'LIMIT_EXCEEDED');
  });

  test('a depth limit cannot be dodged through a fragment named __schema', async () => {
    const r = await f.query(`{ restaurant(restaurantId: "r1") { ...__schema } } fragment __schema on Restaurant { featureMeta { ordersLast30m { status } } }`);
    assert.equal(r.status, 400);
    assert.match(r.body.errors?.map((e) => e.message).join('\n') ?? '', /fragment name "__schema" is reserved/);
  });

  test('too many aliases', async () => {
    const aliases = Array.from({ length: 100 }, (_, i) => `a${i}: restaurant(restaurantId: "r${i}") { ordersLast30m }`).join(' ');
    const r = await f.query(`{ ${aliases} }`);
    assert.equal(r.status, 400);
    assert.match(r.body.errors?.[0]?.message ?? '', /aliases/i);
  });

  test('a body over the size limit', async () => {
    const r = await post(JSON.stringify({ query: `{ restaurant(restaurantId: "${'x'.repeat(3 * 1024 * 1024)}") { ordersLast30m } }` }));
    assert.equal(r.status, 413);
    assert.equal(((await r.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code, 'LIMIT_EXCEEDED');
  });

  test('a batch with too many operations', async () => {
    const r = await post(JSON.stringify(Array.from({ length: 50 }, () => ({ query: '{ featureCatalog { id } }' }))));
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code, 'LIMIT_EXCEEDED');
  });

  test('a small batch is answered operation by operation', async () => {
    const r = await post(JSON.stringify([{ query: '{ restaurant(restaurantId: "r1") { restaurantId } }' }, { query: '{ user(userId: "u1") { userId } }' }]));
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), [{ data: { restaurant: { restaurantId: 'r1' } } }, { data: { user: { userId: 'u1' } } }]);
  });

  test('a GET query without a preflight header is refused (CSRF prevention)', async () => {
    const r = await fetch(`${f.url}?query=${encodeURIComponent('{ featureCatalog { id } }')}`);
    assert.equal(r.status, 400);
    const ok = await fetch(`${f.url}?query=${encodeURIComponent('{ restaurant(restaurantId: "r1") { restaurantId } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    assert.equal(ok.status, 200);
  });

  test('health, readiness, unknown routes and the offline GraphiQL page', async () => {
    const base = f.url.replace(/\/graphql$/, '');
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    const readiness = (await ready.json()) as { status: string; dependencies: Record<string, { state: string; target: string }> };
    assert.equal(readiness.status, 'ready');
    assert.deepEqual(Object.fromEntries(Object.entries(readiness.dependencies).map(([name, d]) => [name, [d.state, d.target]])), { onlineStore: ['ready', 'memory, private to this process'], history: ['ready', 'memory, private to this process'] });
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    const page = await fetch(f.url, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<script src="\/graphiql\/graphiql.js"><\/script>/);
    assert.doesNotMatch(html, /https?:\/\/(?!localhost)/, 'the page loads nothing from outside the machine');
    for (const asset of ['react.js', 'react-dom.js', 'graphiql.js', 'graphiql.css']) {
      const r = await fetch(`${base}/graphiql/${asset}`);
      assert.equal(r.status, 200, asset);
      assert.ok((await r.arrayBuffer()).byteLength > 1000, asset);
    }
  });
});

describe('production mode', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture({ config: { production: true } });
  });
  after(() => f.close());

  test('introspection, GraphiQL and field suggestions are off', async () => {
    const r = await f.query('{ __schema { types { name } } }');
    assert.equal(r.status, 400);
    const page = await fetch(f.url, { headers: { accept: 'text/html' } });
    assert.notEqual(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const typo = await f.query('{ restaurant(restaurantId: "r1") { ordersLast30 } }');
    assert.doesNotMatch(typo.body.errors?.[0]?.message ?? '', /Did you mean/);
  });
});

describe('an online store that fails', () => {
  test('nulls the stored fields with a coded error, keeps the rest of the response', async () => {
    const { MemoryOnlineStore } = await import('../../adapters/online/memory/index.js');
    const { OnlineStoreError } = await import('../../schema/errors.js');
    class DownStore extends MemoryOnlineStore {
      override async read(): Promise<never> {
        throw new OnlineStoreError('test', 'connection refused (password=hunter2 must not leak)');
      }
    }
    const f = await startFixture({ store: new DownStore() });
    try {
      const r = await f.query(`{ restaurant(restaurantId: "r1") { restaurantId ordersLast30m isOpen } featureCatalog(tag: "eta") { id } }`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.data?.restaurant, { restaurantId: 'r1', ordersLast30m: null, isOpen: null });
      assert.equal((r.body.data?.featureCatalog as unknown[]).length, 4);
      assert.equal(r.body.errors?.length, 2);
      assert.ok(r.body.errors?.every((e) => e.extensions?.code === 'ONLINE_STORE_UNAVAILABLE'));
    } finally {
      await f.close();
    }
  });
});
