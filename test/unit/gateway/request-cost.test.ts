// The request cost, pinned: list arguments (literal or variable, default values too) times the
// selection, aliases and fragments, argument characters, request-time features' reads, the catalog
// and introspection, and expressions that stay small however fragments multiply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getIntrospectionQuery, parse } from 'graphql';
import { loadFeatureRepo } from '../../../schema/load.js';
import { buildSchema } from '../../../gateway/server.js';
import { analyzeOperation, costModel, evaluateCost, featureHealthRows, sizeOfJson } from '../../../gateway/request-cost.js';
import { RequestGuard } from '../../../gateway/request-guard.js';

const registry = await loadFeatureRepo('examples/food-delivery/features');
const schema = buildSchema(registry);
const model = costModel(schema, registry);
const cost = (query: string, variables?: unknown, operationName?: string) => evaluateCost(analyzeOperation(parse(query), operationName, model), variables);
const ids = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`);
const chars = (list: string[]) => list.reduce((n, s) => n + s.length, 0);

test('an entity list costs its field, then per id the entity and each selected field', () => {
  const list = ids(1000);
  const own = 1 + chars(list) / 64;
  assert.equal(cost('query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { restaurantId isOpen } }', { ids: list }), own + 1000 * 3);
  const literal = `{ restaurants(restaurantIds: ${JSON.stringify(list)}) { restaurantId isOpen } }`;
  assert.equal(cost(literal), own + 1000 * 3, 'a literal list costs what the same variable costs');
  assert.equal(cost('query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { isOpen } }', { ids: 'r1' }), 1 + 2 / 64 + 2, 'a single id is coerced to a list of one');
  assert.equal(cost('query($ids: [ID!]! = ["a", "b", "c"]) { restaurants(restaurantIds: $ids) { isOpen } }', {}), 1 + 3 / 64 + 3 * 2, 'a default value counts when the variable is absent');
  assert.equal(cost('query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { isOpen } }', null), 1, 'absent and no default: nothing runs per id');
});

test('1,000 ids x 50 fields fits the default limit (60,000); aliases, fragments and batches add up', () => {
  const list = ids(1000);
  const fifty = Array.from({ length: 50 }, (_, i) => `f${i}: isOpen`).join(' ');
  const normal = cost(`query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { ${fifty} } }`, { ids: list });
  assert.equal(normal, 1 + chars(list) / 64 + 1000 * 51);
  assert.ok(normal < 60_000);
  const one = 1 + chars(list) / 64 + 1000 * 2;
  assert.equal(cost('query($ids: [ID!]!) { a: restaurants(restaurantIds: $ids) { isOpen } b: restaurants(restaurantIds: $ids) { isOpen } }', { ids: list }), 2 * one);
  assert.equal(cost('query($ids: [ID!]!) { ...Q ... on Query { b: restaurants(restaurantIds: $ids) { ...R } } } fragment Q on Query { a: restaurants(restaurantIds: $ids) { ...R } } fragment R on Restaurant { isOpen }', { ids: list }), 2 * one);
  const guard = new RequestGuard({ schema, registry, maxCost: 60_000, maxTokens: 5000, federation: { serviceSdl: true, entities: true, token: null } });
  const operation = { query: 'query($ids: [ID!]!) { restaurants(restaurantIds: $ids) { isOpen } }', operationName: undefined, variables: { ids: list } };
  assert.equal(guard.costOf([operation, operation, { ...operation, variables: JSON.stringify({ ids: list }) }]), 3 * one, 'a batch sums; GET variables arrive as JSON text');
  assert.equal(guard.costOf([{ query: '{ restaurant(', operationName: undefined, variables: undefined }]), 0, 'unparsable: nothing runs');
});

test('request-time features cost 1 + the features they read, plus their arguments characters, per entity', () => {
  const q = 'thai '.repeat(1000);
  assert.equal(cost('query($q: String!) { restaurants(restaurantIds: ["a", "b"]) { queryMatch(query: $q) etaMinutes(distanceKm: 2) } }', { q }), 1 + 2 / 64 + 2 * (1 + (2 + q.length / 64) + 3));
});

test('training-set rows: one entity per row, and the rows characters weigh on every value of the selection', () => {
  const rows = [{ restaurantId: 'r1', asOf: '2026-06-01T11:00:00Z', inputs: { etaMinutes: { distanceKm: 3 } } }];
  const rowChars = sizeOfJson(rows).chars;
  assert.equal(rowChars, 'restaurantId'.length + 2 + 'asOf'.length + 20 + 'inputs'.length + 'etaMinutes'.length + 'distanceKm'.length);
  const perCall = rowChars / 64;
  assert.equal(cost('query($rows: [RestaurantAsOfInput!]!) { restaurantTrainingSet(rows: $rows) { isOpen } }', { rows }), 1 + perCall + 1 * 2 + perCall * 2);
});

test('_entities counts its representations, featureCatalog its entries, featureHealth its estimated rows, introspection the schema', () => {
  const r = ids(100).map((restaurantId) => ({ __typename: 'Restaurant', restaurantId }));
  const rChars = sizeOfJson(r).chars;
  assert.equal(cost('query($r: [_Any!]!) { _entities(representations: $r) { ... on Restaurant { isOpen menuSize } } }', { r }), 1 + rChars / 64 + 100 * 3);
  const catalogSize = [...registry.features(), ...registry.requestFeatures()].length;
  assert.equal(cost('{ featureCatalog { id owner } }'), 1 + catalogSize * 3);
  // Both directions of a population and ten segments; the arguments' characters (6 + 24 + 24) as for any field.
  assert.equal(featureHealthRows, 22);
  assert.equal(cost('{ featureHealth(feature: "isOpen", from: "2026-06-01T12:00:00.000Z", to: "2026-06-01T13:00:00.000Z") { segment values } }'), 1 + 54 / 64 + featureHealthRows * 3);
  const introspection = cost(getIntrospectionQuery());
  assert.ok(introspection > 2041 && introspection < 60_000, `GraphiQL's introspection query (2,041 values here) costs ${introspection}`);
  assert.ok(cost('{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }') > 271, 'nested introspection counts its lists');
});

