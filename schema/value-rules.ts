// Whether a value fits its feature's type: one rule for every path that delivers a feature value, the
// GraphQL ones (Apollo and the fast path, online and asOf, training sets) and the Parquet exports. A
// value that does not fit is null everywhere: GraphQL says why (INVALID_FEATURE_VALUE for a stored
// feature, REQUEST_FEATURE_FAILED for a request-time one), an export writes null in its cell.
//
// The rule is what every one of those paths can carry:
// - Int: an integer from -2^31 to 2^31 - 1. GraphQL's Int is 32-bit (graphql-js refuses anything wider,
//   and a double past 2^53 is not even the integer it claims), so a wider Int could be exported but
//   never served. (Exports wrote any safe integer; request-time features passed any integer.)
// - Float: a finite number. GraphQL's Float and JSON have no NaN nor ±Infinity. (Exports wrote any
//   number.) -0 is delivered as 0: JSON writes it so, and the embedded history keeps JSON.
// - String, Boolean: a string, a boolean. Nothing is coerced: graphql-js served 5 as "5", "12" as 12 and
//   1 as true, where a typed export column had null.
// - [Float], [String]: a list whose every element fits Float, String: no null elements, no nested lists.
import { FeaturegraphError } from './errors.js';
import type { ResolvedFeature } from './registry.js';
import type { FeatureType, FeatureValue } from './types.js';

export const intRange = { min: -2147483648, max: 2147483647 } as const;

export type ScalarType = 'Int' | 'Float' | 'String' | 'Boolean';

/** What fits each type, in words, for messages. */
const contracts: Record<FeatureType, string> = {
  Int: `an integer from ${intRange.min} to ${intRange.max}`,
  Float: 'a finite number',
  String: 'a string',
  Boolean: 'true or false',
  '[Float]': 'a list of finite numbers',
  '[String]': 'a list of strings',
};

export function fitsScalar(type: ScalarType, value: unknown): boolean {
  switch (type) {
    case 'Int':
      return typeof value === 'number' && Number.isInteger(value) && value >= intRange.min && value <= intRange.max;
    case 'Float':
      return typeof value === 'number' && Number.isFinite(value);
    case 'String':
      return typeof value === 'string';
    case 'Boolean':
      return typeof value === 'boolean';
    default: {
      const unreachable: never = type;
      throw new Error(`unknown scalar type ${String(unreachable)}`);
    }
  }
}

function fitsType(type: FeatureType, value: unknown): boolean {
  switch (type) {
    case '[Float]':
      return Array.isArray(value) && value.every((v) => fitsScalar('Float', v));
    case '[String]':
      return Array.isArray(value) && value.every((v) => fitsScalar('String', v));
    default:
      return fitsScalar(type, value);
  }
}

/** Marks a value that does not fit its feature's type (typedValue). */
export const misfit: unique symbol = Symbol('misfit');

/** -0 as 0, in a list too (the same list when it holds none). */
function withoutNegativeZero(value: FeatureValue): FeatureValue {
  if (value === 0) return 0;
  if (Array.isArray(value) && value.some((v) => Object.is(v, -0))) return (value as number[]).map((v) => (v === 0 ? 0 : v));
  return value;
}

/** The value every path delivers for a feature of `type`: null for null or absent, the value where it fits (-0 as 0), else `misfit`. */
export function typedValue(type: FeatureType, value: unknown): FeatureValue | typeof misfit {
  if (value === null || value === undefined) return null;
  return fitsType(type, value) ? withoutNegativeZero(value as FeatureValue) : misfit;
}

/** What an export writes in a feature's typed column: the delivered value, or null where it does not fit. */
export function exportedValue(type: FeatureType, value: unknown): FeatureValue {
  const typed = typedValue(type, value);
  return typed === misfit ? null : typed;
}

/** A value as JSON would write it, but numbers as they are: NaN, Infinity and -0 by name. */
function valueText(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (Array.isArray(value)) return `[${value.map(valueText).join(',')}]`;
  return JSON.stringify(value) ?? String(value);
}

/** A value in a message, short: a 1 MB text is not repeated. */
export function shownValue(value: unknown): string {
  const text = valueText(value);
  return text.length > 80 ? `${text.slice(0, 80)}... (${text.length} characters)` : text;
}

/** Why a value is not one of `type`, for a message: "<value>, not a <type> (<what fits>)". */
export function misfitReason(type: FeatureType, value: unknown): string {
  return `${shownValue(value)}, not a ${type} (${contracts[type]})`;
}

/** A stored feature's value as GraphQL serves it: the delivered value, or INVALID_FEATURE_VALUE where it does not fit. */
export function servedValue(feature: ResolvedFeature, value: unknown): FeatureValue {
  const typed = typedValue(feature.type, value);
  if (typed === misfit) throw new FeaturegraphError('INVALID_FEATURE_VALUE', `${feature.view.entity.name}.${feature.name} (view ${feature.view.name}) holds ${misfitReason(feature.type, value)}`);
  return typed;
}
