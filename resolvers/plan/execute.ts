// Runs a compiled plan: one store read for every (view, entity) the operation needs, and the views'
// watermarks in the same round trip, then the JSON response written straight from the packed values,
// byte for byte what Apollo would answer. A coded store failure is answered here too (unless featureMeta
// is asked): the stored fields null, one error per field path with its count (store-failures.ts, as
// Apollo's side words them). Anything else unusual at run time (a value that
// does not fit its feature's type, a limit, asOf, a request-time feature that throws) is declined, and
// Apollo answers that request with its errors; when the store was read already, Apollo answers from
// that read. A request sampled for the served-feature log reads its entities' segment features in the
// same round trip, and its answer's records are offered once the answer is this path's (served.ts).
import { getArgumentValues, getVariableValues, type FieldNode, type GraphQLSchema } from 'graphql';
import type { OnlineKey, OnlineStore, StoredValue, ViewWatermark } from '../../adapters/online/types.js';
import { FeaturegraphError } from '../../schema/errors.js';
import type { FeatureType, FeatureValue, RequestArguments } from '../../schema/types.js';
import { liveValue, readFeature, snapshotState, type FeatureRead } from '../../schema/snapshot.js';
import { requestFeatureValue } from '../../schema/request-features.js';
import { misfit, typedValue } from '../../schema/value-rules.js';
import type { PriorRead } from '../context.js';
import { StoreFailures } from '../store-failures.js';
import type { OperationTelemetry } from '../telemetry.js';
import type { ServedLogSink } from '../served-log.js';
import type { LeafPlan, MetaFeaturePlan, MetaField, OperationPlan, RootPlan } from './compile.js';
import { servedRecords } from './served.js';
import { RootTally } from './tally.js';

export interface PlanRuntime {
  schema: GraphQLSchema;
  store: OnlineStore;
  maxEntitiesPerField: number;
  now: () => number;
}

/** The whole response body; or none, for Apollo to answer, with the store read made so far if any. */
export type PlanAnswer = { body: string; read?: undefined } | { body: null; read?: PriorRead };

const declined: PlanAnswer = { body: null };

interface RootWork {
  root: RootPlan;
  keys: string[];
  /** For entity i and view j of root.views, the slot of its value in the store read: slots[i * views + j]. */
  slots: number[];
  /** The same for root.segmentViews, read only when the request is sampled for the served-feature log. */
  segmentSlots: number[];
}

/**
 * A leaf's JSON, as Apollo answers it: a value that fits its feature's type (schema/value-rules.ts)
 * is written as graphql-js serializes it (its JSON; -0 as 0); one that does not throws, and Apollo
 * answers the request with that field's error.
 */
function leafJson(type: FeatureType, value: FeatureValue | undefined): string {
  const typed = typedValue(type, value);
  if (typed === misfit) throw new Error('a value that does not fit its type');
  if (typed === null) return 'null';
  if (typeof typed === 'number') return String(typed);
  if (typeof typed === 'boolean') return typed ? 'true' : 'false';
  return JSON.stringify(typed);
}

/**
 * Runs a plan; `operation`, when the gateway has telemetry, is told what the answer served, if it is
 * this path's; `servedLog`, when the request is sampled for the served-feature log, gets its records then.
 */
