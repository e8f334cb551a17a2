// The request guards hold on every route and on both serving paths: CSRF prevention, production's
// federation switches, the list-aware cost limit, and names from requests that must never reach an
// object's prototype. One store, one clock, two gateways (fast path on, fast path off).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, T0, type Fixture } from './fixture.js';
import { createGateway, type Gateway } from '../../gateway/server.js';
import { loadConfig } from '../../gateway/config.js';

const MIN = 60_000;
const prototypeNames = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

interface GraphqlBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

let f: Fixture;
let plain: Gateway;
let plainUrl: string;
const logged: string[] = [];

before(async () => {
  f = await startFixture();
  await f.order('r1', 'u1', T0 - 2 * MIN, 12);
  f.rows.restaurants.upsert({ key: 'r1', eventTime: T0 - 2 * MIN, values: { isOpen: true, menuSize: 42, cuisineTags: ['thai', 'noodles'] } });
  await f.refreshRows();
  await f.history!.append([{ view: 'restaurant_profile', key: 'r1', id: 'r1:p1', eventTime: T0 - 60 * MIN, availableTime: T0 - 59 * MIN, values: { isOpen: true, menuSize: 40, cuisineTags: ['thai'] } }]);
  plain = await createGateway({ config: loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1' } }), registry: f.registry, store: f.store, history: f.history ?? undefined, now: () => f.clock.now, fastPath: false, log: (m) => logged.push(m) });
  plainUrl = await plain.listen();
});
after(async () => {
  await plain.close();
  await f.close();
});

/** Both serving paths: the fixture's gateway answers known operations from plans, the other never does. */
const paths = () => [
  { path: 'fast path', url: f.url },
  { path: 'Apollo', url: plainUrl },
];
const baseOf = (url: string) => url.replace(/\/graphql$/, '');
const postGraphql = async (url: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
  const response = await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as GraphqlBody };
};

describe('names from requests never reach object prototypes', () => {
  test('GET /graphiql/<prototype name> answers 404, and nothing is logged', async () => {
    for (const { path, url } of paths()) {
      for (const name of prototypeNames) {
        const response = await fetch(`${baseOf(url)}/graphiql/${name}`);
        assert.equal(response.status, 404, `${path}: /graphiql/${name}`);
        assert.match(((await response.json()) as { error: string }).error, /no route/);
      }
    }
    assert.deepEqual(logged, []);
  });

  test('a training-set row input named after a prototype property is BAD_USER_INPUT naming it, on both paths', async () => {
    const query = 'query($rows: [RestaurantAsOfInput!]!) { restaurantTrainingSet(rows: $rows) { restaurantId etaMinutes(distanceKm: 1) } }';
    for (const { path, url } of paths()) {
      for (const name of prototypeNames) {
        const rows = JSON.parse(`[{ "restaurantId": "r1", "asOf": "2026-06-01T11:30:00Z", "inputs": { "etaMinutes": { "${name}": 1 } } }]`) as unknown;
        const { status, body } = await postGraphql(url, { query, variables: { rows } });
        assert.equal(status, 200, path);
        assert.equal(body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${path}: ${name}`);
        assert.equal(body.errors?.[0]?.message, `restaurantTrainingSet row 0: etaMinutes has no argument "${name}"; its arguments: distanceKm: Float!`, path);
        const feature = JSON.parse(`[{ "restaurantId": "r1", "asOf": "2026-06-01T11:30:00Z", "inputs": { "${name}": { "distanceKm": 1 } } }]`) as unknown;
        const other = await postGraphql(url, { query, variables: { rows: feature } });
        assert.equal(other.body.errors?.[0]?.message, `restaurantTrainingSet row 0: "${name}" is not a request-time feature of Restaurant; inputs are keyed by etaMinutes, queryMatch`, `${path}: ${name}`);
      }
      const literal = await postGraphql(url, { query: '{ restaurantTrainingSet(rows: [{ restaurantId: "r1", asOf: "2026-06-01T11:30:00Z", inputs: { etaMinutes: { toString: 1, valueOf: 2 } } }]) { etaMinutes(distanceKm: 1) } }' });
      assert.equal(literal.body.errors?.[0]?.message, 'restaurantTrainingSet row 0: etaMinutes has no argument "toString"; its arguments: distanceKm: Float!', path);
    }
  });

  test('POST /training-set: row inputs, features and entities named after prototype properties are coded 400s', async () => {
    for (const { path, url } of paths()) {
      for (const name of prototypeNames) {
        const post = (body: string) => fetch(`${baseOf(url)}/training-set`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const expect = async (body: string, message: string) => {
          const response = await post(body);
          assert.equal(response.status, 400, `${path}: ${body}`);
          const error = ((await response.json()) as GraphqlBody).errors?.[0];
          assert.equal(error?.extensions?.code, 'BAD_USER_INPUT');
          assert.equal(error?.message, message);
        };
        await expect(`{ "features": ["etaMinutes"], "rows": [{ "restaurantId": "r1", "asOf": "2026-06-01T11:30:00Z", "inputs": { "etaMinutes": { "${name}": 1 } } }] }`, `row 1: etaMinutes has no argument "${name}"; its arguments: distanceKm: Float!`);
        await expect(`{ "features": ["isOpen"], "rows": [{ "restaurantId": "r1", "asOf": "2026-06-01T11:30:00Z", "inputs": { "${name}": {} } }] }`, `row 1: "${name}" is not a request-time feature of Restaurant; inputs are keyed by etaMinutes, queryMatch`);
        await expect(`{ "features": ["isOpen"], "entity": "${name}", "rows": [{ "restaurantId": "r1", "asOf": "2026-06-01T11:30:00Z" }] }`, `unknown entity "${name}"; known: Restaurant, User`);
        const unknown = await post(`{ "features": ["${name}"], "rows": [{ "restaurantId": "r1", "asOf": "2026-06-01T11:30:00Z" }] }`);
        assert.equal(unknown.status, 400, `${path}: feature ${name}`);
        assert.match(((await unknown.json()) as GraphqlBody).errors?.[0]?.message ?? '', new RegExp(`^unknown feature "${name}"; features: `));
      }
    }
    assert.deepEqual(logged, []);
  });

  test('entity keys and catalog filters named after prototype properties are plain values, on both paths', async () => {
    for (const { path, url } of paths()) {
      for (const name of prototypeNames) {
        const { status, body } = await postGraphql(url, { query: 'query($id: ID!, $ids: [ID!]!) { restaurant(restaurantId: $id) { restaurantId isOpen ordersLast30m etaMinutes(distanceKm: 1) } restaurants(restaurantIds: $ids) { restaurantId menuSize } }', variables: { id: name, ids: [name, 'r1'] } });
        assert.equal(status, 200, path);
        assert.deepEqual(body, { data: { restaurant: { restaurantId: name, isOpen: null, ordersLast30m: null, etaMinutes: null }, restaurants: [{ restaurantId: name, menuSize: null }, { restaurantId: 'r1', menuSize: 42 }] } }, `${path}: ${name}`);
        const catalog = await postGraphql(url, { query: `{ featureCatalog(entity: "${name}", tag: "${name}", search: "${name}") { id } }` });
        assert.deepEqual(catalog.body, { data: { featureCatalog: [] } }, `${path}: ${name}`);
        const variable = name === '__proto__' ? 'proto' : name;
        const missing = await postGraphql(url, { query: `query($${variable}: ID!) { restaurant(restaurantId: $${variable}) { isOpen } }`, variables: {} });
        assert.equal(missing.status, 400, `${path}: $${variable}`);
        assert.equal(missing.body.errors?.[0]?.message, `Variable "$${variable}" of required type "ID!" was not provided.`);
        const defaulted = await postGraphql(url, { query: `query($${variable}: ID = "r1") { restaurant(restaurantId: $${variable}) { restaurantId isOpen } }`, variables: {} });
        assert.deepEqual(defaulted.body, { data: { restaurant: { restaurantId: 'r1', isOpen: true } } }, `${path}: $${variable}`);
      }
    }
  });
});

describe('CSRF prevention: one rule on every route and both paths', () => {
  const simple = ['text/plain', 'text/plain;charset=json', 'application/x-www-form-urlencoded; json', 'multipart/form-data; boundary=json', ' Text/Plain ; charset=UTF-8'];
  const query = { query: '{ restaurant(restaurantId: "r1") { restaurantId isOpen } }' };

  test('POST /graphql with a simple content type is refused before anything runs, whatever the body', async () => {
    for (const { path, url } of paths()) {
      for (const contentType of simple) {
        const before = f.gateway.fastPath!.stats.answered;
        const { status, body } = await postGraphql(url, query, { 'content-type': contentType });
        assert.equal(status, 400, `${path}: ${contentType}`);
        assert.equal(body.errors?.[0]?.extensions?.code, 'BAD_REQUEST', `${path}: ${contentType}`);
        assert.match(body.errors?.[0]?.message ?? '', /blocked as a potential cross-site request forgery \(CSRF\).*send content-type application\/json, or a non-empty apollo-require-preflight or x-apollo-operation-name header/);
        assert.equal(body.data, undefined);
        assert.equal(f.gateway.fastPath!.stats.answered, before, `${path}: the fast path answered ${contentType}`);
      }
    }
  });

  test('a preflight header lets any content type through to the path, and JSON is read only from application/json', async () => {
    for (const { path, url } of paths()) {
      for (const header of ['apollo-require-preflight', 'x-apollo-operation-name']) {
        const { status, body } = await postGraphql(url, query, { 'content-type': 'text/plain;charset=json', [header]: '1' });
        assert.equal(status, 400, path);
        assert.doesNotMatch(body.errors?.[0]?.message ?? '', /CSRF/);
        assert.match(body.errors?.[0]?.message ?? '', /POST body missing, invalid Content-Type/);
      }
      for (const contentType of ['application/json', 'application/json; charset=utf-8', 'Application/JSON']) {
        const { status, body } = await postGraphql(url, query, { 'content-type': contentType });
        assert.deepEqual([status, body], [200, { data: { restaurant: { restaurantId: 'r1', isOpen: true } } }], `${path}: ${contentType}`);
      }
    }
  });

  test('GET /graphql needs a preflight header; the GraphiQL page does not', async () => {
    for (const { path, url } of paths()) {
      const get = `${url}?query=${encodeURIComponent(query.query)}`;
      const refused = await fetch(get);
      assert.equal(refused.status, 400, path);
      assert.match(((await refused.json()) as GraphqlBody).errors?.[0]?.message ?? '', /CSRF/);
      const ok = await fetch(get, { headers: { 'apollo-require-preflight': 'true' } });
      assert.deepEqual(await ok.json(), { data: { restaurant: { restaurantId: 'r1', isOpen: true } } }, path);
      const page = await fetch(url, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 200, path);
    }
  });

  test('POST /training-set with a simple content type is refused before the export, naming the header to send', async () => {
    const json = JSON.stringify({ features: ['isOpen'], rows: [{ restaurantId: 'r1', asOf: '2026-06-01T11:30:00Z' }] });
    const csv = 'restaurantId,asOf\nr1,2026-06-01T11:30:00Z\n';
    for (const { path, url } of paths()) {
      const post = (body: string, headers: Record<string, string>) => fetch(`${baseOf(url)}/training-set?features=isOpen`, { method: 'POST', headers, body });
      for (const [contentType, body] of [['text/plain;charset=json', json], ['text/plain;csv', csv], ['text/plain', csv], ...simple.slice(2).map((c) => [c, json])] as [string, string][]) {
        const response = await post(body, { 'content-type': contentType });
        assert.equal(response.status, 400, `${path}: ${contentType}`);
        assert.notEqual(response.headers.get('content-type'), 'application/vnd.apache.parquet');
        const error = ((await response.json()) as GraphqlBody).errors?.[0];
        assert.equal(error?.extensions?.code, 'BAD_REQUEST', `${path}: ${contentType}`);
        assert.match(error?.message ?? '', /CSRF\): it has content-type .*; send content-type application\/json or text\/csv, or a non-empty apollo-require-preflight or x-apollo-operation-name header/);
      }
      const preflighted = await post(csv, { 'content-type': 'text/plain;csv', 'apollo-require-preflight': '1' });
      assert.equal(preflighted.status, 400, path);
      assert.deepEqual(((await preflighted.json()) as GraphqlBody).errors?.[0], { message: 'content-type must be application/json or text/csv, got "text/plain;csv"', extensions: { code: 'BAD_USER_INPUT' } });
      for (const [contentType, body] of [['text/csv', csv], ['text/csv; charset=utf-8', csv], ['application/json', json], ['application/json; charset=utf-8', json]]) {
        const response = await post(body as string, { 'content-type': contentType as string });
        assert.equal(response.status, 200, `${path}: ${contentType}: ${await response.clone().text()}`);
        assert.equal(response.headers.get('x-featuregraph-rows'), '1');
        await response.arrayBuffer();
      }
    }
  });

  test('a POST to any other route is refused by the same rule', async () => {
    for (const { path, url } of paths()) {
      const response = await fetch(`${baseOf(url)}/healthz`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
      assert.equal(response.status, 400, path);
      assert.match(((await response.json()) as GraphqlBody).errors?.[0]?.message ?? '', /CSRF/);
    }
  });
});

/** Two gateways over the fixture's store and clock, the fast path on in one and off in the other. */
async function pairOf(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<{ urls: { path: string; url: string }[]; close(): Promise<void> }> {
  const gateways = await Promise.all(
    [true, false].map((fastPath) => createGateway({ config: loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1', ...config } }), registry: f.registry, store: f.store, history: f.history ?? undefined, now: () => f.clock.now, fastPath, env })),
  );
  const urls = await Promise.all(gateways.map((g) => g.listen()));
  return { urls: urls.map((url, i) => ({ path: i === 0 ? 'fast path' : 'Apollo', url })), close: async () => void (await Promise.all(gateways.map((g) => g.close()))) };
}

describe('production: _service and _entities follow the federation switches', () => {
  const sdl = '{ _service { sdl } }';
  const entities = { query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Restaurant { restaurantId isOpen } } }', variables: { r: [{ __typename: 'Restaurant', restaurantId: 'r1' }] } };
  const hidden = [
    { query: '{ ...Q } fragment Q on Query { _service { sdl } }' },
    { query: '{ ... on Query { s: _service { sdl } } }' },
    { query: 'query A { featureCatalog { id } } query B { _service { sdl } }', operationName: 'B' },
  ];

  test('off by default in production, however the field is reached, on both paths', async () => {
    const pair = await pairOf({ production: true });
    try {
      for (const { path, url } of pair.urls) {
        for (const body of [{ query: sdl }, entities, ...hidden, [{ query: '{ featureCatalog { id } }' }, { query: sdl }]]) {
          const { status, body: answer } = await postGraphql(url, body);
          assert.equal(status, 403, `${path}: ${JSON.stringify(body)}`);
          assert.equal(answer.errors?.[0]?.extensions?.code, 'FORBIDDEN');
          assert.match(answer.errors?.[0]?.message ?? '', /^_(service|entities) is off on this gateway: in production it answers only when federation\.(serviceSdl|entities) is set$/);
          assert.equal(JSON.stringify(answer).includes('eta-team'), false, 'no SDL in the refusal');
        }
        const other = await postGraphql(url, { query: '{ restaurant(restaurantId: "r1") { isOpen } }' });
        assert.deepEqual(other.body, { data: { restaurant: { isOpen: true } } }, path);
      }
    } finally {
      await pair.close();
    }
  });

  test('switched on one by one; with a federation token, only requests carrying it get them', async () => {
    const sdlOnly = await pairOf({ production: true, federation: { serviceSdl: true } });
    try {
      for (const { path, url } of sdlOnly.urls) {
        const answer = await postGraphql(url, { query: sdl });
        assert.equal(answer.status, 200, path);
        assert.match((answer.body.data as { _service: { sdl: string } })._service.sdl, /type Restaurant\s+@key/);
        assert.equal((await postGraphql(url, entities)).status, 403, path);
      }
    } finally {
      await sdlOnly.close();
    }
    const token = 'a-federation-token-of-32-chars!!';
    const both = await pairOf({ production: true, federation: { serviceSdl: true, entities: true } }, { FEATUREGRAPH_FEDERATION_TOKEN: token });
    try {
      for (const { path, url } of both.urls) {
        for (const headers of [{}, { 'x-featuregraph-federation-token': 'wrong' }, { 'x-featuregraph-federation-token': `${token}x` }] as Record<string, string>[]) {
          const refused = await postGraphql(url, entities, { 'content-type': 'application/json', ...headers });
          assert.equal(refused.status, 403, `${path}: ${JSON.stringify(headers)}`);
          assert.equal(refused.body.errors?.[0]?.message, '_entities answers only requests carrying the federation token in the x-featuregraph-federation-token header');
          assert.equal(JSON.stringify(refused.body).includes(token), false);
        }
        const allowed = await postGraphql(url, entities, { 'content-type': 'application/json', 'x-featuregraph-federation-token': token });
        assert.deepEqual(allowed.body, { data: { _entities: [{ restaurantId: 'r1', isOpen: true }] } }, path);
        const withSdl = await postGraphql(url, { query: sdl }, { 'content-type': 'application/json', 'x-featuregraph-federation-token': token });
        assert.equal(withSdl.status, 200, path);
      }
    } finally {
      await both.close();
    }
  });

  test('outside production they answer anyone, unless a token is set', async () => {
    for (const { path, url } of paths()) assert.equal((await postGraphql(url, entities)).status, 200, path);
    const pair = await pairOf({}, { FEATUREGRAPH_FEDERATION_TOKEN: 'another-token-0123456789' });
    try {
      for (const { path, url } of pair.urls) assert.equal((await postGraphql(url, { query: sdl })).status, 403, path);
    } finally {
      await pair.close();
    }
  });
});

describe('the cost limit counts list sizes, aliases, argument sizes and a batch together', () => {
  const ids = Array.from({ length: 1000 }, (_, i) => `r${i}`);
  const aliases = (n: number, field: string) => Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ');

  const refusedForCost = async (url: string, body: unknown, cost: number, label: string) => {
    const before = f.gateway.fastPath!.stats.answered;
    const { status, body: answer } = await postGraphql(url, body);
    assert.equal(status, 400, label);
    assert.equal(answer.data, undefined);
    const error = answer.errors?.[0];
    assert.equal(error?.extensions?.code, 'LIMIT_EXCEEDED', label);
    assert.deepEqual([error?.extensions?.cost, error?.extensions?.limit], [cost, 60_000], label);
    assert.match(error?.message ?? '', /^this request is over the cost limit: (it costs|its \d+ operations together cost) \d+, at most 60000\. A request costs 1 per value/);
    assert.equal(f.gateway.fastPath!.stats.answered, before, `${label}: the fast path answered`);
  };

  test("the issue's batch: 10 operations x 29 aliases x 1,000 ids is refused before it runs, on both paths", async () => {
    const query = `query($ids: [ID!]!) { ${aliases(29, 'restaurants(restaurantIds: $ids) { isOpen }')} }`;
    const batch = Array.from({ length: 10 }, () => ({ query, variables: { ids } }));
    // Per alias: 1 + 3,890 characters of ids / 64, then 1,000 x (the entity + isOpen).
    for (const { path, url } of paths()) {
      await refusedForCost(url, batch, 597_917, `${path}: batch`);
    }
  });

  test('one operation of 29 aliases x 1,000 ids x 3 fields is refused on both paths (the fast path answered it)', async () => {
    const query = `query($ids: [ID!]!) { ${aliases(29, 'restaurants(restaurantIds: $ids) { restaurantId isOpen ordersLast30m }')} }`;
    for (const { path, url } of paths()) await refusedForCost(url, { query, variables: { ids } }, Math.ceil(29 * (1 + 3890 / 64 + 4000)), path);
  });

  test('training-set rows and long string arguments count too', async () => {
    const rows = Array.from({ length: 1000 }, () => ({ restaurantId: 'r1', asOf: '2026-06-01T11:30:00Z' }));
    const rowChars = 1000 * ('restaurantId'.length + 2 + 'asOf'.length + 20);
    const training = `query($rows: [RestaurantAsOfInput!]!) { ${aliases(25, 'restaurantTrainingSet(rows: $rows) { isOpen menuSize }')} }`;
    const long = 'thai '.repeat(4000);
    const search = 'query($ids: [ID!]!, $q: String!) { restaurants(restaurantIds: $ids) { queryMatch(query: $q) } }';
    for (const { path, url } of paths()) {
      await refusedForCost(url, { query: training, variables: { rows } }, Math.ceil(25 * (1 + rowChars / 64 + 1000 * 3 + (rowChars / 64) * 3)), `${path}: rows`);
      // Each entity runs queryMatch (which reads cuisineTags) over the 20,000 characters: 1,000 x (1 + 2 + 20,000 / 64).
      await refusedForCost(url, { query: search, variables: { ids, q: long } }, Math.ceil(1 + 3890 / 64 + 1000 * (1 + 2 + 20000 / 64)), `${path}: long argument`);
    }
  });

  test('GET requests are counted like POSTs', async () => {
    const query = `query($ids: [ID!]!) { ${aliases(29, 'restaurants(restaurantIds: $ids) { isOpen menuSize }')} }`;
    for (const { path, url } of paths()) {
      const response = await fetch(`${url}?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify({ ids }))}`, { headers: { 'apollo-require-preflight': '1' } });
      assert.equal(response.status, 400, path);
      assert.deepEqual(((await response.json()) as GraphqlBody).errors?.[0]?.extensions, { code: 'LIMIT_EXCEEDED', cost: Math.ceil(29 * (1 + 3890 / 64 + 3000)), limit: 60_000 });
    }
  });

  test('a normal large request is served: 1,000 ids x every Restaurant field, aliases included', async () => {
    const query = 'query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { restaurantId ordersLast30m revenueLast24h avgPrepSeconds7d isOpen menuSize cuisineTags queryMatch(query: "thai") etaMinutes(distanceKm: 2) e2: etaMinutes(distanceKm: 4) } }';
    for (const { path, url } of paths()) {
      const { status, body } = await postGraphql(url, { query, variables: { ids } });
      assert.equal(status, 200, path);
      assert.equal(body.errors, undefined, path);
      assert.equal((body.data?.restaurants as unknown[]).length, 1000);
    }
  });

  test('persisted queries (a hash instead of the text) are refused: every operation must be seen to be bounded', async () => {
    for (const { path, url } of paths()) {
      const { body } = await postGraphql(url, { extensions: { persistedQuery: { version: 1, sha256Hash: 'ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38' } }, variables: { ids } });
      assert.equal(body.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_NOT_SUPPORTED', path);
    }
  });
});
