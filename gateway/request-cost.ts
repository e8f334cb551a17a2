// What a GraphQL operation may cost, known before it runs on either serving path: an upper bound of
// the work its execution does, in units of about one field value.
//  - Every field costs 1 each time it resolves, plus 1 per `charsPerUnit` characters of string in its
//    arguments (a request-time feature runs its function on its arguments for every entity); a
//    request-time feature also costs 1 per stored feature it reads.
//  - A field returning a list resolves its selection once per item: entity lists as many times as
//    their list argument is long (restaurantIds, rows, representations; a literal list or a variable's
//    value), featureCatalog as the catalog, featureHealth as featureHealthRows, introspection lists as
//    long as the schema's on average.
//  - A training-set row's characters (its request-time inputs) weigh on every value of its selection.
//  - Aliases, fragments (each spread) and inline fragments all count; a batch sums its operations.
// An operation is analysed once into an expression of its variables' sizes; each request evaluates it.
import {
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  getNamedType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { FeatureRegistry } from '../schema/registry.js';

/** A cost as a function of the request's variables: numbers fold as the expression is built. */
export type CostExpr =
  | number
  | { readonly op: 'sum'; readonly terms: readonly CostExpr[] }
  | { readonly op: 'product'; readonly factors: readonly CostExpr[] }
  /** Items of a variable's value: a list's length, 0 for null, 1 for anything else (coerced to a list of one). */
  | { readonly op: 'count'; readonly variable: string }
  /** Characters of the strings (and object keys) in a variable's value. */
  | { readonly op: 'chars'; readonly variable: string };

export interface ValueSize {
  count: number;
  chars: number;
}

export interface CostModel {
  readonly schema: GraphQLSchema;
  /** `Type.field` -> the argument whose list length is the field's item count. */
  readonly listArguments: ReadonlyMap<string, string>;
  /** `Type.field` -> a fixed item count (the catalog, introspection lists). */
  readonly fixedItems: ReadonlyMap<string, number>;
  /** `Type.field` -> what one resolution costs when not 1 (request-time features: 1 + the features they read). */
  readonly weights: ReadonlyMap<string, number>;
  /** `Type.field` whose arguments' characters weigh on every value of its selection (training-set rows). */
  readonly rowFields: ReadonlySet<string>;
  readonly charsPerUnit: number;
}

/** What the analysis of one operation keeps: small, and cached per query text. */
export interface OperationShape {
  readonly cost: CostExpr;
  /** Sizes of variables' default values, used when the request leaves them out. */
  readonly defaults: ReadonlyMap<string, ValueSize>;
  /** Fields of the query type the operation selects, through fragments too (_service, _entities...). */
  readonly rootFields: ReadonlySet<string>;
}

/** One unit per this many characters of string arguments (calibrated in bench/guards: one value on the Apollo path takes about as long as a request-time feature reading that many characters). */
export const defaultCharsPerUnit = 64;

/** What one featureHealth field counts as, in rows. */
export const featureHealthRows = 2 * (1 + 10);

/** The cost model of a gateway's schema: its entity lists, its catalog, the sizes of its introspection. */
export function costModel(schema: GraphQLSchema, registry: FeatureRegistry, charsPerUnit = defaultCharsPerUnit): CostModel {
  const query = schema.getQueryType()?.name ?? 'Query';
  const listArguments = new Map<string, string>([[`${query}._entities`, 'representations']]);
  const rowFields = new Set<string>();
  const weights = new Map<string, number>();
  for (const entity of registry.entities.values()) {
    listArguments.set(`${query}.${entity.names.list}`, entity.names.listKeys);
    listArguments.set(`${query}.${entity.names.trainingSet}`, 'rows');
    rowFields.add(`${query}.${entity.names.trainingSet}`);
    for (const feature of entity.requestFeatures.values()) weights.set(`${entity.name}.${feature.name}`, 1 + feature.inputs.length);
  }
  const types = Object.values(schema.getTypeMap());
  const directives = schema.getDirectives();
  const fields = types.flatMap((t) => (isObjectType(t) || isInterfaceType(t) ? Object.values(t.getFields()) : []));
  const perType = (count: (t: GraphQLNamedType) => number) => types.reduce((n, t) => n + count(t), 0) / types.length;
  const catalogSize = [...registry.features()].length + [...registry.requestFeatures()].length;
  // Introspection lists count as long as they are on average over the schema: `types` lists every
  // type, so its members' lists together are exactly the average times the types (a strict bound by
  // the longest would charge GraphiQL's own introspection query thirty times what it returns).
  const fixedItems = new Map<string, number>([
    [`${query}.featureCatalog`, catalogSize],
    // Rows depend on the data (segments seen, intervals): counted as both directions of a population
    // and ten segments, one interval.
    [`${query}.featureHealth`, featureHealthRows],
    ['__Schema.types', types.length],
    ['__Schema.directives', directives.length],
    ['__Type.fields', fields.length / types.length],
    ['__Type.interfaces', perType((t) => (isObjectType(t) || isInterfaceType(t) ? t.getInterfaces().length : 0))],
    ['__Type.possibleTypes', perType((t) => (isAbstractType(t) ? schema.getPossibleTypes(t).length : 0))],
    ['__Type.enumValues', perType((t) => (isEnumType(t) ? t.getValues().length : 0))],
    ['__Type.inputFields', perType((t) => (isInputObjectType(t) ? Object.keys(t.getFields()).length : 0))],
    ['__Field.args', fields.reduce((n, f) => n + f.args.length, 0) / Math.max(1, fields.length)],
    ['__Directive.args', directives.reduce((n, d) => n + d.args.length, 0) / Math.max(1, directives.length)],
    ['__Directive.locations', directives.reduce((n, d) => n + d.locations.length, 0) / Math.max(1, directives.length)],
  ]);
  return { schema, listArguments, fixedItems, weights, rowFields, charsPerUnit };
}

// Only numbers fold: inner sums are shared, never copied, or a fragment spread twice per level would
// copy 2^n terms where sharing keeps n nodes.
function sum(terms: readonly CostExpr[]): CostExpr {
  let constant = 0;
  const rest: CostExpr[] = [];
  for (const term of terms) {
    if (typeof term === 'number') constant += term;
    else rest.push(term);
  }
  if (rest.length === 0) return constant;
  if (constant === 0 && rest.length === 1) return rest[0] as CostExpr;
  return { op: 'sum', terms: constant === 0 ? rest : [constant, ...rest] };
}

function product(...factors: CostExpr[]): CostExpr {
  let constant = 1;
  const rest: CostExpr[] = [];
  for (const factor of factors) {
    if (typeof factor === 'number') constant *= factor;
    else rest.push(factor);
  }
  if (constant === 0 || rest.length === 0) return constant;
  if (constant === 1 && rest.length === 1) return rest[0] as CostExpr;
  return { op: 'product', factors: constant === 1 ? rest : [constant, ...rest] };
}

/** How many items a list argument's value has. */
function countOf(value: ValueNode): CostExpr {
  switch (value.kind) {
    case Kind.LIST:
      return value.values.length;
    case Kind.NULL:
      return 0;
    case Kind.VARIABLE:
      return { op: 'count', variable: value.name.value };
    default:
      return 1;
  }
}

/** Characters of the strings in an argument's value. */
function charsOf(value: ValueNode): CostExpr {
  switch (value.kind) {
    case Kind.STRING:
      return value.value.length;
    case Kind.LIST:
      return sum(value.values.map(charsOf));
    case Kind.OBJECT:
      return sum(value.fields.map((field) => sum([field.name.value.length, charsOf(field.value)])));
    case Kind.VARIABLE:
      return { op: 'chars', variable: value.name.value };
    default:
      return 0;
  }
}

/** Sizes of a JSON value, walked without recursion (a 2 MB body can nest a million lists deep). */
export function sizeOfJson(value: unknown): ValueSize {
  const count = Array.isArray(value) ? value.length : value === null || value === undefined ? 0 : 1;
  let chars = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') chars += item.length;
    else if (Array.isArray(item)) for (const inner of item) stack.push(inner);
    else if (typeof item === 'object' && item !== null) {
      for (const [key, inner] of Object.entries(item)) {
        chars += key.length;
        stack.push(inner);
      }
    }
  }
  return { count, chars };
}

