// asOf lookups and training sets over GraphQL, against the reference point-in-time semantics
// (pointInTimeReads) and against brute force: both modes, featureMeta, ttl, request-time features with
// a row's inputs, one history read per level, errors; and a property test that tries to make a value
// from after asOf appear.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, T0, type Fixture } from './fixture.js';
import { MemoryHistoryStore } from '../../adapters/history/memory/index.js';
import { changesByKey, pointInTimeReads } from '../../adapters/history/point-in-time.js';
import type { HistoryRecord, HistoryStore, PointInTimeQuery, PointInTimeRow, TimeMode } from '../../adapters/history/types.js';
import type { FeatureRead } from '../../schema/snapshot.js';
import type { FeatureValue } from '../../schema/types.js';
import { computeRequestFeature } from '../../schema/request-features.js';
import { random } from '../../examples/food-delivery/demo.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();
const stored = ['ordersLast30m', 'revenueLast24h', 'avgPrepSeconds7d', 'isOpen', 'menuSize', 'cuisineTags'] as const;

let seq = 0;
function order(key: string, eventTime: number, availableTime: number, totalPrice = 10): HistoryRecord {
  const orderId = `o${++seq}`;
  return { view: 'restaurant_order_activity', key, id: `orders:0:${seq}`, eventTime, availableTime, values: { orderId, restaurantId: key, userId: 'u1', createdAt: iso(eventTime), totalPrice, cuisine: 'thai' } };
}
function profile(key: string, eventTime: number, availableTime: number, values: { isOpen: boolean; menuSize: number; cuisineTags: string[] }): HistoryRecord {
  return { view: 'restaurant_profile', key, id: `${key}:${eventTime}:${++seq}`, eventTime, availableTime, values };
}
function prep(key: string, eventTime: number, availableTime: number, avgPrepSeconds7d: number): HistoryRecord {
  return { view: 'restaurant_prep', key, id: `${key}:${eventTime}`, eventTime, availableTime, values: { avgPrepSeconds7d } };
}

/** What GraphQL should answer for one entity at (asOf, mode): the reference reads, shaped as the response. */
function expected(f: Fixture, records: readonly HistoryRecord[], key: string, asOf: number, mode: TimeMode, extra: (reads: Map<string, FeatureRead>) => Record<string, unknown> = () => ({})): Record<string, unknown> {
  const entity = f.registry.entity('Restaurant');
  const features = stored.map((name) => entity.features.get(name)!);
  const query: PointInTimeQuery = { features, mode };
  const [row] = pointInTimeReads(query, [{ key, asOf }], (view) => changesByKey(records.filter((r) => r.view === view.name)));
  const reads = new Map((row as FeatureRead[]).map((read) => [read.feature, read]));
  const out: Record<string, unknown> = { restaurantId: key };
  for (const name of stored) out[name] = reads.get(name)!.value;
  out.featureMeta = Object.fromEntries(['ordersLast30m', 'isOpen', 'avgPrepSeconds7d'].map((name) => {
    const read = reads.get(name)!;
    return [name, { status: read.status, eventTime: read.eventTime === null ? null : iso(read.eventTime), ageMs: read.ageMs }];
  }));
  return { ...out, ...extra(reads) };
}

const selection = `restaurantId ${stored.join(' ')} featureMeta { ordersLast30m { status eventTime ageMs } isOpen { status eventTime ageMs } avgPrepSeconds7d { status eventTime ageMs } }`;

/** A history store that counts readAsOf calls. */
function counting(store: HistoryStore): HistoryStore & { calls: PointInTimeRow[][] } {
  const calls: PointInTimeRow[][] = [];
  return Object.assign(Object.create(store) as HistoryStore, {
    calls,
    readAsOf(query: PointInTimeQuery, rows: readonly PointInTimeRow[]) {
      calls.push([...rows]);
      return store.readAsOf(query, rows);
    },
  });
}

