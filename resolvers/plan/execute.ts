// Runs a compiled plan: one store read for every (view, entity) the operation needs, then the JSON
// response written straight from the packed values, byte for byte what Apollo would answer. Anything
// unusual at run time (a coercion error, a limit, asOf, a store failure, a request-time feature that
// throws) returns null, and Apollo answers that request with its errors.
import { getArgumentValues, getVariableValues, type GraphQLSchema } from 'graphql';
import type { OnlineKey, OnlineStore, StoredValue } from '../../adapters/online/types.js';
import type { FeatureValue, RequestArguments } from '../../schema/types.js';
import { readFeature, snapshotState } from '../../schema/snapshot.js';
import { windowValue } from '../../schema/windows.js';
import { computeRequestFeature } from '../entities.js';
import type { LeafPlan, OperationPlan, RootPlan } from './compile.js';

export interface PlanRuntime {
  schema: GraphQLSchema;
  store: OnlineStore;
  maxEntitiesPerField: number;
  now: () => number;
}

interface RootWork {
  root: RootPlan;
  keys: string[];
  /** For entity i and view j of root.views, the slot of its value in the store read: slots[i * views + j]. */
  slots: number[];
}

/**
 * The common cases of graphql-js's scalar serialization, without allocating; anything else goes
 * through the scalar itself (which coerces or throws exactly as the executor would).
 */
function fastLeafJson(leaf: Extract<LeafPlan, { kind: 'stored' | 'request' }>, value: FeatureValue | undefined): string {
  if (value === null || value === undefined) return 'null';
  switch (leaf.type) {
    case 'Float':
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      break;
    case 'Int':
      if (typeof value === 'number' && Number.isInteger(value) && value <= 2147483647 && value >= -2147483648) return String(value);
      break;
    case 'String':
      if (typeof value === 'string') return JSON.stringify(value);
      break;
    case 'Boolean':
      if (typeof value === 'boolean') return value ? 'true' : 'false';
      break;
    default:
      break;
  }
  return leafJson(leaf, value);
}

/** Serializes a leaf the way graphql-js completes it; throws where graphql-js would report an error. */
function leafJson(leaf: Extract<LeafPlan, { kind: 'stored' | 'request' }>, value: FeatureValue): string {
  if (value === null || value === undefined) return 'null';
  if (leaf.list) {
    if (!Array.isArray(value)) throw new Error('not a list');
    return JSON.stringify(value.map((v) => (v === null ? null : leaf.scalar.serialize(v))));
  }
  return JSON.stringify(leaf.scalar.serialize(value));
}

export async function executePlan(plan: OperationPlan, runtime: PlanRuntime, rawVariables: unknown): Promise<string | null> {
  const variables = getVariableValues(runtime.schema, plan.operation.variableDefinitions ?? [], (rawVariables ?? {}) as Record<string, unknown>);
  if (variables.errors) return null;
  const work: RootWork[] = [];
  for (const root of plan.roots) {
    const args = getArgumentValues(root.field, root.node, variables.coerced);
    if (args.asOf !== undefined && args.asOf !== null) return null;
    const keys = root.list ? (args[root.entity.names.listKeys] as string[]) : [String(args[root.entity.key])];
    if (keys.length > runtime.maxEntitiesPerField) return null;
    work.push({ root, keys, slots: [] });
  }
  const now = runtime.now();
  const slots = new Map<string, number>();
  const onlineKeys: OnlineKey[] = [];
  for (const { root, keys, slots: rootSlots } of work) {
    for (const key of keys) {
      for (const view of root.views) {
        const id = `${view.name}\u0000${key}`;
        let slot = slots.get(id);
        if (slot === undefined) {
          slot = onlineKeys.length;
          slots.set(id, slot);
          onlineKeys.push({ view: view.name, key });
        }
        rootSlots.push(slot);
      }
    }
  }
  let stored: (StoredValue | null)[];
  try {
    stored = onlineKeys.length > 0 ? await runtime.store.read(onlineKeys) : [];
  } catch {
    return null;
  }
  try {
    let out = '{"data":{';
    work.forEach(({ root, keys, slots: rootSlots }, rootIndex) => {
      if (rootIndex > 0) out += ',';
      out += root.prefix;
      if (root.list) out += '[';
      keys.forEach((key, i) => {
        if (i > 0) out += ',';
        out += entityJson(root, key, stored, rootSlots, i * root.views.length, now, variables.coerced);
      });
      if (root.list) out += ']';
    });
    return `${out}}}\n`;
  } catch {
    return null;
  }
}

function entityJson(root: RootPlan, key: string, stored: readonly (StoredValue | null)[], slots: readonly number[], first: number, now: number, variables: Record<string, unknown>): string {
  const storedOf = (viewIndex: number): StoredValue | null => stored[slots[first + viewIndex] as number] ?? null;
  // Each view's packed value once per entity, null unless live (gone past retention or expired past
  // ttl reads null, by the rule readFeature follows).
  const states: (StoredValue | null)[] = new Array(root.views.length);
  for (let i = 0; i < root.views.length; i++) {
    const value = storedOf(i);
    states[i] = value !== null && snapshotState(root.views[i] as RootPlan['views'][number], value, now) === 'live' ? value : null;
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
        if (!state) out += 'null';
        else if (leaf.feature.window) out += fastLeafJson(leaf, windowValue(leaf.feature.window, state.tiles?.[leaf.feature.name], now));
        else out += fastLeafJson(leaf, state.values?.[leaf.feature.name]);
        break;
      }
      case 'request': {
        const reads = leaf.feature.inputs.map((input) => readFeature(input, storedOf(root.views.indexOf(input.view)), now));
        if (reads.length > 0 && reads.every((r) => r.status === 'MISSING')) {
          out += 'null';
          break;
        }
        const inputs: Record<string, FeatureValue> = {};
        reads.forEach((read) => {
          inputs[read.feature] = read.value;
        });
        const args = getArgumentValues(leaf.field, leaf.node, variables) as RequestArguments;
        out += fastLeafJson(leaf, computeRequestFeature(leaf.feature, args, inputs));
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