test('a fragment spread twice per level, forty levels deep, is analysed in linear time and costs 2^40', () => {
  const levels = Array.from({ length: 40 }, (_, i) => `fragment F${i} on Restaurant { ...F${i + 1} ...F${i + 1} }`).join(' ');
  const query = `query($q: String!) { restaurant(restaurantId: "r1") { ...F0 } } ${levels} fragment F40 on Restaurant { queryMatch(query: $q) }`;
  const shape = analyzeOperation(parse(query), undefined, model);
  const perMatch = 2 + 3 / 64;
  assert.equal(evaluateCost(shape, { q: 'abc' }), 1 + 2 / 64 + 2 ** 40 * perMatch);
});

test('variables named after prototype properties are plain names', () => {
  for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    assert.equal(cost(`query($${name}: [ID!]!) { restaurants(restaurantIds: $${name}) { isOpen } }`, {}), 1, name);
    assert.equal(cost(`query($${name}: [ID!]!) { restaurants(restaurantIds: $${name}) { isOpen } }`, { [name]: ['a', 'b'] }), 1 + 2 / 64 + 4, name);
  }
});

test('the operation named, or the only one, is counted; when none can be chosen, all are', () => {
  const two = 'query A { restaurants(restaurantIds: ["a"]) { isOpen } } query B { restaurants(restaurantIds: ["a", "b"]) { isOpen } }';
  assert.equal(cost(two, undefined, 'A'), 1 + 1 / 64 + 2);
  assert.equal(cost(two, undefined, 'B'), 1 + 2 / 64 + 4);
  assert.equal(cost(two), 1 + 1 / 64 + 2 + 1 + 2 / 64 + 4);
  assert.equal(cost(two, undefined, 'C'), 1 + 1 / 64 + 2 + 1 + 2 / 64 + 4);
});

test('sizes of JSON values are walked without recursion', () => {
  let deep: unknown = 'x';
  for (let i = 0; i < 200_000; i++) deep = [deep];
  assert.deepEqual(sizeOfJson(deep), { count: 1, chars: 1 });
  assert.deepEqual(sizeOfJson(null), { count: 0, chars: 0 });
  assert.deepEqual(sizeOfJson({ ab: ['cd', 3, { e: 'f' }] }), { count: 1, chars: 6 });
});

test("the guard's cache of analysed operations is bounded by bytes", () => {
  const guard = new RequestGuard({ schema, registry, maxCost: 60_000, maxTokens: 5000, federation: { serviceSdl: true, entities: true, token: null }, cacheBytes: 256 * 1024 });
  for (let i = 0; i < 200; i++) guard.costOf([{ query: `{ restaurant(restaurantId: "${String(i).padEnd(10_000, 'x')}") { isOpen } }` }]);
  const { entries, bytes } = guard.cacheStats();
  assert.ok(bytes <= 256 * 1024 && entries > 0 && entries < 200, `${entries} entries, ${bytes} bytes`);
});