describe('asOf reads through GraphQL', () => {
  let f: Fixture;
  let history: ReturnType<typeof counting>;
  const records: HistoryRecord[] = [];
  before(async () => {
    history = counting(new MemoryHistoryStore());
    f = await startFixture({ history });
    // r1: orders every 7 minutes over the last 3 hours, each readable 2 minutes after it happened, and
    // a 20-minute materializer outage (T0-90m..T0-70m) during which nothing became readable.
    for (let t = T0 - 3 * HOUR; t < T0; t += 7 * MIN) {
      const lag = t > T0 - 90 * MIN && t < T0 - 70 * MIN ? T0 - 70 * MIN - t : 2 * MIN;
      records.push(order('r1', t, t + lag, 5 + (t / MIN) % 13));
    }
    records.push(order('r2', T0 - 45 * MIN, T0 - 44 * MIN), order('r2', T0 - 10 * MIN, T0 - 9 * MIN));
    // r3's only order is 3 days old: past the view's 2-day ttl at T0 (EXPIRED), not 10 minutes after it.
    records.push(order('r3', T0 - 3 * 24 * HOUR, T0 - 3 * 24 * HOUR + MIN));
    records.push(
      profile('r1', T0 - 5 * HOUR, T0 - 5 * HOUR + 30_000, { isOpen: true, menuSize: 40, cuisineTags: ['thai', 'noodles'] }),
      profile('r1', T0 - 60 * MIN, T0 - 50 * MIN, { isOpen: false, menuSize: 41, cuisineTags: ['thai', 'noodles'] }),
      profile('r2', T0 - 2 * HOUR, T0 - 2 * HOUR, { isOpen: true, menuSize: 12, cuisineTags: ['pizza'] }),
    );
    for (let h = 6; h >= 1; h--) records.push(prep('r1', T0 - h * HOUR, T0 - h * HOUR + 30 * MIN, 600 + h * 10));
    await history.append(records);
  });
  after(() => f.close());

  for (const mode of ['EVENT_TIME', 'SERVED'] as const) {
    test(`restaurants(asOf, mode: ${mode}) equals the reference at every instant, featureMeta included`, async () => {
      const ids = ['r1', 'r2', 'r3', 'nope'];
      for (const asOf of [T0, T0 - 1, T0 - 30 * MIN, T0 - 71 * MIN, T0 - 80 * MIN, T0 - 2 * HOUR - 1, T0 - 5 * HOUR, T0 - 2 * 24 * HOUR]) {
        const { status, body } = await f.query(`query($ids: [ID!]!, $asOf: DateTime, $mode: TimeMode) { restaurants(restaurantIds: $ids, asOf: $asOf, mode: $mode) { ${selection} } }`, { ids, asOf: iso(asOf), mode });
        assert.equal(status, 200);
        assert.equal(body.errors, undefined, JSON.stringify(body.errors));
        assert.deepEqual(body.data, { restaurants: ids.map((id) => expected(f, records, id, asOf, mode)) }, `asOf ${iso(asOf)}`);
      }
    });
  }

  test('SERVED shows the outage: values that had happened but were not yet readable are absent', async () => {
    const asOf = T0 - 71 * MIN;
    const ask = async (mode: TimeMode) => ((await f.query(`{ restaurant(restaurantId: "r1", asOf: "${iso(asOf)}", mode: ${mode}) { ordersLast30m featureMeta { ordersLast30m { eventTime } } } }`)).body.data as { restaurant: { ordersLast30m: number; featureMeta: { ordersLast30m: { eventTime: string } } } }).restaurant;
    const [event, served] = [await ask('EVENT_TIME'), await ask('SERVED')];
    assert.equal(event.ordersLast30m, 4, 'orders at -96, -89, -82 and -75 minutes');
    assert.equal(served.ordersLast30m, 1, 'only the one readable before the outage began');
    assert.ok(Date.parse(served.featureMeta.ordersLast30m.eventTime) < Date.parse(event.featureMeta.ordersLast30m.eventTime));
  });

  test('values past the ttl at asOf are null with status EXPIRED; within it at an earlier asOf they are present', async () => {
    const ask = async (asOf: number) => (await f.query(`{ restaurant(restaurantId: "r3", asOf: "${iso(asOf)}") { revenueLast24h featureMeta { revenueLast24h { status value ageMs } } } }`)).body.data;
    assert.deepEqual(await ask(T0), { restaurant: { revenueLast24h: null, featureMeta: { revenueLast24h: { status: 'EXPIRED', value: null, ageMs: 3 * 24 * HOUR } } } });
    assert.deepEqual(await ask(T0 - 3 * 24 * HOUR + 10 * MIN), { restaurant: { revenueLast24h: 10, featureMeta: { revenueLast24h: { status: 'PRESENT', value: 10, ageMs: 10 * MIN } } } });
  });

  test('a training set: rows in order, each at its own instant, request-time features from the row inputs', async () => {
    const rows = [
      { restaurantId: 'r1', asOf: iso(T0 - 80 * MIN), inputs: { queryMatch: { query: 'thai curry' }, etaMinutes: { distanceKm: 3 } } },
      { restaurantId: 'r1', asOf: iso(T0), inputs: { etaMinutes: { distanceKm: 10 } } },
      { restaurantId: 'r2', asOf: iso(T0 - 30 * MIN), inputs: { queryMatch: { query: 'pizza' } } },
      { restaurantId: 'nope', asOf: iso(T0 - HOUR) },
      { restaurantId: 'r1', asOf: iso(T0 - 80 * MIN), inputs: { queryMatch: { query: 'thai curry' }, etaMinutes: { distanceKm: 3 } } },
    ];
    const entity = f.registry.entity('Restaurant');
    for (const mode of ['SERVED', 'EVENT_TIME'] as const) {
      history.calls.length = 0;
      const { body } = await f.query(`query($rows: [RestaurantAsOfInput!]!, $mode: TimeMode) { restaurantTrainingSet(rows: $rows, mode: $mode) { ${selection} queryMatch(query: "burgers") etaMinutes(distanceKm: 1) } }`, { rows, mode });
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      const want = rows.map((row) =>
        expected(f, records, row.restaurantId, Date.parse(row.asOf), mode, (reads) => {
          const value = (name: string) => reads.get(name)!.value as FeatureValue;
          const missing = (names: string[]) => names.every((n) => reads.get(n)!.status === 'MISSING');
          const query = (row.inputs as { queryMatch?: { query: string } } | undefined)?.queryMatch?.query ?? 'burgers';
          const distanceKm = (row.inputs as { etaMinutes?: { distanceKm: number } } | undefined)?.etaMinutes?.distanceKm ?? 1;
          return {
            queryMatch: missing(['cuisineTags']) ? null : computeRequestFeature(entity.requestFeatures.get('queryMatch')!, { query }, { cuisineTags: value('cuisineTags') }),
            etaMinutes: missing(['avgPrepSeconds7d', 'ordersLast30m']) ? null : computeRequestFeature(entity.requestFeatures.get('etaMinutes')!, { distanceKm }, { avgPrepSeconds7d: value('avgPrepSeconds7d'), ordersLast30m: value('ordersLast30m') }),
          };
        }),
      );
      assert.deepEqual(body.data, { restaurantTrainingSet: want }, mode);
      assert.equal(history.calls.length, 1, 'one history read for the whole training set');
      assert.equal(history.calls[0]?.length, 4, 'rows asked once per distinct (key, asOf)');
    }
  });

  test('the default mode of a training set is SERVED, of a lookup EVENT_TIME', async () => {
    const asOf = iso(T0 - 71 * MIN);
    const set = await f.query(`{ restaurantTrainingSet(rows: [{ restaurantId: "r1", asOf: "${asOf}" }]) { ordersLast30m } }`);
    const one = await f.query(`{ restaurant(restaurantId: "r1", asOf: "${asOf}") { ordersLast30m } }`);
    assert.deepEqual([set.body.data, one.body.data], [{ restaurantTrainingSet: [{ ordersLast30m: 1 }] }, { restaurant: { ordersLast30m: 4 } }]);
  });

  test('a request-time field keeps its own arguments on asOf lookups', async () => {
    const asOf = T0 - 80 * MIN;
    const { body } = await f.query(`{ restaurant(restaurantId: "r1", asOf: "${iso(asOf)}") { queryMatch(query: "noodles") etaMinutes(distanceKm: 5) } }`);
    const reads = new Map((pointInTimeReads({ features: [...f.registry.entity('Restaurant').features.values()], mode: 'EVENT_TIME' }, [{ key: 'r1', asOf }], (view) => changesByKey(records.filter((r) => r.view === view.name)))[0] as FeatureRead[]).map((r) => [r.feature, r.value]));
    const eta = Math.round(((reads.get('avgPrepSeconds7d') as number) / 60 * (1 + (reads.get('ordersLast30m') as number) / 60) + 12 + 3) * 10) / 10;
    assert.deepEqual(body.data, { restaurant: { queryMatch: 1, etaMinutes: eta } });
  });

  test('aliased roots of one level in two modes are one history read per mode', async () => {
    history.calls.length = 0;
    const { body } = await f.query(`{ a: restaurants(restaurantIds: ["r1", "r2"], asOf: "${iso(T0 - HOUR)}", mode: SERVED) { isOpen ordersLast30m } b: restaurants(restaurantIds: ["r1", "r2", "r3"], asOf: "${iso(T0 - HOUR)}") { isOpen avgPrepSeconds7d } }`);
    assert.equal(body.errors, undefined);
    assert.equal(history.calls.length, 2);
  });

  test('asOf after the request\'s now is an error naming the instant', async () => {
    const later = iso(T0 + 1);
    const one = await f.query(`{ restaurant(restaurantId: "r1", asOf: "${later}") { isOpen } }`);
    assert.equal(one.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.equal(one.body.errors?.[0]?.message, `restaurant: asOf ${later} is in the future (now is ${iso(T0)}); features of an instant exist only once it has passed`);
    const set = await f.query(`{ restaurantTrainingSet(rows: [{ restaurantId: "r1", asOf: "${iso(T0)}" }, { restaurantId: "r2", asOf: "${later}" }]) { isOpen } }`);
    assert.equal(set.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(set.body.errors?.[0]?.message ?? '', new RegExp(`^restaurantTrainingSet row 1: asOf ${later.replace(/\./g, '\\.')} is in the future`));
  });

  test('bad row inputs are refused, naming the row, the feature and the argument', async () => {
    const ask = async (inputs: unknown) => (await f.query(`query($rows: [RestaurantAsOfInput!]!) { restaurantTrainingSet(rows: $rows) { isOpen } }`, { rows: [{ restaurantId: 'r1', asOf: iso(T0) }, { restaurantId: 'r1', asOf: iso(T0), inputs }] })).body.errors?.[0];
    assert.deepEqual(await ask({ etaMinutes: { distanceKm: 'far' } }), { message: 'restaurantTrainingSet row 1: etaMinutes.distanceKm must be a Float!, got "far"', locations: [{ line: 1, column: 41 }], path: ['restaurantTrainingSet'], extensions: { code: 'BAD_USER_INPUT' } });
    assert.match((await ask({ isOpen: {} }))?.message ?? '', /row 1: "isOpen" is not a request-time feature of Restaurant; inputs are keyed by etaMinutes, queryMatch/);
    assert.match((await ask({ queryMatch: { text: 'x' } }))?.message ?? '', /row 1: queryMatch has no argument "text"; its arguments: query: String!/);
    assert.match((await ask([1]))?.message ?? '', /row 1: inputs must be an object keyed by request-time feature/);
  });

  test('more rows than a field may ask for is LIMIT_EXCEEDED', async () => {
    const rows = Array.from({ length: 1001 }, () => ({ restaurantId: 'r1', asOf: iso(T0) }));
    const { body } = await f.query(`query($rows: [RestaurantAsOfInput!]!) { restaurantTrainingSet(rows: $rows) { isOpen } }`, { rows });
    assert.equal(body.errors?.[0]?.extensions?.code, 'LIMIT_EXCEEDED');
  });

  test('materialized changes land in history with the clock as availableTime, and read back', async () => {
    f.clock.now = T0 - 20 * MIN;
    await f.order('r9', 'u1', T0 - 25 * MIN, 12);
    f.clock.now = T0;
    const ask = async (asOf: number, mode: TimeMode) => (await f.query(`{ restaurant(restaurantId: "r9", asOf: "${iso(asOf)}", mode: ${mode}) { ordersLast30m } }`)).body.data;
    assert.deepEqual(await ask(T0 - 22 * MIN, 'EVENT_TIME'), { restaurant: { ordersLast30m: 1 } });
    assert.deepEqual(await ask(T0 - 22 * MIN, 'SERVED'), { restaurant: { ordersLast30m: null } }, 'not yet materialized then');
    assert.deepEqual(await ask(T0 - 19 * MIN, 'SERVED'), { restaurant: { ordersLast30m: 1 } });
  });
});

describe('a view whose history store holds no change of it', () => {
  let f: Fixture;
  const counted: string[] = [];
  class CountingHistory extends MemoryHistoryStore {
    override async count(view: string): Promise<number> {
      counted.push(view);
      return super.count(view);
    }
  }
  const history = new CountingHistory();
  before(async () => {
    f = await startFixture({ history });
    // Only the stream view has history; restaurant_profile and restaurant_prep were never materialized into this store.
    await history.append([order('r1', T0 - 20 * MIN, T0 - 19 * MIN), order('r1', T0 - 10 * MIN, T0 - 9 * MIN)]);
  });
  after(() => f.close());

  const emptyMessage = (view: string) => `history store memory holds no change of view ${view}: nothing has materialized or backfilled it into this store`;

  test('answers AS_OF_UNAVAILABLE on its fields, naming the view and the store; the other views answer', async () => {
    const { status, body } = await f.query(`{ restaurants(restaurantIds: ["r1", "nope"], asOf: "${iso(T0 - MIN)}", mode: SERVED) { restaurantId ordersLast30m isOpen etaMinutes(distanceKm: 2) featureMeta { ordersLast30m { status } } } }`);
    assert.equal(status, 200);
    assert.deepEqual(body.data, {
      restaurants: [
        { restaurantId: 'r1', ordersLast30m: 2, isOpen: null, etaMinutes: null, featureMeta: { ordersLast30m: { status: 'PRESENT' } } },
        // A view with history but none for this key: MISSING, a real answer, no error.
        { restaurantId: 'nope', ordersLast30m: null, isOpen: null, etaMinutes: null, featureMeta: { ordersLast30m: { status: 'MISSING' } } },
      ],
    });
    // One error per field path of the list, with the count of values it left null (README "When a store fails or is slow").
    const errors = (body.errors ?? []).map((e) => [(e as { path?: unknown[] }).path?.join('.'), e.extensions?.code, (e.extensions as { count?: number } | undefined)?.count, e.message]).sort();
    assert.deepEqual(errors, [
      ['restaurants.0.etaMinutes', 'AS_OF_UNAVAILABLE', 2, emptyMessage('restaurant_prep')],
      ['restaurants.0.isOpen', 'AS_OF_UNAVAILABLE', 2, emptyMessage('restaurant_profile')],
    ]);
  });

  test('in a training set too, field by field', async () => {
    const { body } = await f.query(`{ restaurantTrainingSet(rows: [{ restaurantId: "r1", asOf: "${iso(T0 - MIN)}" }]) { ordersLast30m avgPrepSeconds7d } }`);
    assert.deepEqual(body.data, { restaurantTrainingSet: [{ ordersLast30m: 2, avgPrepSeconds7d: null }] });
    assert.deepEqual(body.errors?.map((e) => [e.extensions?.code, e.message]), [['AS_OF_UNAVAILABLE', emptyMessage('restaurant_prep')]]);
  });

  test('POST /training-set refuses the whole export, naming the view; without that view it answers', async () => {
    const post = (features: string[]) => fetch(`${f.url.replace(/\/graphql$/, '')}/training-set`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features, rows: [{ restaurantId: 'r1', asOf: iso(T0 - MIN) }] }) });
    const refused = await post(['ordersLast30m', 'isOpen']);
    assert.equal(refused.status, 503);
    assert.deepEqual(((await refused.json()) as { errors: unknown[] }).errors, [{ message: emptyMessage('restaurant_profile'), extensions: { code: 'AS_OF_UNAVAILABLE' } }]);
    assert.equal((await post(['ordersLast30m'])).status, 200);
  });

  test('a view found with history is not counted again; an empty one is, until something lands in it', async () => {
    counted.length = 0;
    const ask = () => f.query(`{ restaurant(restaurantId: "r1", asOf: "${iso(T0 - MIN)}") { ordersLast30m isOpen } }`);
    await ask();
    await ask();
    assert.deepEqual(counted, ['restaurant_profile', 'restaurant_profile'], 'restaurant_order_activity was known to have history');
    await history.append([profile('r1', T0 - HOUR, T0 - HOUR, { isOpen: true, menuSize: 3, cuisineTags: [] })]);
    const { body } = await ask();
    assert.deepEqual(body, { data: { restaurant: { ordersLast30m: 2, isOpen: true } } });
    counted.length = 0;
    await ask();
    assert.deepEqual(counted, []);
  });
});