interface Analysis {
  model: CostModel;
  queryType: GraphQLNamedType | undefined;
  fragments: Map<string, FragmentDefinitionNode>;
  fragmentCosts: Map<string, CostExpr>;
  inProgress: Set<string>;
  rootFields: Set<string>;
}

function ownField(analysis: Analysis, type: GraphQLNamedType | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  // Introspection's entry points are no field of the query type's own.
  if (type !== undefined && type === analysis.queryType && name === '__schema') return SchemaMetaFieldDef;
  if (type !== undefined && type === analysis.queryType && name === '__type') return TypeMetaFieldDef;
  if (!type || !(isObjectType(type) || isInterfaceType(type))) return undefined;
  const fields = type.getFields();
  return Object.hasOwn(fields, name) ? fields[name] : undefined;
}

function typeNamed(analysis: Analysis, name: string | undefined, fallback: GraphQLNamedType | undefined): GraphQLNamedType | undefined {
  return name === undefined ? fallback : (analysis.model.schema.getType(name) ?? undefined);
}

function selectionCost(set: SelectionSetNode | undefined, parent: GraphQLNamedType | undefined, analysis: Analysis): CostExpr {
  if (!set) return 0;
  const terms: CostExpr[] = [];
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) terms.push(fieldCost(selection, parent, analysis));
    else if (selection.kind === Kind.INLINE_FRAGMENT) terms.push(selectionCost(selection.selectionSet, typeNamed(analysis, selection.typeCondition?.name.value, parent), analysis));
    else terms.push(fragmentCost(selection.name.value, analysis));
  }
  return sum(terms);
}

