// Broken feature repos: each must be refused with an error that names the file, the view and the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BadInputError } from '../../../schema/errors.js';
import { buildRegistry, column, count, entity, featureView, kafkaTopic, loadFeatureRepo, mongoCollection, requestFeature, snowflakeTable, sum, FeatureRepoError, type RepoIssue, type RepoModule } from '../../../index.js';

const restaurant = entity({ name: 'Restaurant', key: 'restaurantId', description: 'A restaurant.' });
const orders = kafkaTopic({ name: 'orders', topic: 'orders', keyField: 'restaurantId', eventTimeField: 'createdAt', fields: { restaurantId: 'string', createdAt: 'timestamp', totalPrice: 'number', cuisine: 'string' } });
const docs = mongoCollection({ name: 'restaurants', collection: 'restaurants', keyField: 'restaurantId', updatedAtField: 'updatedAt' });
const base = { freshness: '1m', ttl: '1d', owner: 'team', description: 'd' } as const;
const activity = (features: Parameters<typeof featureView>[0]['features'], extra: Partial<Parameters<typeof featureView>[0]> = {}) =>
  featureView({ name: 'activity', entity: restaurant, source: orders, features, ...base, ...extra });

function issuesOf(modules: RepoModule[]): RepoIssue[] {
  try {
    buildRegistry(modules);
  } catch (error) {
    assert.ok(error instanceof FeatureRepoError, `expected FeatureRepoError, got ${String(error)}`);
    assert.equal(error.code, 'INVALID_FEATURE_REPO');
    return [...error.issues];
  }
  assert.fail('the repo was accepted');
}

function expectIssue(modules: RepoModule[], expected: { file: string; view?: string; field?: string; message: RegExp }): void {
  const issues = issuesOf(modules);
  const match = issues.find((i) => i.file === expected.file && i.view === expected.view && i.field === expected.field && expected.message.test(i.message));
  assert.ok(match, `no issue like ${JSON.stringify({ ...expected, message: String(expected.message) })} in ${JSON.stringify(issues, null, 2)}`);
}

const entities: RepoModule = { file: 'features/entities.ts', exports: { restaurant } };

test('a valid repo builds a registry with entity names, views and features', () => {
  const registry = buildRegistry([entities, { file: 'features/activity.ts', exports: { v: activity({ ordersLast30m: count({ window: '30m' }) }) } }]);
  const e = registry.entity('Restaurant');
  assert.deepEqual(e.names, { lookup: 'restaurant', list: 'restaurants', listKeys: 'restaurantIds', trainingSet: 'restaurantTrainingSet', asOfInput: 'RestaurantAsOfInput', metaType: 'RestaurantFeatureMeta' });
  assert.deepEqual([...e.features.keys()], ['ordersLast30m']);
  assert.deepEqual(e.features.get('ordersLast30m')?.window, { fn: 'count', windowMs: 1_800_000, tileMs: 60_000 });
});

test('broken repo 1: two views define the same feature name on one entity', () => {
  const other = featureView({ name: 'profile', entity: restaurant, source: docs, features: { ordersLast30m: column({ type: 'Int' }) }, ...base });
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ ordersLast30m: count({ window: '30m' }) }) } }, { file: 'b.ts', exports: { other } }], {
    file: 'b.ts', view: 'profile', field: 'ordersLast30m', message: /duplicate feature "ordersLast30m" on entity Restaurant \(also in view activity\)/,
  });
});

test('broken repo 2: two views share a name', () => {
  const a = activity({ x: count({ window: '30m' }) });
  const b = activity({ y: count({ window: '30m' }) });
  expectIssue([entities, { file: 'a.ts', exports: { a } }, { file: 'b.ts', exports: { b } }], { file: 'b.ts', view: 'activity', message: /duplicate feature view name "activity" \(also defined in a.ts\)/ });
});

test('broken repo 3: a view of an entity the repo does not export', () => {
  const stray = entity({ name: 'Courier', key: 'courierId', description: 'c' });
  const view = featureView({ name: 'courier_load', entity: stray, source: docs, features: { load: column({ type: 'Int' }) }, ...base });
  expectIssue([entities, { file: 'couriers.ts', exports: { view } }], { file: 'couriers.ts', view: 'courier_load', field: 'entity', message: /unknown entity "Courier": no module of the repo exports it/ });
});

test('broken repo 4: durations that are not durations', () => {
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ x: count({ window: '30m' }) }, { ttl: '1 day' }) } }], { file: 'a.ts', view: 'activity', field: 'ttl', message: /"1 day" is not a duration/ });
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ x: count({ window: '30 minutes' }) }) } }], { file: 'a.ts', view: 'activity', field: 'x', message: /window "30 minutes" is not a duration/ });
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ x: count({ window: '1500ms' }) }) } }], { file: 'a.ts', view: 'activity', field: 'x', message: /whole number of seconds/ });
});

