// Resolvers of entity roots and entity fields. Roots only name entities (and, for reads of the past, the
// instant and mode); feature fields read their view's packed value through the request's loader, or
// the view's history at asOf through the past loader, so one level costs one store round trip. An
// online entity of a request sampled for the served-feature log carries its record, which its fields
// fill in (served-log.ts).
import type { GraphQLFieldResolver, GraphQLResolveInfo } from 'graphql';
import type { FeatureRegistry, ResolvedEntity, ResolvedFeature, ResolvedRequestFeature } from '../schema/registry.js';
import type { RequestArguments } from '../schema/types.js';
import type { OnlineRead, RequestContext } from './context.js';
import { readFeature, type FeatureRead } from '../schema/snapshot.js';
import { requestFeatureStatus, requestFeatureValue } from '../schema/request-features.js';
import { servedValue } from '../schema/value-rules.js';
import { graphqlError } from './errors.js';
import type { TimeMode } from '../adapters/history/types.js';
import type { PastReads } from './past.js';
import { parseRowInputs, type RowInputs } from './request-inputs.js';
import type { ServedEntity } from './served-log.js';

export type { TimeMode };

/** What an entity field resolves from: the entity's key (and, for past reads, the instant). */
export interface EntityRef {
  key: string;
  asOf: number | null;
  mode: TimeMode;
  /** Request-time arguments of a training-set row, by feature name. */
  inputs: RowInputs | null;
  /** The entity's record when the operation is sampled for the served-feature log and the read is online; else null. */
  served: ServedEntity | null;
}

type Resolver<TArgs = Record<string, unknown>> = GraphQLFieldResolver<EntityRef, RequestContext, TArgs>;
type RootResolver<TArgs> = GraphQLFieldResolver<unknown, RequestContext, TArgs>;

const iso = (ms: number) => new Date(ms).toISOString();

/** Past reads need a history store, and an instant no later than the request's now. */
function checkAsOf(entity: ResolvedEntity, asOf: number, context: RequestContext, where: string): void {
  if (!context.past) {
    throw graphqlError('AS_OF_UNAVAILABLE', `${where}: asOf reads of ${entity.name} need a history store, and this gateway has none; configure history (embedded or snowflake) with materializers writing to it, or ask without asOf for current values`);
  }
  if (asOf > context.now) {
    throw graphqlError('BAD_USER_INPUT', `${where}: asOf ${iso(asOf)} is in the future (now is ${iso(context.now)}); features of an instant exist only once it has passed`, { asOf: iso(asOf), now: iso(context.now) });
  }
}

function checkCount(entity: ResolvedEntity, count: number, context: RequestContext, field: string): void {
  const limit = context.services.limits.maxEntitiesPerField;
  if (count > limit) throw graphqlError('LIMIT_EXCEEDED', `${field} asks for ${count} ${entity.name} entities; at most ${limit} per field (split the request)`, { limit });
}

/** What FeatureValueMeta resolves from: the read, and its view's freshness SLA. */
export type FeatureValueMeta = FeatureRead & { freshnessMs: number };

/** A read whose batch failed: the field resolves null and the failure is reported once per field path. */
interface FailedRead {
  readonly failed: unknown;
}

const isFailed = (read: FeatureRead | FailedRead): read is FailedRead => 'failed' in read;

/** A stored feature of the entity: now from the online store, or at ref.asOf from history. */
async function readStored(feature: ResolvedFeature, ref: EntityRef, context: RequestContext): Promise<FeatureRead | FailedRead> {
  if (ref.asOf !== null) {
    // Roots check this; a reference built elsewhere without it must not read the present instead.
    if (!context.past) throw graphqlError('AS_OF_UNAVAILABLE', 'asOf reads need a history store');
    let reads: PastReads;
    try {
      reads = await context.past.load({ view: feature.view, key: ref.key, asOf: ref.asOf, mode: ref.mode });
    } catch (error) {
      return { failed: error };
    }
    return reads[feature.name] as FeatureRead;
  }
  let read: OnlineRead;
  try {
    read = await context.values.load({ view: feature.view.name, key: ref.key });
  } catch (error) {
    if (ref.served) ref.served.failed = true;
    return { failed: error };
  }
  ref.served?.readAt(read.at);
  return readFeature(feature, read.stored, read.at, read.watermark);
}

/** Leaves the field null; its failure is reported once for all the elements of its list. */
function failedField(read: FailedRead, context: RequestContext, info: GraphQLResolveInfo): null {
  context.storeFailures.addAt(read.failed, info);
  return null;
}

function storedFeatureResolver(feature: ResolvedFeature): Resolver {
  return async (ref, _args, context, info) => {
    const logged = ref.served?.claim(feature.name) === true;
    const read = await readStored(feature, ref, context);
    if (isFailed(read)) return failedField(read, context, info);
    context.operation?.read(feature, read.status, read.ageMs, ref.asOf === null);
    const value = servedValue(feature, read.value);
    if (logged) (ref.served as ServedEntity).features[feature.name] = { value, status: read.status };
    return value;
  };
}