/** Each fragment once: spreads share its expression, so a fragment spread twice in a fragment spread twice costs four, without being walked four times. */
function fragmentCost(name: string, analysis: Analysis): CostExpr {
  const known = analysis.fragmentCosts.get(name);
  if (known !== undefined) return known;
  const fragment = analysis.fragments.get(name);
  // Unknown or cyclic spreads fail validation; they cost nothing here.
  if (!fragment || analysis.inProgress.has(name)) return 0;
  analysis.inProgress.add(name);
  const cost = selectionCost(fragment.selectionSet, typeNamed(analysis, fragment.typeCondition.name.value, undefined), analysis);
  analysis.inProgress.delete(name);
  analysis.fragmentCosts.set(name, cost);
  return cost;
}

function fieldCost(node: FieldNode, parent: GraphQLNamedType | undefined, analysis: Analysis): CostExpr {
  const name = node.name.value;
  if (parent !== undefined && parent === analysis.queryType) analysis.rootFields.add(name);
  const key = parent ? `${parent.name}.${name}` : '';
  const field = ownField(analysis, parent, name);
  const argumentChars = sum((node.arguments ?? []).map((argument) => charsOf(argument.value)));
  const perCall = product(1 / analysis.model.charsPerUnit, argumentChars);
  const own = sum([analysis.model.weights.get(key) ?? 1, perCall]);
  const selection = selectionCost(node.selectionSet, field ? getNamedType(field.type) : undefined, analysis);
  const listArgument = analysis.model.listArguments.get(key);
  let items: CostExpr | undefined = analysis.model.fixedItems.get(key);
  if (listArgument !== undefined) {
    const argument = node.arguments?.find((a) => a.name.value === listArgument);
    items = argument ? countOf(argument.value) : 0;
  }
  if (items === undefined) return sum([own, selection]);
  const perItem = sum([1, selection]);
  const terms = [own, product(items, perItem)];
  if (analysis.model.rowFields.has(key)) terms.push(product(perCall, perItem));
  return sum(terms);
}

