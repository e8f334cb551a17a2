// The request-time arguments of one training-set row, checked where they enter: `inputs` is free JSON
// in the schema, so its shape and types are this module's to enforce, with messages that name the row,
// the feature and the argument. The CLI and HTTP exports check their input columns with the same rules.
import { BadInputError } from '../schema/errors.js';
import { fitsScalar, type ScalarType } from '../schema/value-rules.js';
import type { ResolvedEntity, ResolvedRequestFeature } from '../schema/registry.js';
import type { RequestArgumentType, RequestArguments } from '../schema/types.js';

/** Request-time arguments of one row, by request-time feature name. */
export type RowInputs = Readonly<Record<string, RequestArguments>>;

type ArgumentValue = RequestArguments[string];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a JSON value fits an argument type (null only where the type allows it), by the value rule of its scalar. */
export function fitsArgument(value: unknown, type: RequestArgumentType): value is ArgumentValue {
  if (value === null) return !type.endsWith('!');
  return fitsScalar(type.replace('!', '') as ScalarType, value);
}

function requestFeatureOf(entity: ResolvedEntity, name: string, where: string): ResolvedRequestFeature {
  const feature = entity.requestFeatures.get(name);
  if (!feature) {
    const known = [...entity.requestFeatures.keys()];
    throw new BadInputError(`${where}: ${JSON.stringify(name)} is not a request-time feature of ${entity.name}; inputs are keyed by ${known.length > 0 ? known.join(', ') : '(none: this entity has no request-time features)'}`);
  }
  return feature;
}

/** One feature's arguments from a JSON object, every name and type checked. */
export function parseFeatureArguments(feature: ResolvedRequestFeature, raw: unknown, where: string): RequestArguments {
  if (!isObject(raw)) throw new BadInputError(`${where}: inputs.${feature.name} must be an object of its arguments, e.g. { ${Object.keys(feature.def.arguments).map((a) => `"${a}": ...`).join(', ')} }, got ${JSON.stringify(raw)}`);
  // Names come from the request: an argument is looked up as an own property only (a plain lookup would
  // find "toString" or "__proto__" on the prototype), and collected in an object without a prototype.
  const args: Record<string, ArgumentValue> = Object.create(null) as Record<string, ArgumentValue>;
  for (const [name, value] of Object.entries(raw)) {
    const type = Object.hasOwn(feature.def.arguments, name) ? feature.def.arguments[name] : undefined;
    if (type === undefined) throw new BadInputError(`${where}: ${feature.name} has no argument ${JSON.stringify(name)}; its arguments: ${Object.entries(feature.def.arguments).map(([a, t]) => `${a}: ${t}`).join(', ')}`);
    if (!fitsArgument(value, type)) throw new BadInputError(`${where}: ${feature.name}.${name} must be a ${type}, got ${JSON.stringify(value)}`);
    args[name] = value;
  }
  return args;
}

/** A row's `inputs` JSON: { <request-time feature>: { <argument>: value } }, or null when absent. */
export function parseRowInputs(entity: ResolvedEntity, raw: unknown, where: string): RowInputs | null {
  if (raw === null || raw === undefined) return null;
  if (!isObject(raw)) throw new BadInputError(`${where}: inputs must be an object keyed by request-time feature, e.g. { "etaMinutes": { "distanceKm": 3 } }, got ${JSON.stringify(raw)}`);
  const out: Record<string, RequestArguments> = Object.create(null) as Record<string, RequestArguments>;
  for (const [name, args] of Object.entries(raw)) out[name] = parseFeatureArguments(requestFeatureOf(entity, name, where), args, where);
  return out;
}