describe('a history store that fails', () => {
  test('nulls the past fields with a retriable coded error that hides the backend message; the rest arrives', async () => {
    // Down for every call: the check that the view has history at all fails first, like the read would.
    class DownHistory extends MemoryHistoryStore {
      override async readAsOf(): Promise<never> {
        throw new Error('connect ECONNREFUSED 10.0.0.7:443 (password=hunter2)');
      }
      override async count(): Promise<never> {
        throw new Error('connect ECONNREFUSED 10.0.0.7:443 (password=hunter2)');
      }
    }
    const f = await startFixture({ history: new DownHistory() });
    try {
      const r = await f.query(`{ restaurant(restaurantId: "r1", asOf: "${iso(T0 - HOUR)}") { restaurantId isOpen } featureCatalog(tag: "eta") { id } }`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.data?.restaurant, { restaurantId: 'r1', isOpen: null });
      assert.equal((r.body.data?.featureCatalog as unknown[]).length, 4);
      assert.deepEqual(r.body.errors?.map((e) => [e.message, e.extensions?.code]), [['history store memory failed to answer a point-in-time read', 'HISTORY_STORE_UNAVAILABLE']]);
      assert.doesNotMatch(JSON.stringify(r.body), /hunter2|10\.0\.0\.7/);
    } finally {
      await f.close();
    }
  });
});