export async function executePlan(plan: OperationPlan, runtime: PlanRuntime, rawVariables: unknown, operation: OperationTelemetry | null = null, servedLog: ServedLogSink | null = null): Promise<PlanAnswer> {
  const variables = getVariableValues(runtime.schema, plan.operation.variableDefinitions ?? [], (rawVariables ?? {}) as Record<string, unknown>);
  if (variables.errors) return declined;
  const work: RootWork[] = [];
  for (const root of plan.roots) {
    const args = getArgumentValues(root.field, root.node, variables.coerced);
    if (args.asOf !== undefined && args.asOf !== null) return declined;
    const keys = root.list ? (args[root.entity.names.listKeys] as string[]) : [String(args[root.entity.key])];
    if (keys.length > runtime.maxEntitiesPerField) return declined;
    work.push({ root, keys, slots: [], segmentSlots: [] });
  }
  const slots = new Map<string, number>();
  const onlineKeys: OnlineKey[] = [];
  const slotOf = (view: string, key: string): number => {
    const id = `${view}\u0000${key}`;
    let slot = slots.get(id);
    if (slot === undefined) {
      slot = onlineKeys.length;
      slots.set(id, slot);
      onlineKeys.push({ view, key });
    }
    return slot;
  };
  for (const { root, keys, slots: rootSlots } of work) {
    for (const key of keys) for (const view of root.views) rootSlots.push(slotOf(view.name, key));
  }
  if (servedLog) {
    for (const { root, keys, segmentSlots } of work) {
      for (const key of keys) for (const view of root.segmentViews) segmentSlots.push(slotOf(view.name, key));
    }
  }
  let stored: (StoredValue | null)[] = [];
  let watermarks: ReadonlyMap<string, ViewWatermark> = new Map();
  let result: PriorRead['result'] | undefined;
  if (onlineKeys.length > 0) {
    try {
      const served = await (operation ? operation.onlineRead(onlineKeys, () => runtime.store.readServing(onlineKeys)) : runtime.store.readServing(onlineKeys));
      ({ values: stored, watermarks } = served);
      result = { ok: true, ...served };
    } catch (error) {
      result = { ok: false, error };
    }
  }
  // The answer's instant is when the store answered (resolvers/context.ts, OnlineRead says why).
  const now = runtime.now();
  const read: PriorRead | undefined = result && { now, keys: onlineKeys, result };
  if (result?.ok === false) {
    // Only a coded failure is worded here; Apollo words (and masks) anything else, from this read. A
    // failed featureMeta nulls its whole entity on Apollo's side (its fields cannot be null): Apollo's too.
    if (!(result.error instanceof FeaturegraphError) || work.some(({ root }) => root.leaves.some((leaf) => leaf.kind === 'meta'))) return { body: null, read };
    // Every value reads as absent, so each field is written as the null Apollo gives it.
    stored = new Array<StoredValue | null>(onlineKeys.length).fill(null);
  }
  // Counted only from a read that answered: a failed one served no values, only errors.
  const tallies = operation ? work.map(({ root }) => RootTally.begin(root, watermarks, now)) : null;
  const readOk = read?.result.ok !== false;
  const from = operation?.recorded ? performance.now() : 0;
  try {
    let out = '{"data":{';
    work.forEach(({ root, keys, slots: rootSlots }, rootIndex) => {
      if (rootIndex > 0) out += ',';
      out += root.prefix;
      if (root.list) out += '[';
      keys.forEach((key, i) => {
        if (i > 0) out += ',';
        out += entityJson(root, key, stored, rootSlots, i * root.views.length, now, watermarks, variables.coerced, readOk ? (tallies?.[rootIndex] ?? null) : null);
      });
      if (root.list) out += ']';
    });
    out += '}}\n';
    if (operation) {
      operation.identify(plan.operation.operation, plan.operation.name?.value ?? null);
      const to = operation.recorded ? performance.now() : 0;
      tallies?.forEach((tally, rootIndex) => tally.commit(operation, (work[rootIndex] as RootWork).keys.length, readOk, from, to));
    }
    if (read?.result.ok === false) {
      operation?.failed((read.result.error as FeaturegraphError).code);
      return { body: `{"errors":${failedReadErrors(work, read.result.error)},${out.slice(1)}` };
    }
    // Logged only from a read that answered: a failed one served nothing from the store (as on Apollo's side).
    servedLog?.offer(servedRecords(work, stored, now, watermarks, variables.coerced));
    return { body: out };
  } catch {
    return { body: null, read };
  }
}

/**
 * The errors of a failed read, as Apollo's resolvers report them: every field that reads the store
 * (stored features, request-time features with stored inputs) of every entity is null, one error
 * per field path with the count of its entities.
 */
function failedReadErrors(work: readonly RootWork[], error: unknown): string {
  const failures = new StoreFailures();
  for (const { root, keys } of work) {
    if (keys.length === 0) continue;
    const rootKey = root.node.alias?.value ?? root.node.name.value;
    // A plan has one leaf per selected field, in selection order (compile.ts refuses anything else).
    const fields = (root.node.selectionSet?.selections ?? []) as readonly FieldNode[];
    root.leaves.forEach((leaf, i) => {
      if (leaf.kind !== 'stored' && !(leaf.kind === 'request' && leaf.feature.inputs.length > 0)) return;
      const node = fields[i] as FieldNode;
      const key = node.alias?.value ?? node.name.value;
      failures.add(error, node, root.list ? [rootKey, 0, key] : [rootKey, key], keys.length);
    });
  }
  return JSON.stringify(failures.format());
}

