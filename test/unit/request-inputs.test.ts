// Abuse test of a training-set row's `inputs` (free JSON in the schema): every refusal names the row,
// the feature and the argument, and states what is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../schema/load.js';
import { fitsArgument, parseRowInputs } from '../../resolvers/request-inputs.js';

const registry = await loadFeatureRepo('examples/food-delivery/features');
const restaurant = registry.entity('Restaurant');
const user = registry.entity('User');

test('valid inputs come back by feature; absent inputs are null', () => {
  assert.deepEqual(parseRowInputs(restaurant, { etaMinutes: { distanceKm: 3 }, queryMatch: { query: 'thai' } }, 'row 0'), { etaMinutes: { distanceKm: 3 }, queryMatch: { query: 'thai' } });
  assert.equal(parseRowInputs(restaurant, undefined, 'row 0'), null);
  assert.equal(parseRowInputs(restaurant, null, 'row 0'), null);
  assert.deepEqual(parseRowInputs(restaurant, {}, 'row 0'), {});
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

test('argument types as GraphQL coerces them: Int is a 32-bit integer, Float any finite number, null only where nullable', () => {
  assert.equal(fitsArgument(3, 'Float!'), true);
  assert.equal(fitsArgument(Number.NaN, 'Float'), false);
  assert.equal(fitsArgument(2.5, 'Int'), false);
  assert.equal(fitsArgument(2 ** 31, 'Int!'), false);
  assert.equal(fitsArgument(null, 'Int'), true);
  assert.equal(fitsArgument(null, 'Boolean!'), false);
  assert.equal(fitsArgument('true', 'Boolean'), false);
});
