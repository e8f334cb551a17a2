// Resolvers of entity roots and entity fields. Roots only name entities; feature fields read their
// view's packed value through the request's loader, so one level costs one store round trip.
import type { GraphQLFieldResolver } from 'graphql';
import type { FeatureRegistry, ResolvedEntity, ResolvedFeature, ResolvedRequestFeature } from '../schema/registry.js';
import { FeaturegraphError } from '../schema/errors.js';
import type { FeatureInputs, FeatureValue, RequestArguments } from '../schema/types.js';
import type { RequestContext } from './context.js';
import { readFeature, type FeatureRead } from '../schema/snapshot.js';
import { graphqlError } from './errors.js';

export type TimeMode = 'EVENT_TIME' | 'SERVED';

/** What an entity field resolves from: the entity's key (and, for past reads, the instant). */
export interface EntityRef {
  key: string;
  asOf: number | null;
  mode: TimeMode;
  /** Request-time arguments of a training-set row, by feature name. */
  inputs: Readonly<Record<string, RequestArguments>> | null;
}

type Resolver<TArgs = Record<string, unknown>> = GraphQLFieldResolver<EntityRef, RequestContext, TArgs>;
type RootResolver<TArgs> = GraphQLFieldResolver<unknown, RequestContext, TArgs>;

function refuseAsOf(entity: ResolvedEntity): never {
  throw graphqlError('AS_OF_UNAVAILABLE', `asOf reads of ${entity.name} are not served yet: point-in-time reads over the history store are not available in this version; ask without asOf for current values`);
}

function checkCount(entity: ResolvedEntity, count: number, context: RequestContext, field: string): void {
  const limit = context.services.limits.maxEntitiesPerField;
  if (count > limit) throw graphqlError('LIMIT_EXCEEDED', `${field} asks for ${count} ${entity.name} entities; at most ${limit} per field (split the request)`, { limit });
}

async function readStored(feature: ResolvedFeature, ref: EntityRef, context: RequestContext): Promise<FeatureRead> {
  const stored = await context.values.load({ view: feature.view.name, key: ref.key });
  return readFeature(feature, stored, context.now);
}

function storedFeatureResolver(feature: ResolvedFeature): Resolver {
  return async (ref, _args, context) => (await readStored(feature, ref, context)).value;
}

function matchesType(value: FeatureValue, type: ResolvedRequestFeature['type']): boolean {
  switch (type) {
    case 'Int':
      return typeof value === 'number' && Number.isInteger(value);
    case 'Float':
      return typeof value === 'number' && Number.isFinite(value);
    case 'String':
      return typeof value === 'string';
    case 'Boolean':
      return typeof value === 'boolean';
    case '[Float]':
      return Array.isArray(value) && value.every((v) => typeof v === 'number');
    case '[String]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    default: {
      const unreachable: never = type;
      throw new Error(`unknown type ${String(unreachable)}`);
    }
  }
}

/** Runs a request-time feature's function; the training-set path calls this very function. */
export function computeRequestFeature(feature: ResolvedRequestFeature, args: RequestArguments, inputs: FeatureInputs): FeatureValue {
  let value: FeatureValue;
  try {
    value = feature.def.compute(args, inputs);
  } catch (error) {
    if (error instanceof FeaturegraphError) throw error;
    throw new FeaturegraphError('REQUEST_FEATURE_FAILED', `request feature ${feature.entity.name}.${feature.name} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (value === null || value === undefined) return null;
  if (!matchesType(value, feature.type)) {
    throw new FeaturegraphError('REQUEST_FEATURE_FAILED', `request feature ${feature.entity.name}.${feature.name} returned ${JSON.stringify(value)}, not a ${feature.type}`);
  }
  return value;
}

function requestFeatureResolver(feature: ResolvedRequestFeature): Resolver<RequestArguments> {
  return async (ref, args, context) => {
    const reads = await Promise.all(feature.inputs.map((input) => readStored(input, ref, context)));
    // An entity the stores know nothing of has no request-time features either: null, not a guess.
    if (reads.length > 0 && reads.every((read) => read.status === 'MISSING')) return null;
    const inputs: Record<string, FeatureValue> = {};
    reads.forEach((read, i) => {
      inputs[(feature.inputs[i] as ResolvedFeature).name] = read.value;
    });
    return computeRequestFeature(feature, args, inputs);
  };
}

export function entityResolvers(entity: ResolvedEntity): Record<string, Record<string, unknown>> {
  const fields: Record<string, unknown> = {
    [entity.key]: (ref: EntityRef) => ref.key,
    featureMeta: (ref: EntityRef) => ref,
    __resolveReference: (reference: Record<string, unknown>): EntityRef => ({ key: String(reference[entity.key]), asOf: null, mode: 'EVENT_TIME', inputs: null }),
  };
  const meta: Record<string, Resolver> = {};
  for (const feature of entity.features.values()) {
    fields[feature.name] = storedFeatureResolver(feature);
    meta[feature.name] = (ref, _args, context) => readStored(feature, ref, context);
  }
  for (const feature of entity.requestFeatures.values()) fields[feature.name] = requestFeatureResolver(feature);
  return { [entity.name]: fields, [entity.names.metaType]: meta };
}

interface LookupArgs {
  asOf?: number | null;
  mode?: TimeMode;
  [key: string]: unknown;
}

export function rootResolvers(registry: FeatureRegistry): Record<string, RootResolver<LookupArgs>> {
  const roots: Record<string, RootResolver<LookupArgs>> = {};
  for (const entity of registry.entities.values()) {
    const { names } = entity;
    roots[names.lookup] = (_root, args) => {
      if (args.asOf !== undefined && args.asOf !== null) refuseAsOf(entity);
      return { key: String(args[entity.key]), asOf: null, mode: args.mode ?? 'EVENT_TIME', inputs: null } satisfies EntityRef;
    };
    roots[names.list] = (_root, args, context) => {
      const keys = args[names.listKeys] as string[];
      checkCount(entity, keys.length, context, names.list);
      if (args.asOf !== undefined && args.asOf !== null) refuseAsOf(entity);
      return keys.map((key): EntityRef => ({ key, asOf: null, mode: args.mode ?? 'EVENT_TIME', inputs: null }));
    };
    roots[names.trainingSet] = (_root, args, context) => {
      const rows = args.rows as unknown[];
      checkCount(entity, rows.length, context, names.trainingSet);
      refuseAsOf(entity);
    };
  }
  return roots;
}

