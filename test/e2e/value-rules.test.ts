// One value rule on every path. Edge values (NaN, ±Infinity, 2^31, 2^53, -0, a 1 MB string, nested
// arrays, values of another type) are stored in a feature of every type, and in windowed sums that end
// fractional or overflow; then read online by Apollo and by the fast path, asOf (SERVED and EVENT_TIME)
// from the memory and the embedded history stores, in GraphQL training sets, and exported to Parquet
// (POST /training-set, the path of the CLI too, and the embedded store's own export). Every path gives
// the value where it fits the feature's type and null where it does not; the GraphQL paths say why,
// with a code. Request-time features that return their stored input as it is follow the same rule.
//
// What the stores keep: the memory online store and the memory history keep every value as it is
// (structuredClone). The embedded history keeps JSON: NaN and ±Infinity become null (so those rows read
// a plain null there, no error) and -0 becomes 0 (which every path delivers as 0 anyway).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRegistry, column, entity, featureView, kafkaTopic, requestFeature, snowflakeTable, sum, type FeatureType, type FeatureValue } from '../../index.js';
import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import { MemoryHistoryStore } from '../../adapters/history/memory/index.js';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';
import type { HistoryStore } from '../../adapters/history/types.js';
import { MemoryStream } from '../../adapters/sources/memory/stream.js';
import { StreamMaterializer } from '../../materializers/stream/materializer.js';
import { applyRows } from '../../materializers/rows/apply.js';
import { loadConfig } from '../../gateway/config.js';
import { createGateway, type Gateway } from '../../gateway/server.js';
import { readParquet } from '../fixtures/parquet.js';

