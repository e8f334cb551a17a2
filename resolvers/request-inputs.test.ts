// Request-time arguments of training-set rows and export columns take what GraphQL's own arguments
// take: each scalar by the value rule of schema/value-rules.ts (Int 32-bit, -2^31 included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitsArgument } from './request-inputs.js';

test('an argument fits its type as a GraphQL argument of that scalar does', () => {
  const cases: [unknown, Parameters<typeof fitsArgument>[1], boolean][] = [
    [-2147483648, 'Int!', true],
    [2147483647, 'Int', true],
    [2147483648, 'Int', false],
    [1.5, 'Int', false],
    ['12', 'Int', false],
    [null, 'Int', true],
    [null, 'Int!', false],
    [1.5, 'Float!', true],
    [Number.NaN, 'Float', false],
    [Number.POSITIVE_INFINITY, 'Float', false],
    ['x', 'String!', true],
    [5, 'String', false],
    [true, 'Boolean', true],
    [1, 'Boolean', false],
  ];
  for (const [value, type, fits] of cases) assert.equal(fitsArgument(value, type), fits, `${String(value)} as ${type}`);
});