test('broken repo 5: type mismatches between aggregation, field and declared type', () => {
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ n: count({ window: '30m', type: 'String' }) }) } }], { file: 'a.ts', view: 'activity', field: 'n', message: /type mismatch: count gives Int, declared String/ });
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ s: sum({ field: 'cuisine', window: '30m' }) }) } }], { file: 'a.ts', view: 'activity', field: 's', message: /sum needs a number field, "cuisine" is string/ });
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ s: sum({ field: 'tip', window: '30m' }) }) } }], { file: 'a.ts', view: 'activity', field: 's', message: /aggregates field "tip", which the source's events do not declare/ });
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ s: column({ type: 'Decimal' as 'Float' }) }) } }], { file: 'a.ts', view: 'activity', field: 's', message: /type "Decimal" is not one of Int, Float, String, Boolean, \[Float\], \[String\]/ });
});

test('broken repo 6: names GraphQL cannot carry', () => {
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ 'orders-30m': count({ window: '30m' }) }) } }], { file: 'a.ts', view: 'activity', field: 'orders-30m', message: /not a name GraphQL can carry/ });
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ __secret: count({ window: '30m' }) }) } }], { file: 'a.ts', view: 'activity', field: '__secret', message: /not a name GraphQL can carry/ });
  const lower = entity({ name: 'restaurant', key: 'id', description: 'd' });
  expectIssue([{ file: 'e.ts', exports: { lower } }], { file: 'e.ts', view: 'entity restaurant', message: /PascalCase/ });
});

test('broken repo 7: a request-time feature reading a feature that does not exist', () => {
  const eta = requestFeature({ name: 'etaMinutes', entity: restaurant, type: 'Float', arguments: { distanceKm: 'Float!' }, inputs: ['avgPrepSeconds7d'], compute: () => 1, owner: 'o', description: 'd' });
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ ordersLast30m: count({ window: '30m' }) }) } }, { file: 'eta.ts', exports: { eta } }], {
    file: 'eta.ts', view: 'request feature etaMinutes', field: 'inputs.avgPrepSeconds7d', message: /reads feature "avgPrepSeconds7d", which Restaurant does not have \(known: ordersLast30m\)/,
  });
});

test('broken repo 8: a feature named like the key field or a reserved field', () => {
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ restaurantId: count({ window: '30m' }) }) } }], { file: 'a.ts', view: 'activity', field: 'restaurantId', message: /reserved on Restaurant/ });
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ featureMeta: count({ window: '30m' }) }) } }], { file: 'a.ts', view: 'activity', field: 'featureMeta', message: /reserved on Restaurant/ });
});

test('broken repo 9: windowed aggregations over a non-stream source, columns over a stream', () => {
  const v = featureView({ name: 'prep', entity: restaurant, source: snowflakeTable({ name: 'p', table: 'P', keyColumn: 'K', eventTimeColumn: 'T' }), features: { n: count({ window: '30m' }) }, ...base });
  expectIssue([entities, { file: 'p.ts', exports: { v } }], { file: 'p.ts', view: 'prep', field: 'n', message: /windowed aggregations need a stream source; this view reads a batch source/ });
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ c: column({ type: 'Int' }) }) } }], { file: 'a.ts', view: 'activity', field: 'c', message: /stream view holds windowed aggregations/ });
});

test('broken repo 10: a window longer than the ttl, and freshness longer than ttl', () => {
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ n: count({ window: '7d' }) }) } }], { file: 'a.ts', view: 'activity', field: 'n', message: /window 7d is longer than the view's ttl/ });
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ n: count({ window: '30m' }) }, { freshness: '2d' }) } }], { file: 'a.ts', view: 'activity', field: 'freshness', message: /freshness \(2d\) must not be longer than ttl \(1d\)/ });
});

test('broken repo 11: a source missing what it needs', () => {
  const bad = featureView({ name: 'prep', entity: restaurant, source: snowflakeTable({ name: 'p', keyColumn: 'K', eventTimeColumn: 'T' }), features: { x: column({ type: 'Float' }) }, ...base });
  expectIssue([entities, { file: 'p.ts', exports: { bad } }], { file: 'p.ts', view: 'prep', field: 'source.table', message: /exactly one of table or query/ });
  const noTime = featureView({ name: 'act', entity: restaurant, source: kafkaTopic({ name: 'o', topic: 'o', keyField: 'restaurantId', eventTimeField: 'ts', fields: { restaurantId: 'string' } }), features: { n: count({ window: '1m' }) }, ...base });
  expectIssue([entities, { file: 'o.ts', exports: { noTime } }], { file: 'o.ts', view: 'act', field: 'source.fields', message: /source fields must declare "ts"/ });
});

test('broken repo 12: a view without owner or description, and an entity defined twice', () => {
  expectIssue([entities, { file: 'a.ts', exports: { v: activity({ n: count({ window: '30m' }) }, { owner: '' }) } }], { file: 'a.ts', view: 'activity', field: 'owner', message: /needs an owner/ });
  const twin = entity({ name: 'Restaurant', key: 'restaurantId', description: 'again' });
  expectIssue([entities, { file: 'twin.ts', exports: { twin } }], { file: 'twin.ts', view: 'entity Restaurant', message: /duplicate entity name "Restaurant" \(also defined in features\/entities.ts\)/ });
});

