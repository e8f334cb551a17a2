// The fast path and Apollo answer byte for byte alike, say the same in their telemetry and log the same
// served records. One store, one clock, two gateways (one with the fast path, one without), each with
// its own in-memory tracer and meter and a served-feature log that samples every request, the same
// requests: equal status, content type and body; the same spans (names, kinds, attributes, events,
// status; ids, times and the path attribute aside), the same metric increments (the path label aside)
// and the same records (their request ids aside).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, T0, type Fixture } from './fixture.js';
import { createGateway, type Gateway } from '../../gateway/server.js';
import { loadConfig } from '../../gateway/config.js';
import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import { FailingReadsStore } from '../fixtures/failing-store.js';
import { increments, memoryTelemetry, metricTotals, requestTrace, type MemoryTelemetry, type SpanShape } from '../fixtures/telemetry.js';
import { attributeNames, metricNames } from '../../schema/telemetry.js';
import type { ServedRecord } from '../../schema/served-log.js';
import { MemoryServedLog } from '../fixtures/served-log.js';

const MIN = 60_000;
let f: Fixture;
let plain: Gateway;
let plainUrl: string;
const fastTelemetry = memoryTelemetry();
const plainTelemetry = memoryTelemetry();
const fastLog = new MemoryServedLog();
const plainLog = new MemoryServedLog();

// The fixture's memory store behind a switch that makes reads fail, as in a Redis outage.
const storeClock = { now: () => T0 };
const store = new FailingReadsStore(new MemoryOnlineStore({ now: () => storeClock.now() }));