function valueSizeOf(value: ValueNode | undefined): ValueSize | null {
  if (!value) return null;
  const count = countOf(value);
  const chars = charsOf(value);
  // A default value holds no variables, so both fold to numbers.
  return typeof count === 'number' && typeof chars === 'number' ? { count, chars } : null;
}

/**
 * The shape of the operation `operationName` selects, as graphql-js selects it (the named one, or the
 * only one). When none can be selected nothing runs, yet every operation is counted: a bound must never
 * depend on the gateway and the executor agreeing about an invalid request.
 */
export function analyzeOperation(document: DocumentNode, operationName: string | undefined, model: CostModel): OperationShape {
  const operations: OperationDefinitionNode[] = [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
    else if (definition.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(definition.name.value)) fragments.set(definition.name.value, definition);
  }
  const chosen = operationName === undefined ? (operations.length === 1 ? operations : []) : operations.filter((o) => o.name?.value === operationName);
  const counted = chosen.length === 1 ? chosen : operations;
  const queryType = model.schema.getQueryType() ?? undefined;
  const analysis: Analysis = { model, queryType, fragments, fragmentCosts: new Map(), inProgress: new Set(), rootFields: new Set() };
  const defaults = new Map<string, ValueSize>();
  const costs = counted.map((operation) => {
    for (const definition of operation.variableDefinitions ?? []) {
      const size = valueSizeOf(definition.defaultValue);
      if (size) defaults.set(definition.variable.name.value, size);
    }
    const root = operation.operation === 'query' ? queryType : operation.operation === 'mutation' ? (model.schema.getMutationType() ?? undefined) : (model.schema.getSubscriptionType() ?? undefined);
    return selectionCost(operation.selectionSet, root, analysis);
  });
  return { cost: sum(costs), defaults, rootFields: analysis.rootFields };
}

/** The cost of a shape for one request's variables (whatever JSON the client sent). */
export function evaluateCost(shape: OperationShape, variables: unknown): number {
  const given = typeof variables === 'object' && variables !== null && !Array.isArray(variables) ? (variables as Record<string, unknown>) : null;
  const sizes = new Map<string, ValueSize>();
  const sizeOf = (name: string): ValueSize => {
    let size = sizes.get(name);
    if (size === undefined) {
      size = given && Object.hasOwn(given, name) ? sizeOfJson(given[name]) : (shape.defaults.get(name) ?? { count: 0, chars: 0 });
      sizes.set(name, size);
    }
    return size;
  };
  // Fragments make the expression a graph: each node is evaluated once.
  const memo = new Map<CostExpr, number>();
  const evaluate = (expr: CostExpr): number => {
    if (typeof expr === 'number') return expr;
    const known = memo.get(expr);
    if (known !== undefined) return known;
    let value: number;
    switch (expr.op) {
      case 'sum':
        value = expr.terms.reduce<number>((total, term) => total + evaluate(term), 0);
        break;
      case 'product': {
        const factors = expr.factors.map(evaluate);
        // Nothing times an unbounded count is nothing (Infinity * 0 would be NaN).
        value = factors.includes(0) ? 0 : factors.reduce((total, factor) => total * factor, 1);
        break;
      }
      case 'count':
        value = sizeOf(expr.variable).count;
        break;
      case 'chars':
        value = sizeOf(expr.variable).chars;
        break;
      default: {
        const unreachable: never = expr;
        throw new Error(`unknown cost expression ${JSON.stringify(unreachable)}`);
      }
    }
    memo.set(expr, value);
    return value;
  };
  const cost = evaluate(shape.cost);
  return Number.isNaN(cost) ? Infinity : cost;
}