function requestFeatureResolver(feature: ResolvedRequestFeature): Resolver<RequestArguments> {
  return async (ref, args, context, info) => {
    const logged = ref.served?.claim(feature.name) === true;
    const loaded = await Promise.all(feature.inputs.map((input) => readStored(input, ref, context)));
    const failed = loaded.find(isFailed);
    if (failed) return failedField(failed, context, info);
    // A training-set row's own arguments win over the field's, argument by argument.
    const rowArgs = ref.inputs?.[feature.name];
    context.operation?.computed(feature);
    const value = requestFeatureValue(feature, rowArgs ? { ...args, ...rowArgs } : args, loaded as FeatureRead[]);
    if (logged) {
      const served = ref.served as ServedEntity;
      served.features[feature.name] = { value, status: requestFeatureStatus(loaded as FeatureRead[]) };
      served.inputs[feature.name] = args;
    }
    return value;
  };
}

export function entityResolvers(entity: ResolvedEntity): Record<string, Record<string, unknown>> {
  const fields: Record<string, unknown> = {
    [entity.key]: (ref: EntityRef) => ref.key,
    featureMeta: (ref: EntityRef) => ref,
    // Federation's _entities are online answers too: logged like a root's.
    __resolveReference: (reference: Record<string, unknown>, context: RequestContext): EntityRef => {
      const key = String(reference[entity.key]);
      return { key, asOf: null, mode: 'EVENT_TIME', inputs: null, served: servedEntity(entity, key, context) };
    },
  };
  const meta: Record<string, Resolver> = {};
  for (const feature of entity.features.values()) {
    fields[feature.name] = storedFeatureResolver(feature);
    // A meta value cannot be null: a failed read is thrown, graphql-js nulls the entity, and the
    // gateway folds those errors per field path too (StoreFailures.absorb).
    meta[feature.name] = async (ref, _args, context): Promise<FeatureValueMeta> => {
      const read = await readStored(feature, ref, context);
      if (isFailed(read)) throw read.failed;
      return { ...read, freshnessMs: feature.view.freshnessMs };
    };
  }
  for (const feature of entity.requestFeatures.values()) fields[feature.name] = requestFeatureResolver(feature);
  return { [entity.name]: fields, [entity.names.metaType]: meta };
}

/** The entity's record when the operation is sampled; made as its root resolves, before its fields. */
function servedEntity(entity: ResolvedEntity, key: string, context: RequestContext): ServedEntity | null {
  return context.served ? context.served.entity(entity, key, (online) => context.values.load(online)) : null;
}

interface LookupArgs {
  asOf?: number | null;
  mode?: TimeMode | null;
  [key: string]: unknown;
}

interface TrainingRow {
  asOf: number;
  inputs?: unknown;
  [key: string]: unknown;
}

export function rootResolvers(registry: FeatureRegistry): Record<string, RootResolver<LookupArgs>> {
  const roots: Record<string, RootResolver<LookupArgs>> = {};
  for (const entity of registry.entities.values()) {
    const { names } = entity;
    const refAt = (args: LookupArgs, context: RequestContext, where: string) => {
      const asOf = args.asOf ?? null;
      if (asOf !== null) checkAsOf(entity, asOf, context, where);
      const mode = args.mode ?? 'EVENT_TIME';
      // Answers of the past are not logged: the served log holds what was served online.
      return (key: string): EntityRef => ({ key, asOf, mode, inputs: null, served: asOf === null ? servedEntity(entity, key, context) : null });
    };
    roots[names.lookup] = (_root, args, context) => refAt(args, context, names.lookup)(String(args[entity.key]));
    roots[names.list] = (_root, args, context) => {
      const keys = args[names.listKeys] as string[];
      checkCount(entity, keys.length, context, names.list);
      return keys.map(refAt(args, context, names.list));
    };
    roots[names.trainingSet] = (_root, args, context) => {
      const rows = args.rows as TrainingRow[];
      checkCount(entity, rows.length, context, names.trainingSet);
      const mode = args.mode ?? 'SERVED';
      return rows.map((row, i): EntityRef => {
        const where = `${names.trainingSet} row ${i}`;
        checkAsOf(entity, row.asOf, context, where);
        let inputs: RowInputs | null;
        try {
          inputs = parseRowInputs(entity, row.inputs, where);
        } catch (error) {
          throw graphqlError('BAD_USER_INPUT', error instanceof Error ? error.message : String(error));
        }
        return { key: String(row[entity.key]), asOf: row.asOf, mode, inputs, served: null };
      });
    };
  }
  return roots;
}