const T0 = Date.parse('2026-06-01T12:00:00.000Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

const types: readonly FeatureType[] = ['Int', 'Float', 'String', 'Boolean', '[Float]', '[String]'];
const fieldOf: Record<FeatureType, string> = { Int: 'int', Float: 'float', String: 'text', Boolean: 'flag', '[Float]': 'floats', '[String]': 'texts' };
const echoOf = (type: FeatureType) => `${fieldOf[type]}Echo`;

const probe = entity({ name: 'Probe', key: 'probeId', description: 'edge values' });
const probeValues = featureView({
  name: 'probe_values',
  entity: probe,
  source: snowflakeTable({ name: 'probe_rows', table: 'PROBES', keyColumn: 'id', eventTimeColumn: 'updated_at' }),
  features: Object.fromEntries(types.map((type) => [fieldOf[type], column({ type })])),
  freshness: '1h',
  ttl: '30d',
  owner: 'tests',
  description: 'one column of every type',
});
const probeSums = featureView({
  name: 'probe_sums',
  entity: probe,
  source: kafkaTopic({ name: 'probe_events', topic: 'probe_events', keyField: 'probeId', eventTimeField: 'at', fields: { probeId: 'string', at: 'timestamp', amount: 'number' } }),
  features: { intSum: sum({ field: 'amount', type: 'Int', window: '1h' }), floatSum: sum({ field: 'amount', window: '1h' }) },
  freshness: '1h',
  ttl: '1d',
  owner: 'tests',
  description: 'sums of one field, as an Int and as a Float',
});
const echoes = Object.fromEntries(
  types.map((type) => [
    echoOf(type),
    requestFeature({ name: echoOf(type), entity: probe, type, arguments: { unused: 'Boolean' }, inputs: [fieldOf[type]], compute: (_args, inputs) => inputs[fieldOf[type]] ?? null, owner: 'tests', description: 'its stored input as it is' }),
  ]),
);
const registry = buildRegistry([{ file: 'value-rules.test.ts', exports: { probe, probeValues, probeSums, ...echoes } }]);

const mb = 'x'.repeat(1024 * 1024);

interface ColumnCase {
  key: string;
  value: unknown;
  /** What each type delivers where the value fits it; every other type reads null with an error. */
  fits: Partial<Record<FeatureType, FeatureValue>>;
  /** JSON has no such number: the embedded history holds null instead. */
  lostInJson?: true;
}

const columnCases: ColumnCase[] = [
  { key: 'NaN', value: Number.NaN, fits: {}, lostInJson: true },
  { key: 'Infinity', value: Number.POSITIVE_INFINITY, fits: {}, lostInJson: true },
  { key: '-Infinity', value: Number.NEGATIVE_INFINITY, fits: {}, lostInJson: true },
  { key: '2^31 - 1', value: 2 ** 31 - 1, fits: { Int: 2 ** 31 - 1, Float: 2 ** 31 - 1 } },
  { key: '-2^31', value: -(2 ** 31), fits: { Int: -(2 ** 31), Float: -(2 ** 31) } },
  { key: '2^31', value: 2 ** 31, fits: { Float: 2 ** 31 } },
  { key: '2^53', value: 2 ** 53, fits: { Float: 2 ** 53 } },
  { key: '2^53 + 1 (a double: 2^53)', value: 2 ** 53 + 1, fits: { Float: 2 ** 53 } },
  { key: '-(2^53 + 2)', value: -(2 ** 53 + 2), fits: { Float: -(2 ** 53 + 2) } },
  { key: '-0', value: -0, fits: { Int: 0, Float: 0 } },
  { key: '0', value: 0, fits: { Int: 0, Float: 0 } },
  { key: '1.5', value: 1.5, fits: { Float: 1.5 } },
  { key: '1e21', value: 1e21, fits: { Float: 1e21 } },
  { key: '5e-324', value: 5e-324, fits: { Float: 5e-324 } },
  { key: 'a 1 MB string', value: mb, fits: { String: mb } },
  { key: 'numeric text', value: '12', fits: { String: '12' } },
  { key: 'empty text', value: '', fits: { String: '' } },
  { key: 'true', value: true, fits: { Boolean: true } },
  { key: 'false', value: false, fits: { Boolean: false } },
  { key: '[1.5, -0]', value: [1.5, -0], fits: { '[Float]': [1.5, 0] } },
  { key: '[]', value: [], fits: { '[Float]': [], '[String]': [] } },
  { key: '["a", "b"]', value: ['a', 'b'], fits: { '[String]': ['a', 'b'] } },
  { key: '[1, NaN]', value: [1, Number.NaN], fits: {} },
  { key: '[1, "x"]', value: [1, 'x'], fits: {} },
  { key: '[1, null]', value: [1, null], fits: {} },
  { key: '[[1, 2]]', value: [[1, 2]], fits: {} },
  { key: '[["a"]]', value: [['a']], fits: {} },
  { key: '[2^31]', value: [2 ** 31], fits: { '[Float]': [2 ** 31] } },
  { key: 'an object', value: { a: 1 }, fits: {} },
  { key: 'null', value: null, fits: Object.fromEntries(types.map((type) => [type, null])) },
];

/** Windowed sums of `amount`: what intSum and floatSum deliver (undefined: null with an error). */
const windowCases: { key: string; amounts: number[]; intSum?: number; floatSum?: number }[] = [
  { key: 'sum 5', amounts: [2, 3], intSum: 5, floatSum: 5 },
  { key: 'sum 2.25', amounts: [1.25, 1], floatSum: 2.25 },
  { key: 'sum 2^31', amounts: [2 ** 30, 2 ** 30], floatSum: 2 ** 31 },
  { key: 'sum overflowing', amounts: [1.7976931348623157e308, 1.7976931348623157e308] },
];

const storedFields = [...types.map((type) => fieldOf[type]), 'intSum', 'floatSum'];
const echoFields = types.map(echoOf);
const keys = [...columnCases.map((c) => c.key), ...windowCases.map((c) => c.key)];

/** One feature's answer: a value, or null with the code of the error that says why. */
type Answer = { value: FeatureValue } | { error: string };
type Answers = Record<string, Record<string, Answer>>;

type Store = 'memory' | 'embedded';

/** What every path answers, by the rule: per key, per field. */
function expected(store: Store, fields: readonly string[]): Answers {
  const out: Answers = {};
  for (const c of columnCases) {
    const held = store === 'embedded' && c.lostInJson ? null : c.value;
    const row: Record<string, Answer> = {};
    for (const type of types) {
      const answer: Answer = held === null ? { value: null } : type in c.fits ? { value: c.fits[type] as FeatureValue } : { error: 'misfit' };
      row[fieldOf[type]] = 'error' in answer ? { error: 'INVALID_FEATURE_VALUE' } : answer;
      row[echoOf(type)] = 'error' in answer ? { error: 'REQUEST_FEATURE_FAILED' } : answer;
    }
    row.intSum = { value: null };
    row.floatSum = { value: null };
    out[c.key] = pick(row, fields);
  }
  for (const c of windowCases) {
    const row: Record<string, Answer> = Object.fromEntries([...types.map((type) => [fieldOf[type], { value: null }]), ...echoFields.map((f) => [f, { value: null }])]);
    row.intSum = c.intSum === undefined ? { error: 'INVALID_FEATURE_VALUE' } : { value: c.intSum };
    row.floatSum = c.floatSum === undefined ? { error: 'INVALID_FEATURE_VALUE' } : { value: c.floatSum };
    out[c.key] = pick(row, fields);
  }
  return out;
}

/** What an export writes: the value, or null where GraphQL reports an error. */
function exported(answers: Answers): Record<string, Record<string, FeatureValue>> {
  return Object.fromEntries(Object.entries(answers).map(([key, row]) => [key, Object.fromEntries(Object.entries(row).map(([field, a]) => [field, 'value' in a ? a.value : null]))]));
}

function pick<T>(row: Record<string, T>, fields: readonly string[]): Record<string, T> {
  return Object.fromEntries(fields.map((field) => [field, row[field] as T]));
}

interface GraphqlBody {
  data?: Record<string, unknown>;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
}

/** The answers of a GraphQL response: entity i of `root` is keys[i] (a single entity when `single`). */
function graphqlAnswers(body: GraphqlBody, root: string, keyList: readonly string[], fields: readonly string[], single = false): Answers {
  const data = body.data?.[root];
  const entities = (single ? [data] : data) as (Record<string, FeatureValue> | null)[];
  assert.equal(entities.length, keyList.length);
  const out: Answers = {};
  keyList.forEach((key, i) => {
    const row: Record<string, Answer> = {};
    for (const field of fields) {
      const at = single ? [root, field] : [root, i, field];
      const error = body.errors?.find((e) => JSON.stringify(e.path) === JSON.stringify(at));
      const value = entities[i]?.[field] ?? null;
      if (error) assert.equal(value, null, `${key}.${field} has an error and a value`);
      row[field] = error ? { error: String(error.extensions?.code) } : { value };
    }
    out[key] = row;
  });
  return out;
}

/** A misfit is named briefly: a 1 MB string does not go into an error message. */
function assertShortErrors(body: GraphqlBody): void {
  for (const error of body.errors ?? []) assert.ok(error.message.length < 300, `an error message of ${error.message.length} characters: ${error.message.slice(0, 300)}`);
}

const selection = [...storedFields, ...echoFields].join(' ');
const clock = { now: T0 - 10 * MIN };
const online = new MemoryOnlineStore({ now: () => clock.now });
const memoryHistory = new MemoryHistoryStore();
let embeddedHistory: EmbeddedHistoryStore;
const gateways: Record<'fast' | 'apollo' | 'embedded', { gateway: Gateway; url: string }> = {} as never;
let dir: string;

async function start(history: HistoryStore, fastPath: boolean) {
  const config = loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1' } });
  const gateway = await createGateway({ config, registry, store: online, history, now: () => clock.now, fastPath });
  return { gateway, url: await gateway.listen() };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fg-value-rules-'));
  embeddedHistory = await EmbeddedHistoryStore.open(join(dir, 'history.duckdb'));
  // Every change goes to both history stores, as the materializers make it.
  const both: HistoryStore = {
    name: 'memory and embedded',
    append: async (records) => {
      await memoryHistory.append(records);
      await embeddedHistory.append(records);
    },
    appendWatermarks: async (changes) => {
      await memoryHistory.appendWatermarks(changes);
      await embeddedHistory.appendWatermarks(changes);
    },
    readAsOf: (query, rows) => memoryHistory.readAsOf(query, rows),
    scan: (scan) => memoryHistory.scan(scan),
    count: (view) => memoryHistory.count(view),
    close: async () => {},
  };
  const view = registry.view('probe_values');
  const rows = columnCases.map((c) => ({ key: c.key, eventTime: T0 - 20 * MIN, values: Object.fromEntries(types.map((type) => [fieldOf[type], c.value])) }));
  await applyRows(view, rows, online, both, clock.now);

  const stream = new MemoryStream(1, () => clock.now);
  const materializer = new StreamMaterializer({ topic: 'probe_events', views: [registry.view('probe_sums')], store: online, source: stream, now: () => clock.now, history: both });
  const consumer = await stream.consume({ groupId: 'value-rules', topics: ['probe_events'], fromBeginning: true, handle: (b) => materializer.handle(b) });
  const events = windowCases.flatMap((c) => c.amounts.map((amount, i) => ({ key: c.key, value: JSON.stringify({ probeId: c.key, at: iso(T0 - 6 * MIN + i), amount }) })));
  await stream.produce('probe_events', events);
  for (const deadline = Date.now() + 60_000; materializer.stats.events < events.length; await new Promise((r) => setTimeout(r, 2))) {
    if (Date.now() > deadline) throw new Error(`events not materialized within 60 s: ${JSON.stringify(materializer.stats)}`);
  }
  await consumer.stop();
  clock.now = T0 + MIN;
  gateways.fast = await start(memoryHistory, true);
  gateways.apollo = await start(memoryHistory, false);
  gateways.embedded = await start(embeddedHistory, false);
});