before(async () => {
  f = await startFixture({ store, telemetry: fastTelemetry.telemetry, servedLog: fastLog });
  storeClock.now = () => f.clock.now;
  for (let i = 1; i <= 30; i++) await f.order(`r${(i % 7) + 1}`, `u${i % 5}`, T0 - i * MIN, i * 1.25);
  // Two huge orders: the 24-hour revenue overflows to Infinity, which no GraphQL Float can carry.
  await f.order('rinf', 'u1', T0 - 3 * MIN, 1.7976931348623157e308);
  await f.order('rinf', 'u1', T0 - 4 * MIN, 1.7976931348623157e308);
  f.rows.restaurants.upsert({ key: 'r1', eventTime: T0 - 2 * MIN, values: { isOpen: true, menuSize: 42, cuisineTags: ['thai', 'noodles'], city: 'Berlin' } });
  f.rows.restaurants.upsert({ key: 'r2', eventTime: T0 - 20 * MIN, values: { isOpen: false, menuSize: 12, cuisineTags: [] } });
  f.rows.restaurant_prep_stats.upsert({ key: 'r1', eventTime: T0 - 30 * MIN, values: { AVG_PREP_SECONDS_7D: 612.5 } });
  f.rows.users.upsert({ key: 'u1', eventTime: T0 - 5 * MIN, values: { favoriteCuisine: 'thaï "quoted" \u2028', country: 'DE' } });
  await f.refreshRows();
  // Watermarks that make featureMeta say PRESENT (orders, applied up to 20 s ago; a 1m SLA) and STALE
  // (profiles, 10 minutes ago; a 5m SLA) at T0, and stale or not as the clock moves; users' views have none.
  // (A part of their own, so that whatever else publishes for these views, the least part is this one.)
  await f.store.publishWatermarks('restaurant_order_activity', { e2e: T0 - 20_000 }, T0);
  await f.store.publishWatermarks('restaurant_profile', { e2e: T0 - 10 * MIN }, T0);
  plain = await createGateway({ config: loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1' } }), registry: f.registry, store: f.store, history: f.history ?? undefined, now: () => f.clock.now, fastPath: false, telemetry: plainTelemetry.telemetry, servedLog: plainLog });
  plainUrl = await plain.listen();
});
after(async () => {
  await plain.close();
  await f.close();
  await Promise.all([fastTelemetry.close(), plainTelemetry.close()]);
});

const ids = (n: number) => Array.from({ length: n }, (_, i) => `r${i + 1}`);

/** `logged: false`: the answer holds no online entity (asOf reads, training sets, refusals), so nothing is logged. */
const requests: { name: string; body: Record<string, unknown>; fast: boolean; logged?: false; headers?: Record<string, string> }[] = [
  { name: 'one entity', body: { query: '{ restaurant(restaurantId: "r1") { restaurantId ordersLast30m revenueLast24h avgPrepSeconds7d isOpen menuSize cuisineTags } }' }, fast: true },
  { name: 'a list with unknown ids', body: { query: 'query Q($ids: [ID!]!) { restaurants(restaurantIds: $ids) { restaurantId ordersLast30m isOpen cuisineTags } }', variables: { ids: [...ids(9), 'nope'] } }, fast: true },
  { name: 'aliases, __typename and two roots', body: { query: '{ a: restaurant(restaurantId: "r2") { __typename id: restaurantId n: ordersLast30m } users(userIds: ["u1", "u2"]) { userId favoriteCuisine ordersLast24h } }' }, fast: true },
  { name: 'request-time features with literal and variable arguments', body: { query: 'query($q: String!, $d: Float!) { restaurants(restaurantIds: ["r1", "r2", "r3", "zz"]) { queryMatch(query: $q) etaMinutes(distanceKm: $d) e2: etaMinutes(distanceKm: 2) } }', variables: { q: 'thai soup', d: 4.2 } }, fast: true },
  { name: 'an int variable coerced to an ID', body: { query: 'query($id: ID!) { restaurant(restaurantId: $id) { restaurantId } }', variables: { id: 7 } }, fast: true },
  { name: 'a named operation among several', body: { query: 'query A { restaurant(restaurantId: "r1") { isOpen } } query B { restaurant(restaurantId: "r2") { isOpen } }', operationName: 'B' }, fast: true },
  { name: 'mode EVENT_TIME without asOf', body: { query: '{ restaurant(restaurantId: "r1", mode: EVENT_TIME) { ordersLast30m } }' }, fast: true },
  { name: 'a sum that overflowed (left to Apollo, which reports it)', body: { query: '{ restaurant(restaurantId: "rinf") { restaurantId ordersLast30m revenueLast24h } }' }, fast: false },
  { name: 'featureMeta', body: { query: '{ restaurant(restaurantId: "r1") { featureMeta { isOpen { status ageMs } } } }' }, fast: true },
  {
    name: 'featureMeta of every field, STALE and PRESENT by watermark, aliases and __typename, with values and request-time features',
    body: { query: '{ restaurants(restaurantIds: ["r1", "r2", "nope"]) { restaurantId isOpen featureMeta { __typename isOpen { __typename feature status value eventTime availableTime ageMs watermark freshnessMs } o: ordersLast30m { status value watermark freshnessMs ageMs } avgPrepSeconds7d { status watermark value } cuisineTags { value status } } etaMinutes(distanceKm: 1) } }' },
    fast: true,
  },
  { name: 'featureMeta of views without a watermark', body: { query: '{ users(userIds: ["u1", "u2"]) { featureMeta { favoriteCuisine { status watermark value } ordersLast24h { status ageMs eventTime } } } }' }, fast: true },
  { name: 'featureMeta of a sum that overflowed (the JSON value carries no Infinity)', body: { query: '{ restaurant(restaurantId: "rinf") { featureMeta { revenueLast24h { value status } } } }' }, fast: true },
  { name: 'featureMeta twice under aliases', body: { query: '{ restaurant(restaurantId: "r2") { a: featureMeta { isOpen { status } } b: featureMeta { menuSize { watermark } } } }' }, fast: true },
  { name: 'featureMeta with a fragment (left to Apollo)', body: { query: '{ restaurant(restaurantId: "r1") { featureMeta { isOpen { ...M } } } } fragment M on FeatureValueMeta { status }' }, fast: false },
  { name: 'a fragment (left to Apollo)', body: { query: '{ restaurant(restaurantId: "r1") { ...F } } fragment F on Restaurant { isOpen }' }, fast: false },
  { name: 'asOf (left to Apollo)', body: { query: '{ restaurant(restaurantId: "r1", asOf: "2026-06-01T11:50:00Z") { isOpen ordersLast30m } }' }, fast: false, logged: false },
  { name: 'asOf in a variable, SERVED (left to Apollo)', body: { query: 'query($t: DateTime) { restaurants(restaurantIds: ["r1", "r2"], asOf: $t, mode: SERVED) { isOpen ordersLast30m etaMinutes(distanceKm: 2) } }', variables: { t: '2026-06-01T11:59:00Z' } }, fast: false, logged: false },
  { name: 'a training set (left to Apollo)', body: { query: '{ restaurantTrainingSet(rows: [{ restaurantId: "r1", asOf: "2026-06-01T11:59:00Z", inputs: { etaMinutes: { distanceKm: 3 } } }]) { ordersLast30m etaMinutes(distanceKm: 1) } }' }, fast: false, logged: false },
  { name: 'asOf without an offset, read as UTC (left to Apollo)', body: { query: '{ restaurant(restaurantId: "r1", asOf: "2026-06-01 11:50:00") { isOpen ordersLast30m } }' }, fast: false, logged: false },
  { name: 'asOf as fractional epoch ms in a literal and a variable (left to Apollo)', body: { query: 'query($t: DateTime) { a: restaurant(restaurantId: "r1", asOf: 1780314600000.5) { ordersLast30m } b: restaurant(restaurantId: "r1", asOf: $t) { ordersLast30m } }', variables: { t: 1780314600000.5 } }, fast: false, logged: false },
  { name: 'asOf a day its month lacks, literal (refused)', body: { query: '{ restaurant(restaurantId: "r1", asOf: "2026-02-30T00:00:00Z") { isOpen } }' }, fast: false, logged: false },
  { name: 'asOf a day its month lacks, variable (refused)', body: { query: 'query($t: DateTime) { restaurant(restaurantId: "r1", asOf: $t) { isOpen } }', variables: { t: '2026-02-30T00:00:00Z' } }, fast: false, logged: false },
  { name: 'asOf in the future (left to Apollo)', body: { query: '{ restaurant(restaurantId: "r1", asOf: "2027-01-01T00:00:00Z") { isOpen } }' }, fast: false, logged: false },
  { name: 'a request-time feature that throws', body: { query: '{ restaurant(restaurantId: "r1") { etaMinutes(distanceKm: 500) } }' }, fast: false },
  { name: 'too many ids', body: { query: 'query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { isOpen } }', variables: { ids: ids(1001) } }, fast: false, logged: false },
  { name: 'a variable of the wrong type', body: { query: 'query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { isOpen } }', variables: { ids: [{}] } }, fast: false, logged: false },
  { name: 'a missing variable', body: { query: 'query($id: ID!) { restaurant(restaurantId: $id) { isOpen } }' }, fast: false, logged: false },
  { name: 'an unknown field', body: { query: '{ restaurant(restaurantId: "r1") { isClosed } }' }, fast: false, logged: false },
  { name: 'a syntax error', body: { query: '{ restaurant(' }, fast: false, logged: false },
  { name: 'a directive', body: { query: '{ restaurant(restaurantId: "r1") { isOpen @include(if: true) } }' }, fast: false },
  { name: 'a mutation', body: { query: 'mutation { x }' }, fast: false, logged: false },
  { name: 'a simple content type (CSRF)', body: { query: '{ restaurant(restaurantId: "r1") { isOpen } }' }, fast: false, logged: false, headers: { 'content-type': 'text/plain;charset=json' } },
  { name: 'a simple content type with a preflight header', body: { query: '{ restaurant(restaurantId: "r1") { isOpen } }' }, fast: false, logged: false, headers: { 'content-type': 'text/plain;charset=json', 'apollo-require-preflight': '1' } },
  { name: 'application/json with parameters', body: { query: '{ restaurant(restaurantId: "r1") { isOpen } }' }, fast: true, headers: { 'content-type': 'Application/JSON; charset=utf-8' } },
  { name: 'over the cost limit (refused before either path)', body: { query: `query($ids: [ID!]!) { ${Array.from({ length: 20 }, (_, i) => `a${i}: restaurants(restaurantIds: $ids) { isOpen menuSize }`).join(' ')} }`, variables: { ids: ids(1000) } }, fast: false, logged: false },
  { name: 'keys named after prototype properties', body: { query: 'query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { restaurantId isOpen etaMinutes(distanceKm: 1) } }', variables: { ids: ['__proto__', 'constructor', 'toString', 'r1'] } }, fast: true },
  { name: 'federation fields (on outside production)', body: { query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Restaurant { restaurantId isOpen } } }', variables: { r: [{ __typename: 'Restaurant', restaurantId: 'r1' }] } }, fast: false },
];

/**
 * A request's records with their ids' request part taken out, after checking that it is one id per
 * request and the places count 0, 1, ... (an entity whose read failed leaves its place empty).
 */
function withoutRequestId(records: readonly ServedRecord[]): (Omit<ServedRecord, 'id'> & { place: number })[] {
  const requestIds = new Set<string>();
  let last = -1;
  const out = records.map(({ id, ...record }) => {
    const match = /^([0-9a-f-]{36}):(\d+)$/.exec(id);
    assert.ok(match, `record id ${id}`);
    requestIds.add(match[1] as string);
    const place = Number(match[2]);
    assert.ok(place > last, `places in answer order: ${place} after ${last}`);
    last = place;
    return { ...record, place };
  });
  assert.ok(requestIds.size <= 1, `one request id: ${[...requestIds].join(', ')}`);
  return out;
}

for (const { name, body, fast, logged: logs = true, headers = { 'content-type': 'application/json' } } of requests) {
  test(`same answer from both paths: ${name}`, async () => {
    const send = (url: string) => fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    const before = { ...f.gateway.fastPath!.stats };
    fastLog.take();
    plainLog.take();
    const [a, b] = await Promise.all([send(f.url), send(plainUrl)]);
    const [ta, tb] = await Promise.all([a.text(), b.text()]);
    assert.equal(a.status, b.status);
    assert.equal(a.headers.get('content-type'), b.headers.get('content-type'));
    assert.equal(a.headers.get('cache-control'), b.headers.get('cache-control'));
    assert.equal(ta, tb);
    assert.equal(f.gateway.fastPath!.stats.answered - before.answered, fast ? 1 : 0, fast ? 'the fast path answered' : 'Apollo answered');
    const [logged, plainLogged] = [withoutRequestId(fastLog.take()), withoutRequestId(plainLog.take())];
    assert.deepEqual(logged, plainLogged);
    assert.equal(logged.length > 0, logs, logs ? 'records logged' : 'nothing logged');
  });
}

test('same answers and records as time passes (windows decay, values turn STALE and EXPIRED identically)', async () => {
  const query = { query: `{ restaurants(restaurantIds: ${JSON.stringify(ids(8))}) { ordersLast30m revenueLast24h isOpen etaMinutes(distanceKm: 3) featureMeta { ordersLast30m { status ageMs } isOpen { status } } } }` };
  for (const offset of [0, 40_000, 40_001, 7 * MIN, 29 * MIN, 3 * 24 * 60 * MIN]) {
    f.clock.now = T0 + offset;
    fastLog.take();
    plainLog.take();
    const send = (url: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(query) }).then((r) => r.text());
    assert.equal(await send(f.url), await send(plainUrl), `at +${offset / MIN} min`);
    const logged = withoutRequestId(fastLog.take());
    assert.deepEqual(logged, withoutRequestId(plainLog.take()), `at +${offset / MIN} min`);
    assert.equal(logged.length, 8);
  }
  f.clock.now = T0;
});

test('a record holds every feature field of the answer once (aliases and featureMeta add none), request-time inputs and segments, read at the answer\'s instant', async () => {
  fastLog.take();
  const query = '{ r: restaurant(restaurantId: "r1") { restaurantId isOpen o: ordersLast30m ordersLast30m etaMinutes(distanceKm: 2) e5: etaMinutes(distanceKm: 5) featureMeta { menuSize { status } } } users(userIds: ["u1", "nope"]) { favoriteCuisine } }';
  const { body } = await f.query<{ r: { isOpen: boolean; o: number; etaMinutes: number }; users: { favoriteCuisine: string | null }[] }>(query);
  assert.equal(body.errors, undefined);
  const data = body.data!;
  const records = fastLog.take();
  assert.deepEqual(withoutRequestId(records), [
    {
      place: 0,
      at: T0,
      entity: 'Restaurant',
      key: 'r1',
      segments: { city: 'Berlin' },
      // The profile's watermark is 10 minutes old, past its 5-minute SLA: STALE; orders' is fresh.
      features: { isOpen: { value: true, status: 'STALE' }, ordersLast30m: { value: data.r.o, status: 'PRESENT' }, etaMinutes: { value: data.r.etaMinutes, status: 'PRESENT' } },
      inputs: { etaMinutes: { distanceKm: 2 } },
    },
    { place: 1, at: T0, entity: 'User', key: 'u1', segments: { country: 'DE' }, features: { favoriteCuisine: { value: data.users[0]!.favoriteCuisine, status: 'PRESENT' } }, inputs: {} },
    { place: 2, at: T0, entity: 'User', key: 'nope', segments: { country: null }, features: { favoriteCuisine: { value: null, status: 'MISSING' } }, inputs: {} },
  ]);
  assert.equal(f.gateway.fastPath!.stats.answered > 0, true);
});

/** A trace without what tells the paths apart: the operation span's featuregraph.path. */
function withoutPath(shape: SpanShape): SpanShape {
  const { [attributeNames.path]: path, ...attributes } = shape.attributes;
  if (path !== undefined) assert.ok(path === 'fast' || path === 'apollo', `featuregraph.path is ${String(path)}`);
  return { ...shape, attributes, children: shape.children.map(withoutPath) };
}

/** The metrics both paths must move alike; durations by count (their sums are times), value ages with their sums. */
const comparedMetrics = [metricNames.featureReads, metricNames.featureValueAge, metricNames.requestDuration, metricNames.storeCallDuration, metricNames.storeErrors];
const totals = (m: MemoryTelemetry) => metricTotals(m, comparedMetrics, { ignored: ['path'], withSums: [metricNames.featureValueAge] });

/** Sends the request to each gateway in turn; the trace and metric increments of each. */
async function telemetryOf(send: (url: string) => Promise<Response>): Promise<{ fast: { trace: SpanShape; metrics: Record<string, number> }; plain: { trace: SpanShape; metrics: Record<string, number> } }> {
  const one = async (url: string, m: MemoryTelemetry) => {
    m.clearSpans();
    const before = await totals(m);
    await (await send(url)).text();
    const trace = await requestTrace(m);
    return { trace, metrics: increments(before, await totals(m)) };
  };
  return { fast: await one(f.url, fastTelemetry), plain: await one(plainUrl, plainTelemetry) };
}

for (const { name, body, fast, headers = { 'content-type': 'application/json' } } of requests) {
  test(`same spans and metric increments from both paths: ${name}`, async () => {
    const before = { ...f.gateway.fastPath!.stats };
    const { fast: a, plain: b } = await telemetryOf((url) => fetch(url, { method: 'POST', headers, body: JSON.stringify(body) }));
    assert.equal(f.gateway.fastPath!.stats.answered - before.answered, fast ? 1 : 0, fast ? 'the fast path answered' : 'Apollo answered');
    assert.deepEqual(withoutPath(a.trace), withoutPath(b.trace));
    assert.deepEqual(a.metrics, b.metrics);
    const operation = a.trace.children.find((child) => child.attributes[attributeNames.path] !== undefined);
    if (operation) assert.equal(operation.attributes[attributeNames.path], fast ? 'fast' : 'apollo');
  });
}

test('same spans and metric increments from both paths as time passes (ages, expiry, retention)', async () => {
  const query = JSON.stringify({ query: `{ restaurants(restaurantIds: ${JSON.stringify([...ids(8), 'nope'])}) { ordersLast30m revenueLast24h isOpen menuSize avgPrepSeconds7d } }` });
  for (const offset of [0, 7 * MIN, 29 * MIN, 3 * 24 * 60 * MIN, 40 * 24 * 60 * MIN]) {
    f.clock.now = T0 + offset;
    const { fast: a, plain: b } = await telemetryOf((url) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: query }));
    assert.deepEqual(withoutPath(a.trace), withoutPath(b.trace), `at +${offset / MIN} min`);
    assert.deepEqual(a.metrics, b.metrics, `at +${offset / MIN} min`);
  }
  f.clock.now = T0;
});