describe('no value from after asOf ever appears (property)', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture({ history: new MemoryHistoryStore() });
  });
  after(() => f.close());

  const seeds = Number(process.env.FEATUREGRAPH_ASOF_SEEDS ?? 25);
  const base = Number(process.env.FEATUREGRAPH_TEST_SEED ?? 1);
  test(`random histories, ${seeds} seeds, both modes, lookups and training sets`, async () => {
    for (let seed = base; seed < base + seeds; seed++) {
      const rand = random(seed);
      const history = new MemoryHistoryStore();
      const records: HistoryRecord[] = [];
      const keys = ['a', 'b', 'c'].map((k) => `s${seed}${k}`);
      const span = 4 * HOUR;
      const at = () => T0 - Math.floor(rand() * span);
      // availableTime anywhere from 20 minutes before the event (a clock skew, a wrong stamp) to 40 minutes after.
      const avail = (t: number) => t + Math.floor((rand() - 0.33) * 60 * MIN);
      let menu = 0;
      for (const key of keys) {
        for (let i = Math.floor(rand() * 15); i > 0; i--) {
          const t = at();
          records.push(order(key, t, avail(t)));
        }
        for (let i = Math.floor(rand() * 6); i > 0; i--) {
          const t = at();
          records.push(profile(key, t, avail(t), { isOpen: rand() < 0.5, menuSize: ++menu, cuisineTags: ['x'] }));
        }
      }
      await history.append(records);
      const g = await (await import('../../gateway/server.js')).createGateway({ config: (await import('../../gateway/config.js')).loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1' } }), registry: f.registry, store: f.store, history, now: () => T0 });
      const url = await g.listen();
      try {
        const asOfs = Array.from({ length: 6 }, at);
        const rows = asOfs.flatMap((asOf) => keys.map((key) => ({ restaurantId: key, asOf: iso(asOf) })));
        for (const mode of ['EVENT_TIME', 'SERVED'] as const) {
          const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `query($rows: [RestaurantAsOfInput!]!, $mode: TimeMode) { restaurantTrainingSet(rows: $rows, mode: $mode) { restaurantId ordersLast30m menuSize featureMeta { ordersLast30m { eventTime } menuSize { eventTime } } } }`, variables: { rows, mode } }) });
          const body = (await response.json()) as { data: { restaurantTrainingSet: { restaurantId: string; ordersLast30m: number | null; menuSize: number | null; featureMeta: Record<string, { eventTime: string | null }> }[] } };
          body.data.restaurantTrainingSet.forEach((got, i) => {
            const row = rows[i]!;
            const asOf = Date.parse(row.asOf);
            const where = `seed ${seed}, ${mode}, ${row.restaurantId} at ${row.asOf}`;
            const visible = (r: HistoryRecord) => r.key === row.restaurantId && r.eventTime <= asOf && (mode === 'EVENT_TIME' || r.availableTime <= asOf);
            for (const meta of Object.values(got.featureMeta)) if (meta.eventTime !== null) assert.ok(Date.parse(meta.eventTime) <= asOf, `${where}: eventTime ${meta.eventTime} after asOf`);
            if (got.menuSize !== null) {
              const change = records.find((r) => r.view === 'restaurant_profile' && r.values.menuSize === got.menuSize)!;
              assert.ok(visible(change), `${where}: menuSize ${got.menuSize} comes from a change not visible at asOf (event ${iso(change.eventTime)}, available ${iso(change.availableTime)})`);
              // EVENT_TIME: the latest fact; SERVED: the last change made online (README "Online equals SERVED").
              const order = (x: HistoryRecord, y: HistoryRecord) => (mode === 'SERVED' ? x.availableTime - y.availableTime : x.eventTime - y.eventTime || x.availableTime - y.availableTime) || (x.id < y.id ? -1 : 1);
              const latest = records.filter((r) => r.view === 'restaurant_profile' && visible(r)).sort(order).pop();
              assert.equal(got.menuSize, latest?.values.menuSize, `${where}: the latest visible change`);
            } else {
              assert.equal(records.some((r) => r.view === 'restaurant_profile' && visible(r)), false, `${where}: menuSize null though a change is visible`);
            }
            // Brute force of the 30-minute window (1-minute tiles): visible events in [(floor(t/r) - 29) r, t].
            const from = (Math.floor(asOf / MIN) - 29) * MIN;
            const count = records.filter((r) => r.view === 'restaurant_order_activity' && visible(r) && r.eventTime >= from).length;
            const anyVisible = records.some((r) => r.view === 'restaurant_order_activity' && visible(r));
            assert.equal(got.ordersLast30m, anyVisible ? count : null, `${where}: ordersLast30m`);
          });
        }
      } finally {
        await g.close();
      }
    }
  });
});