after(async () => {
  for (const { gateway } of Object.values(gateways)) await gateway.close();
  await embeddedHistory.close();
  await online.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = async (url: string, body: unknown): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const graphql = async (url: string, query: string, variables: Record<string, unknown> = {}): Promise<GraphqlBody> => (await (await post(url, { query, variables })).json()) as GraphqlBody;

test('online, Apollo: every value as the rule says, a misfit null with its code', async () => {
  const body = await graphql(gateways.apollo.url, `query($ids: [ID!]!) { probes(probeIds: $ids) { ${selection} } }`, { ids: keys });
  assert.deepEqual(graphqlAnswers(body, 'probes', keys, [...storedFields, ...echoFields]), expected('memory', [...storedFields, ...echoFields]));
  assertShortErrors(body);
});

test('online, fast path: the same bytes as Apollo, and it answers every entity whose values all fit', async () => {
  const fields = [...storedFields, ...echoFields];
  const want = expected('memory', fields);
  for (const key of keys) {
    const request = { query: `query($id: ID!) { probe(probeId: $id) { ${selection} } }`, variables: { id: key } };
    const before = gateways.fast.gateway.fastPath!.stats.answered;
    const fast = await (await post(gateways.fast.url, request)).text();
    const answered = gateways.fast.gateway.fastPath!.stats.answered - before;
    const apollo = await (await post(gateways.apollo.url, request)).text();
    assert.equal(fast, apollo, key);
    const got = graphqlAnswers(JSON.parse(fast) as GraphqlBody, 'probe', [key], fields, true);
    assert.deepEqual(got, { [key]: want[key] }, key);
    const fits = Object.values(want[key] as Record<string, Answer>).every((a) => 'value' in a);
    assert.equal(answered, fits ? 1 : 0, `${key}: ${fits ? 'the fast path answers' : 'Apollo answers'}`);
  }
});

for (const store of ['memory', 'embedded'] as const) {
  for (const mode of ['SERVED', 'EVENT_TIME'] as const) {
    test(`asOf ${mode} from the ${store} history: as online, by the rule`, async () => {
      const url = gateways[store === 'memory' ? 'apollo' : 'embedded'].url;
      const body = await graphql(url, `query($ids: [ID!]!, $t: DateTime, $m: TimeMode) { probes(probeIds: $ids, asOf: $t, mode: $m) { ${selection} } }`, { ids: keys, t: iso(T0), m: mode });
      assert.deepEqual(graphqlAnswers(body, 'probes', keys, [...storedFields, ...echoFields]), expected(store, [...storedFields, ...echoFields]));
      assertShortErrors(body);
    });
  }

  test(`GraphQL training set from the ${store} history: by the rule`, async () => {
    const url = gateways[store === 'memory' ? 'apollo' : 'embedded'].url;
    const body = await graphql(url, `query($rows: [ProbeAsOfInput!]!) { probeTrainingSet(rows: $rows) { ${selection} } }`, { rows: keys.map((probeId) => ({ probeId, asOf: iso(T0) })) });
    assert.deepEqual(graphqlAnswers(body, 'probeTrainingSet', keys, [...storedFields, ...echoFields]), expected(store, [...storedFields, ...echoFields]));
    assertShortErrors(body);
  });
}

/** A Parquet export, from the file it was written to or the bytes an HTTP response carried. */
async function readExport(bytes: ArrayBuffer | string): Promise<Record<string, unknown>[]> {
  if (typeof bytes === 'string') return readParquet(bytes);
  const path = join(dir, `read-${Math.random().toString(36).slice(2)}.parquet`);
  writeFileSync(path, Buffer.from(bytes));
  return readParquet(path);
}

/** An export's feature values by key (its rows are in the asked order). */
function byKey(rows: readonly Record<string, unknown>[], keyList: readonly string[], fields: readonly string[]): Record<string, Record<string, unknown>> {
  assert.deepEqual(
    rows.map((r) => r.probeId),
    keyList,
  );
  return Object.fromEntries(rows.map((r) => [String(r.probeId), pick(r, fields)]));
}

/** POST /training-set; the Parquet it answers, as rows. */
async function trainingSet(url: string, features: readonly string[], keyList: readonly string[], mode: 'SERVED' | 'EVENT_TIME'): Promise<Record<string, unknown>[]> {
  const response = await post(url.replace(/\/graphql$/, '/training-set'), { features, mode, rows: keyList.map((probeId) => ({ probeId, asOf: iso(T0) })) });
  assert.equal(response.status, 200, await response.clone().text());
  return readExport(await response.arrayBuffer());
}

for (const store of ['memory', 'embedded'] as const) {
  for (const mode of ['SERVED', 'EVENT_TIME'] as const) {
    test(`POST /training-set of stored features, ${mode}, from the ${store} history${store === 'embedded' ? ' (its own export)' : ''}: the value, or null`, async () => {
      const url = gateways[store === 'memory' ? 'apollo' : 'embedded'].url;
      const rows = await trainingSet(url, storedFields, keys, mode);
      assert.deepEqual(byKey(rows, keys, storedFields), exported(expected(store, storedFields)));
    });
  }

  test(`POST /training-set of request-time features from the ${store} history: the value where it fits; one that does not refuses the export, named`, async () => {
    const url = gateways[store === 'memory' ? 'apollo' : 'embedded'].url;
    const want = expected(store, echoFields);
    for (const type of types) {
      const echo = echoOf(type);
      const fitting = keys.filter((key) => 'value' in (want[key]?.[echo] as Answer));
      const rows = await trainingSet(url, [echo], fitting, 'SERVED');
      assert.deepEqual(byKey(rows, fitting, [echo]), Object.fromEntries(fitting.map((key) => [key, { [echo]: exported(want)[key]?.[echo] }])), type);
    }
    const refused = await post(url.replace(/\/graphql$/, '/training-set'), { features: ['intEcho'], rows: [{ probeId: '2^31', asOf: iso(T0) }] });
    assert.equal(refused.status, 400);
    const { errors } = (await refused.json()) as GraphqlBody;
    assert.match(errors?.[0]?.message ?? '', /^row 1: request feature Probe\.intEcho returned 2147483648, not a Int/);
  });
}

test("the embedded store's own exportTrainingSet: the value, or null", async () => {
  const rowsPath = join(dir, 'rows.csv');
  writeFileSync(rowsPath, `probeId,asOf\n${keys.map((key) => `"${key.replaceAll('"', '""')}",${iso(T0)}`).join('\n')}\n`);
  const out = join(dir, 'own.parquet');
  const features = storedFields.map((name) => registry.entity('Probe').features.get(name)!);
  for (const mode of ['SERVED', 'EVENT_TIME'] as const) {
    await embeddedHistory.exportTrainingSet({ query: { features, mode }, rows: { path: rowsPath, keyColumn: 'probeId', asOfColumn: 'asOf' }, out, now: clock.now });
    assert.deepEqual(byKey(await readExport(out), keys, storedFields), exported(expected('embedded', storedFields)), mode);
  }
});

test('every path gives the same values (null where a value does not fit) for every key the stores hold alike', async () => {
  const fields = [...storedFields, ...echoFields];
  const alike = keys.filter((key) => !columnCases.find((c) => c.key === key)?.lostInJson);
  const query = `query($rows: [ProbeAsOfInput!]!) { probeTrainingSet(rows: $rows, mode: SERVED) { ${selection} } }`;
  const variables = { rows: alike.map((probeId) => ({ probeId, asOf: iso(T0) })) };
  const online = exported(graphqlAnswers(await graphql(gateways.apollo.url, `query($ids: [ID!]!) { probes(probeIds: $ids) { ${selection} } }`, { ids: alike }), 'probes', alike, fields));
  const paths: Record<string, Record<string, Record<string, unknown>>> = {
    'training set, memory': exported(graphqlAnswers(await graphql(gateways.apollo.url, query, variables), 'probeTrainingSet', alike, fields)),
    'training set, embedded': exported(graphqlAnswers(await graphql(gateways.embedded.url, query, variables), 'probeTrainingSet', alike, fields)),
    'export of stored features, memory': byKey(await trainingSet(gateways.apollo.url, storedFields, alike, 'SERVED'), alike, storedFields),
    'export of stored features, embedded': byKey(await trainingSet(gateways.embedded.url, storedFields, alike, 'SERVED'), alike, storedFields),
  };
  for (const [name, got] of Object.entries(paths)) {
    for (const key of alike) {
      for (const [field, value] of Object.entries(got[key] ?? {})) assert.deepEqual(value, online[key]?.[field], `${name}: ${key}.${field}`);
    }
  }
});