test('featureMeta while the store fails: Apollo answers, from the fast path\'s one read', async () => {
  store.fail('read: command timed out after 75 ms');
  try {
    const body = JSON.stringify({ query: '{ restaurants(restaurantIds: ["r1", "r2"]) { restaurantId featureMeta { isOpen { status } } } }' });
    const send = (url: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const before = { ...f.gateway.fastPath!.stats };
    const reads = store.reads;
    const a = await send(f.url);
    assert.equal(store.reads - reads, 1, 'read once');
    assert.deepEqual(a, await send(plainUrl));
    assert.match(a.text, /"code":"ONLINE_STORE_UNAVAILABLE"/);
    assert.equal(f.gateway.fastPath!.stats.declined - before.declined, 1, 'Apollo answered');
  } finally {
    store.heal();
  }
});

// A failed store read: the fast path answers it with the errors Apollo gives (one per field path, with
// its count), and both paths read the store once.
const duringOutage: { name: string; body: Record<string, unknown> }[] = [
  { name: 'one entity', body: { query: '{ restaurant(restaurantId: "r1") { restaurantId ordersLast30m avgPrepSeconds7d isOpen } }' } },
  { name: 'a list with request-time features and aliases', body: { query: 'query($ids: [ID!]!, $d: Float!) { restaurants(restaurantIds: $ids) { __typename restaurantId n: ordersLast30m etaMinutes(distanceKm: $d) queryMatch(query: "thai") cuisineTags } }', variables: { ids: [...ids(12), 'r3', 'nope'], d: 2.5 } } },
  { name: 'two roots, one an empty list, on several lines', body: { query: '{\n  a: restaurants(restaurantIds: []) { isOpen }\n  users(userIds: ["u1", "u2", "u3"]) {\n    userId\n    favoriteCuisine ordersLast24h\n  }\n  b: restaurant(restaurantId: "r2") { restaurantId }\n}' } },
];

for (const { name, body } of duringOutage) {
  test(`same answer from both paths while the store fails: ${name}`, async () => {
    store.fail('read: command timed out after 75 ms');
    fastLog.take();
    plainLog.take();
    try {
      const send = (url: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const before = { ...f.gateway.fastPath!.stats };
      const reads = store.reads;
      const a = await send(f.url);
      assert.equal(store.reads - reads, 1, 'the fast path read once');
      const b = await send(plainUrl);
      assert.equal(store.reads - reads, 2, 'Apollo read once');
      const [ta, tb] = await Promise.all([a.text(), b.text()]);
      assert.equal(a.status, b.status);
      assert.equal(a.headers.get('content-type'), b.headers.get('content-type'));
      assert.equal(ta, tb);
      assert.match(ta, /"code":"ONLINE_STORE_UNAVAILABLE"/);
      assert.equal(f.gateway.fastPath!.stats.answered - before.answered, 1, 'the fast path answered');
      const telemetry = await telemetryOf(send);
      assert.deepEqual(withoutPath(telemetry.fast.trace), withoutPath(telemetry.plain.trace));
      assert.deepEqual(telemetry.fast.metrics, telemetry.plain.metrics);
      assert.equal(telemetry.fast.metrics[`${metricNames.storeErrors}{store=online}`], 1);
      // Nothing was served from the store: neither path logs the answer.
      assert.deepEqual([fastLog.take(), plainLog.take()], [[], []]);
    } finally {
      store.heal();
    }
  });
}
