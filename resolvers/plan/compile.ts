// Compiles a GraphQL operation, once, into a plan that the fast path runs without the generic executor:
// which entities, which keys (from arguments), which views to read in one round trip, and how to
// write each leaf. Only shapes whose answer is fully known from packed values and their views'
// watermarks compile (featureMeta included); anything else (introspection, federation, fragments,
// directives, training sets) returns null and goes to Apollo; so does any request with asOf (executePlan declines it at run time, as asOf may be a variable):
// reads of the past go through the history store's loader, which only the resolvers use.
import {
  Kind,
  validate,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import type { FeatureRegistry, ResolvedEntity, ResolvedFeature, ResolvedRequestFeature, ResolvedView } from '../../schema/registry.js';
import type { FeatureType } from '../../schema/types.js';

/** A field of FeatureValueMeta (a FeatureRead's, or its view's SLA), or its __typename. */
export type MetaField = 'feature' | 'status' | 'value' | 'eventTime' | 'availableTime' | 'ageMs' | 'watermark' | 'freshnessMs' | '__typename';

const metaFields: ReadonlySet<string> = new Set<MetaField>(['feature', 'status', 'value', 'eventTime', 'availableTime', 'ageMs', 'watermark', 'freshnessMs', '__typename']);

/** One feature of featureMeta: its FeatureValueMeta's fields in selection order (or the meta type's __typename). */
export type MetaFeaturePlan = { kind: 'feature'; prefix: string; feature: ResolvedFeature; viewIndex: number; fields: { prefix: string; field: MetaField }[] } | { kind: 'typename'; prefix: string; json: string };

export type LeafPlan =
  | { kind: 'key'; prefix: string }
  | { kind: 'typename'; prefix: string; json: string }
  | { kind: 'stored'; prefix: string; feature: ResolvedFeature; type: FeatureType; viewIndex: number }
  | { kind: 'request'; prefix: string; feature: ResolvedRequestFeature; field: GraphQLField<unknown, unknown>; node: FieldNode; type: FeatureType }
  | { kind: 'meta'; prefix: string; features: MetaFeaturePlan[] };

export interface RootPlan {
  /** `"responseKey":` ready to write. */
  prefix: string;
  entity: ResolvedEntity;
  list: boolean;
  field: GraphQLField<unknown, unknown>;
  node: FieldNode;
  leaves: LeafPlan[];
  /** Every view a leaf reads, once. */
  views: ResolvedView[];
  /** The views of the entity's segment features that no leaf reads: read too when the request is sampled for the served-feature log. */
  segmentViews: ResolvedView[];
  /** The entity's segment features, each with its view's place in views, then segmentViews. */
  segments: { feature: ResolvedFeature; viewIndex: number }[];
}

export interface OperationPlan {
  operation: OperationDefinitionNode;
  roots: RootPlan[];
}

const prefixOf = (responseKey: string) => `${JSON.stringify(responseKey)}:`;

function plainSelections(set: SelectionSetNode | undefined): FieldNode[] | null {
  if (!set) return null;
  const fields: FieldNode[] = [];
  const keys = new Set<string>();
  for (const selection of set.selections) {
    if (selection.kind !== Kind.FIELD || (selection.directives?.length ?? 0) > 0) return null;
    const key = selection.alias?.value ?? selection.name.value;
    // Repeated response keys need field merging: the executor's job.
    if (keys.has(key)) return null;
    keys.add(key);
    fields.push(selection);
  }
  return fields;
}

/** featureMeta's selection: plain fields, each a stored feature with a selection of FeatureValueMeta's fields. */
function compileMeta(entity: ResolvedEntity, selection: SelectionSetNode | undefined, views: Set<ResolvedView>): MetaFeaturePlan[] | null {
  const fields = plainSelections(selection);
  if (!fields) return null;
  const plans: MetaFeaturePlan[] = [];
  for (const node of fields) {
    const name = node.name.value;
    const prefix = prefixOf(node.alias?.value ?? name);
    if ((node.arguments?.length ?? 0) > 0) return null;
    if (name === '__typename') {
      if (node.selectionSet) return null;
      plans.push({ kind: 'typename', prefix, json: JSON.stringify(entity.names.metaType) });
      continue;
    }
    const feature = entity.features.get(name);
    const selected = plainSelections(node.selectionSet);
    if (!feature || !selected) return null;
    const metaOf: { prefix: string; field: MetaField }[] = [];
    for (const field of selected) {
      if (!metaFields.has(field.name.value) || field.selectionSet || (field.arguments?.length ?? 0) > 0) return null;
      metaOf.push({ prefix: prefixOf(field.alias?.value ?? field.name.value), field: field.name.value as MetaField });
    }
    views.add(feature.view);
    plans.push({ kind: 'feature', prefix, feature, viewIndex: -1, fields: metaOf });
  }
  return plans;
}

function compileEntity(entity: ResolvedEntity, selection: SelectionSetNode | undefined, schema: GraphQLSchema): { leaves: LeafPlan[]; views: ResolvedView[] } | null {
  const fields = plainSelections(selection);
  if (!fields) return null;
  const type = schema.getType(entity.name);
  if (!type || !('getFields' in type)) return null;
  const typeFields = type.getFields() as Record<string, GraphQLField<unknown, unknown>>;
  const leaves: LeafPlan[] = [];
  const views = new Set<ResolvedView>();
  for (const node of fields) {
    const name = node.name.value;
    const prefix = prefixOf(node.alias?.value ?? name);
    if (name === 'featureMeta') {
      if ((node.arguments?.length ?? 0) > 0) return null;
      const features = compileMeta(entity, node.selectionSet, views);
      if (!features) return null;
      leaves.push({ kind: 'meta', prefix, features });
      continue;
    }
    if (node.selectionSet) return null;
    if (name === '__typename') {
      leaves.push({ kind: 'typename', prefix, json: JSON.stringify(entity.name) });
    } else if (name === entity.key) {
      if ((node.arguments?.length ?? 0) > 0) return null;
      leaves.push({ kind: 'key', prefix });
    } else if (entity.features.has(name)) {
      if ((node.arguments?.length ?? 0) > 0) return null;
      const feature = entity.features.get(name) as ResolvedFeature;
      views.add(feature.view);
      leaves.push({ kind: 'stored', prefix, feature, type: feature.type, viewIndex: -1 });
    } else if (entity.requestFeatures.has(name)) {
      const feature = entity.requestFeatures.get(name) as ResolvedRequestFeature;
      const field = typeFields[name];
      if (!field) return null;
      for (const input of feature.inputs) views.add(input.view);
      leaves.push({ kind: 'request', prefix, feature, field, node, type: feature.type });
    } else {
      return null;
    }
  }
  const viewList = [...views];
  for (const leaf of leaves) {
    if (leaf.kind === 'stored') leaf.viewIndex = viewList.indexOf(leaf.feature.view);
    if (leaf.kind === 'meta') for (const plan of leaf.features) if (plan.kind === 'feature') plan.viewIndex = viewList.indexOf(plan.feature.view);
  }
  return { leaves, views: viewList };
}

/** Where a root finds its entity's segment features: among the views its leaves read, else in views of their own. */
function segmentsOf(entity: ResolvedEntity, views: readonly ResolvedView[]): Pick<RootPlan, 'segmentViews' | 'segments'> {
  const segmentViews = [...new Set(entity.segments.map((feature) => feature.view))].filter((view) => !views.includes(view));
  const all = [...views, ...segmentViews];
  return { segmentViews, segments: entity.segments.map((feature) => ({ feature, viewIndex: all.indexOf(feature.view) })) };
}

/** The plan of the operation, or null when the fast path does not answer it. */
export function compileOperation(
  document: DocumentNode,
  operationName: string | undefined,
  registry: FeatureRegistry,
  schema: GraphQLSchema,
  rules: readonly ValidationRule[],
): OperationPlan | null {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== document.definitions.length) return null;
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation || operation.operation !== 'query' || (operation.directives?.length ?? 0) > 0) return null;
  // Only valid operations: the same rules Apollo applies (spec rules plus limits), so a refusal is Apollo's to word.
  if (validate(schema, document, rules).length > 0) return null;
  const rootFields = plainSelections(operation.selectionSet);
  if (!rootFields) return null;
  const queryType = schema.getQueryType();
  if (!queryType) return null;
  const roots: RootPlan[] = [];
  for (const node of rootFields) {
    const name = node.name.value;
    const entity = [...registry.entities.values()].find((e) => e.names.lookup === name || e.names.list === name);
    const field = queryType.getFields()[name];
    if (!entity || !field) return null;
    const compiled = compileEntity(entity, node.selectionSet, schema);
    if (!compiled) return null;
    roots.push({ prefix: prefixOf(node.alias?.value ?? name), entity, list: name === entity.names.list, field, node, ...compiled, ...segmentsOf(entity, compiled.views) });
  }
  return { operation, roots };
}

