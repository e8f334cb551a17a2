// Abuse test of a training-set row's `inputs` (free JSON in the schema): every refusal names the row,
// the feature and the argument, and states what is accepted. Request-time arguments of training-set
// rows and export columns take what GraphQL's own arguments take: each scalar by the value rule of
// schema/value-rules.ts (Int 32-bit, -2^31 included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../../schema/load.js';
import { fitsArgument, parseRowInputs } from '../../../resolvers/request-inputs.js';

const registry = await loadFeatureRepo('examples/food-delivery/features');
const restaurant = registry.entity('Restaurant');
const user = registry.entity('User');

/** Null-prototype objects as plain ones, for deepEqual (which compares prototypes). */
const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

test('valid inputs come back by feature, in objects without a prototype; absent inputs are null', () => {
  const inputs = parseRowInputs(restaurant, { etaMinutes: { distanceKm: 3 }, queryMatch: { query: 'thai' } }, 'row 0');
  assert.deepEqual(plain(inputs), { etaMinutes: { distanceKm: 3 }, queryMatch: { query: 'thai' } });
  assert.equal(Object.getPrototypeOf(inputs), null);
  assert.equal(Object.getPrototypeOf(inputs?.etaMinutes), null);
  assert.equal(parseRowInputs(restaurant, undefined, 'row 0'), null);
  assert.equal(parseRowInputs(restaurant, null, 'row 0'), null);
  assert.deepEqual(plain(parseRowInputs(restaurant, {}, 'row 0')), {});
});

test('names of prototype properties are unknown names, never the prototype\'s members', () => {
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    const raw = JSON.parse(`{ "etaMinutes": { "${name}": 1 } }`) as unknown;
    assert.throws(() => parseRowInputs(restaurant, raw, 'row 2'), { code: 'BAD_USER_INPUT', message: `row 2: etaMinutes has no argument "${name}"; its arguments: distanceKm: Float!` });
    const feature = JSON.parse(`{ "${name}": { "distanceKm": 1 } }`) as unknown;
    assert.throws(() => parseRowInputs(restaurant, feature, 'row 2'), { code: 'BAD_USER_INPUT', message: `row 2: "${name}" is not a request-time feature of Restaurant; inputs are keyed by etaMinutes, queryMatch` });
  }
});

test('refusals name what is wrong and what is accepted', () => {
  const refuse = (entity: typeof restaurant, raw: unknown, message: string) => assert.throws(() => parseRowInputs(entity, raw, 'row 4'), { code: 'BAD_USER_INPUT', message });
  refuse(restaurant, 'thai', 'row 4: inputs must be an object keyed by request-time feature, e.g. { "etaMinutes": { "distanceKm": 3 } }, got "thai"');
  refuse(restaurant, { ordersLast30m: {} }, 'row 4: "ordersLast30m" is not a request-time feature of Restaurant; inputs are keyed by etaMinutes, queryMatch');
  refuse(user, { etaMinutes: {} }, 'row 4: "etaMinutes" is not a request-time feature of User; inputs are keyed by (none: this entity has no request-time features)');
  refuse(restaurant, { etaMinutes: 3 }, 'row 4: inputs.etaMinutes must be an object of its arguments, e.g. { "distanceKm": ... }, got 3');
  refuse(restaurant, { etaMinutes: { km: 3 } }, 'row 4: etaMinutes has no argument "km"; its arguments: distanceKm: Float!');
  refuse(restaurant, { etaMinutes: { distanceKm: '3' } }, 'row 4: etaMinutes.distanceKm must be a Float!, got "3"');
  refuse(restaurant, { etaMinutes: { distanceKm: null } }, 'row 4: etaMinutes.distanceKm must be a Float!, got null');
  refuse(restaurant, { queryMatch: { query: 7 } }, 'row 4: queryMatch.query must be a String!, got 7');
});

test('an argument fits its type as a GraphQL argument of that scalar does: Int is a 32-bit integer, Float any finite number, null only where nullable', () => {
  const cases: [unknown, Parameters<typeof fitsArgument>[1], boolean][] = [
    [-2147483648, 'Int!', true],
    [2147483647, 'Int', true],
    [2147483648, 'Int', false],
    [2 ** 31, 'Int!', false],
    [1.5, 'Int', false],
    ['12', 'Int', false],
    [null, 'Int', true],
    [null, 'Int!', false],
    [1.5, 'Float!', true],
    [3, 'Float!', true],
    [Number.NaN, 'Float', false],
    [Number.POSITIVE_INFINITY, 'Float', false],
    ['x', 'String!', true],
    [5, 'String', false],
    [true, 'Boolean', true],
    [1, 'Boolean', false],
    ['true', 'Boolean', false],
    [null, 'Boolean!', false],
  ];
  for (const [value, type, fits] of cases) assert.equal(fitsArgument(value, type), fits, `${String(value)} as ${type}`);
});