/** One entity's JSON. `tally`, when there is telemetry and the read answered, counts what it served. */
function entityJson(root: RootPlan, key: string, stored: readonly (StoredValue | null)[], slots: readonly number[], first: number, now: number, watermarks: ReadonlyMap<string, ViewWatermark>, variables: Record<string, unknown>, tally: RootTally | null): string {
  const storedOf = (viewIndex: number): StoredValue | null => stored[slots[first + viewIndex] as number] ?? null;
  // Each view's packed value once per entity, null unless live (gone past retention or expired past
  // ttl reads null): readFeature's own snapshotState and liveValue.
  const states: (StoredValue | null)[] = new Array(root.views.length);
  for (let i = 0; i < root.views.length; i++) {
    const value = storedOf(i);
    const state = value === null ? 'gone' : snapshotState(root.views[i] as RootPlan['views'][number], value, now);
    states[i] = state === 'live' ? value : null;
    tally?.entityView(i, value, state, now);
  }
  let out = '{';
  for (let i = 0; i < root.leaves.length; i++) {
    const leaf = root.leaves[i] as LeafPlan;
    if (i > 0) out += ',';
    out += leaf.prefix;
    switch (leaf.kind) {
      case 'key':
        out += JSON.stringify(key);
        break;
      case 'typename':
        out += leaf.json;
        break;
      case 'stored': {
        const state = states[leaf.viewIndex];
        if (state) {
          const value = liveValue(leaf.feature, state, now);
          if (value === undefined) tally?.absentValue(i);
          out += leafJson(leaf.type, value);
        } else out += 'null';
        break;
      }
      case 'meta':
        out += metaJson(leaf.features, storedOf, now, watermarks);
        break;
      case 'request': {
        const reads = leaf.feature.inputs.map((input) => readFeature(input, storedOf(root.views.indexOf(input.view)), now, watermarks.get(input.view.name)?.watermark ?? null));
        const args = getArgumentValues(leaf.field, leaf.node, variables) as RequestArguments;
        out += leafJson(leaf.type, requestFeatureValue(leaf.feature, args, reads));
        break;
      }
      default: {
        const unreachable: never = leaf;
        throw new Error(`unknown leaf ${JSON.stringify(unreachable)}`);
      }
    }
  }
  return `${out}}`;
}

const instantJson = (ms: number | null): string => (ms === null ? 'null' : JSON.stringify(new Date(ms).toISOString()));

/** One FeatureValueMeta field, as graphql-js serializes it (resolvers/entities.ts resolves it from the same read). */
function metaFieldJson(field: MetaField, read: FeatureRead, freshnessMs: number): string {
  switch (field) {
    case 'feature':
    case 'status':
      return JSON.stringify(read[field]);
    case 'value':
      // The JSON scalar passes the value as it is; JSON writes what it cannot carry (Infinity) as null.
      return JSON.stringify(read.value) ?? 'null';
    case 'eventTime':
    case 'availableTime':
    case 'watermark':
      return instantJson(read[field]);
    case 'ageMs':
      return read.ageMs === null ? 'null' : JSON.stringify(read.ageMs);
    case 'freshnessMs':
      return JSON.stringify(freshnessMs);
    case '__typename':
      return '"FeatureValueMeta"';
    default: {
      const unreachable: never = field;
      throw new Error(`unknown meta field ${String(unreachable)}`);
    }
  }
}

/** featureMeta of one entity: each feature read as the Apollo path reads it (readFeature, its view's watermark). */
function metaJson(features: readonly MetaFeaturePlan[], storedOf: (viewIndex: number) => StoredValue | null, now: number, watermarks: ReadonlyMap<string, ViewWatermark>): string {
  let out = '{';
  features.forEach((plan, i) => {
    if (i > 0) out += ',';
    out += plan.prefix;
    if (plan.kind === 'typename') {
      out += plan.json;
      return;
    }
    const view = plan.feature.view;
    const read = readFeature(plan.feature, storedOf(plan.viewIndex), now, watermarks.get(view.name)?.watermark ?? null);
    out += '{';
    plan.fields.forEach(({ prefix, field }, j) => {
      if (j > 0) out += ',';
      out += prefix + metaFieldJson(field, read, view.freshnessMs);
    });
    out += '}';
  });
  return `${out}}`;
}