test('broken repo 13: an entity whose type or root fields the schema has already (featureHealth, FeatureInfo)', () => {
  const health = entity({ name: 'FeatureHealth', key: 'id', description: 'd' });
  expectIssue([{ file: 'h.ts', exports: { health } }], { file: 'h.ts', view: 'entity FeatureHealth', message: /would make the type FeatureHealth, which the schema has already/ });
  expectIssue([{ file: 'h.ts', exports: { health } }], { file: 'h.ts', view: 'entity FeatureHealth', message: /root field "featureHealth" of entity FeatureHealth is a field the schema has already/ });
  const info = entity({ name: 'FeatureInfo', key: 'id', description: 'd' });
  expectIssue([{ file: 'i.ts', exports: { info } }], { file: 'i.ts', view: 'entity FeatureInfo', message: /would make the type FeatureInfo/ });
});

test('every problem of a repo is reported at once, not just the first', () => {
  const issues = issuesOf([entities, { file: 'a.ts', exports: { v: activity({ 'bad-name': count({ window: 'x' }), ok: count({ window: 'y' }) }, { ttl: 'z' }) } }]);
  assert.deepEqual(issues.map((i) => i.field), ['ttl', 'bad-name', 'ok']);
});

test('loading a repo folder names the real files, including one that fails to import', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-repo-'));
  mkdirSync(join(dir, 'views'));
  const api = relative(join(dir, 'views'), join(process.cwd(), 'index.js')).replace(/\\/g, '/');
  writeFileSync(join(dir, 'entities.ts'), `import { entity } from '${relative(dir, join(process.cwd(), 'index.js'))}';\nexport const restaurant = entity({ name: 'Restaurant', key: 'restaurantId', description: 'r' });\n`);
  writeFileSync(join(dir, 'views', 'prep.ts'), `import { featureView, column, mongoCollection } from '${api}';\nimport { restaurant } from '../entities.js';\nexport const prep = featureView({ name: 'prep', entity: restaurant, source: mongoCollection({ name: 'r', collection: 'r', keyField: 'id', updatedAtField: 'u' }), features: { menu: column({ type: 'Integer' as 'Int' }) }, freshness: '1m', ttl: '1h', owner: 'o', description: 'd' });\n`);
  await assert.rejects(loadFeatureRepo(dir), (error: unknown) => {
    assert.ok(error instanceof FeatureRepoError);
    assert.equal(error.issues.length, 1);
    assert.equal(error.issues[0]?.file, relative(process.cwd(), join(dir, 'views', 'prep.ts')));
    assert.equal(error.issues[0]?.view, 'prep');
    assert.equal(error.issues[0]?.field, 'menu');
    assert.match(error.message, /views\/prep.ts > view prep > field menu: type "Integer" is not one of/);
    return true;
  });
  writeFileSync(join(dir, 'views', 'broken.ts'), 'export const = ;\n');
  await assert.rejects(loadFeatureRepo(dir), (error: unknown) => {
    assert.ok(error instanceof FeatureRepoError);
    assert.match(error.issues[0]?.file ?? '', /views\/broken.ts$/);
    assert.match(error.issues[0]?.message ?? '', /could not be loaded/);
    return true;
  });
  await assert.rejects(loadFeatureRepo(join(dir, 'absent')), /no such feature repo folder/);
});

test('asking the registry for an entity or a view it lacks is BAD_USER_INPUT, naming what exists and where the name came from', () => {
  const registry = buildRegistry([entities, { file: 'features/activity.ts', exports: { v: activity({ ordersLast30m: count({ window: '30m' }) }) } }]);
  const refused = (ask: () => unknown, message: string) =>
    assert.throws(ask, (error: unknown) => error instanceof BadInputError && error.code === 'BAD_USER_INPUT' && !error.retriable && error.message === message);
  refused(() => registry.entity('Courier'), 'unknown entity "Courier"; known: Restaurant');
  refused(() => registry.entity('constructor', '--entity'), '--entity: unknown entity "constructor"; known: Restaurant');
  refused(() => registry.view('courier_load'), 'unknown feature view "courier_load"; known: activity');
  refused(() => registry.view('a"b', '--view'), '--view: unknown feature view "a\\"b"; known: activity');
});

test('the food-delivery repo is valid', async () => {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  assert.deepEqual([...registry.entities.keys()], ['Restaurant', 'User']);
  assert.deepEqual([...registry.entity('Restaurant').features.keys()], ['ordersLast30m', 'revenueLast24h', 'avgPrepSeconds7d', 'isOpen', 'menuSize', 'cuisineTags', 'city']);
  assert.deepEqual([...registry.entity('Restaurant').requestFeatures.keys()], ['etaMinutes', 'queryMatch']);
});
