// Validates a whole feature repo and builds its registry. Every problem is collected (not just the
// first), each located by file, view and field, so a data scientist fixes a repo in one pass.
import { FeatureRepoError, type RepoIssue } from './errors.js';
import { parseDuration } from './duration.js';
import { entityFieldNames, isGraphqlName, reservedFieldNames, reservedRootFields, reservedTypeNames } from './names.js';
import {
  FeatureRegistry,
  type ResolvedEntity,
  type ResolvedFeature,
  type ResolvedRequestFeature,
  type ResolvedView,
} from './registry.js';
import {
  aggregationFunctions,
  featureTypes,
  isDefinition,
  requestArgumentTypes,
  type Definition,
  type EntityDefinition,
  type EventFieldType,
  type FeatureType,
  type FeatureViewDefinition,
  type RequestFeatureDefinition,
  type SourceDefinition,
  type StoredFeatureDefinition,
  type WindowedFeatureDefinition,
  definitionKind,
} from './types.js';
import { tileSizeFor, type WindowSpec } from './windows.js';
import { resolveMonitor } from './monitors.js';

/** One module of a feature repo: its path (as shown in errors) and what it exports. */
export interface RepoModule {
  file: string;
  exports: Readonly<Record<string, unknown>>;
}

interface Located<T> {
  def: T;
  file: string;
}

const viewNamePattern = /^[a-z][a-z0-9_]*$/;
const entityNamePattern = /^[A-Z][A-Za-z0-9]*$/;
const minWindowMs = 1000;

/** The event types a windowed aggregation of each feature type may read. */
const aggregatableTypes: Record<string, readonly EventFieldType[]> = {
  sum: ['number'],
  avg: ['number'],
  min: ['number'],
  max: ['number'],
  distinctCount: ['string', 'number', 'boolean'],
};

function collect(modules: readonly RepoModule[]): Located<Definition>[] {
  const seen = new Map<Definition, string>();
  for (const module of modules) {
    for (const value of Object.values(module.exports)) {
      if (isDefinition(value) && !seen.has(value)) seen.set(value, module.file);
    }
  }
  return [...seen].map(([def, file]) => ({ def, file }));
}

/** Where a problem is: its file, and the view and field when it has them. */
type Report = (file: string, message: string, view?: string, field?: string) => void;

/** The definition a view or request feature names as its entity, resolved; null after reporting why not. */
type EntityOf = (file: string, entity: unknown, where: string) => ResolvedEntity | null;

type DefinitionOfKind<K extends Definition[typeof definitionKind]> = Extract<Definition, { readonly [definitionKind]: K }>;

export function buildRegistry(modules: readonly RepoModule[]): FeatureRegistry {
  const issues: RepoIssue[] = [];
  const report: Report = (file, message, view, field) => issues.push({ file, view, field, message });
  const definitions = collect(modules);
  if (definitions.length === 0) {
    report(modules[0]?.file ?? '(repo)', 'the repo exports no entity, feature view or request feature');
  }
  // Entities first: views and request features name theirs, and request features read views' features.
  const entities = resolveEntities(ofKind(definitions, 'entity'), report);
  const entityOf = entityFinder(entities, report);
  resolveViews(ofKind(definitions, 'featureView'), entityOf, report);
  resolveRequestFeatures(ofKind(definitions, 'requestFeature'), entityOf, report);
  for (const entity of entities.values()) resolveSegments(entity, report);
  if (issues.length > 0) throw new FeatureRepoError(issues);
  return new FeatureRegistry([...entities.values()]);
}

function ofKind<K extends Definition[typeof definitionKind]>(definitions: readonly Located<Definition>[], kind: K): Located<DefinitionOfKind<K>>[] {
  return definitions.filter((d): d is Located<DefinitionOfKind<K>> => d.def[definitionKind] === kind);
}

/** The valid entities, each with empty views and features that the views and request features then fill. */
function resolveEntities(entities: readonly Located<EntityDefinition>[], report: Report): Map<EntityDefinition, ResolvedEntity> {
  const resolvedEntities = new Map<EntityDefinition, ResolvedEntity>();
  const entityByName = new Map<string, string>();
  const rootFields = new Map<string, string>();
  for (const { def, file } of entities) {
    const where = `entity ${String(def.name)}`;
    if (!isGraphqlName(def.name) || !entityNamePattern.test(def.name)) {
      report(file, `entity name ${JSON.stringify(def.name)} must be a GraphQL type name in PascalCase (e.g. "Restaurant")`, where);
      continue;
    }
    if (!isGraphqlName(def.key)) report(file, `key ${JSON.stringify(def.key)} is not a name GraphQL can carry (letters, digits, _; not starting with a digit or __)`, where, 'key');
    if (typeof def.description !== 'string' || def.description.trim() === '') report(file, 'an entity needs a description', where, 'description');
    const previousFile = entityByName.get(def.name);
    if (previousFile !== undefined) {
      report(file, `duplicate entity name "${def.name}" (also defined in ${previousFile})`, where);
      continue;
    }
    entityByName.set(def.name, file);
    const names = entityFieldNames(def.name, String(def.key));
    for (const type of [def.name, names.asOfInput, names.metaType]) {
      if (reservedTypeNames.has(type)) report(file, `entity name "${def.name}" would make the type ${type}, which the schema has already`, where);
    }
    for (const field of [names.lookup, names.list, names.trainingSet]) {
      const owner = rootFields.get(field);
      if (owner) report(file, `root field "${field}" would collide with entity ${owner}`, where);
      if (reservedRootFields.has(field)) report(file, `root field "${field}" of entity ${def.name} is a field the schema has already`, where);
      rootFields.set(field, def.name);
    }
    resolvedEntities.set(def, {
      def,
      file,
      name: def.name,
      key: def.key,
      description: def.description,
      names,
      views: [],
      features: new Map(),
      requestFeatures: new Map(),
      segments: [],
    });
  }
  return resolvedEntities;
}

function entityFinder(resolvedEntities: ReadonlyMap<EntityDefinition, ResolvedEntity>, report: Report): EntityOf {
  return (file, entity, where) => {
    if (!isDefinition(entity) || entity[definitionKind] !== 'entity') {
      report(file, 'entity must be an entity(...) definition', where, 'entity');
      return null;
    }
    const resolved = resolvedEntities.get(entity);
    if (resolved) return resolved;
    const sameName = [...resolvedEntities.values()].find((resolvedEntity) => resolvedEntity.name === entity.name);
    report(
      file,
      sameName
        ? `entity "${entity.name}" is a different definition from the one exported by ${sameName.file}; import that one`
        : `unknown entity "${String(entity.name)}": no module of the repo exports it`,
      where,
      'entity',
    );
    return null;
  };
}

/** Resolves each view and its features onto its entity; names are unique among views, and features per entity. */
function resolveViews(views: readonly Located<FeatureViewDefinition>[], entityOf: EntityOf, report: Report): void {
  const viewNames = new Map<string, string>();
  const featureOwners = new Map<string, string>();
  for (const { def, file } of views) {
    const viewName = typeof def.name === 'string' ? def.name : String(def.name);
    if (!viewNamePattern.test(viewName)) report(file, `view name ${JSON.stringify(def.name)} must be snake_case (lowercase letters, digits, _)`, viewName);
    const previousFile = viewNames.get(viewName);
    if (previousFile !== undefined) {
      report(file, `duplicate feature view name "${viewName}" (also defined in ${previousFile})`, viewName);
      continue;
    }
    viewNames.set(viewName, file);
    const checked = resolveView(def, file, viewName, entityOf, report);
    if (!checked) continue;
    resolveFeatures(checked.view, checked.source, featureOwners, (featureName, m) => report(file, m, viewName, featureName));
    checked.view.entity.views.push(checked.view);
  }
}

/**
 * A view's own settings checked and resolved, with no features yet, and its source when that is valid
 * (features are checked against it); null when it has no features or no entity, after reporting it.
 */
function resolveView(def: FeatureViewDefinition, file: string, viewName: string, entityOf: EntityOf, report: Report): { view: ResolvedView; source: SourceDefinition | undefined } | null {
  const entity = entityOf(file, def.entity, viewName);
  const freshnessMs = durationOf(def.freshness, (m) => report(file, m, viewName, 'freshness'));
  const ttlMs = durationOf(def.ttl, (m) => report(file, m, viewName, 'ttl'));
  if (freshnessMs !== null && ttlMs !== null && freshnessMs > ttlMs) report(file, `freshness (${def.freshness}) must not be longer than ttl (${def.ttl})`, viewName, 'freshness');
  if (typeof def.owner !== 'string' || def.owner.trim() === '') report(file, 'a feature view needs an owner (a team or a person to ask)', viewName, 'owner');
  if (typeof def.description !== 'string' || def.description.trim() === '') report(file, 'a feature view needs a description', viewName, 'description');
  if (def.tags !== undefined && !(Array.isArray(def.tags) && def.tags.every((t) => typeof t === 'string'))) report(file, 'tags must be a list of strings', viewName, 'tags');
  const sourceOk = validateSource(def.source, (m, field) => report(file, m, viewName, field ?? 'source'));
  if (typeof def.features !== 'object' || def.features === null || Object.keys(def.features).length === 0) {
    report(file, 'a feature view needs at least one feature', viewName, 'features');
    return null;
  }
  if (!entity) return null;
  const view: ResolvedView = {
    def,
    file,
    name: viewName,
    entity,
    source: def.source,
    // With a bad duration the repo is refused anyway; checking the features still reports their problems now.
    freshnessMs: freshnessMs ?? 0,
    ttlMs: ttlMs ?? Number.POSITIVE_INFINITY,
    owner: def.owner,
    tags: def.tags ?? [],
    description: def.description,
    features: [],
    windowed: def.source?.kind === 'stream',
    retentionMs: 0,
  };
  return { view, source: sourceOk ? def.source : undefined };
}

/**
 * Adds the view's valid features to it and to its entity (featureOwners: the view of each
 * "Entity.feature" so far, across views), and sets its retention from its ttl and longest window.
 */
function resolveFeatures(view: ResolvedView, source: SourceDefinition | undefined, featureOwners: Map<string, string>, report: (featureName: string, message: string) => void): void {
  const { entity } = view;
  let maxWindowMs = 0;
  for (const [featureName, feature] of Object.entries(view.def.features)) {
    const reportFeature = (m: string) => report(featureName, m);
    if (!isGraphqlName(featureName)) {
      reportFeature(`feature name "${featureName}" is not a name GraphQL can carry (letters, digits, _; not starting with a digit or __)`);
      continue;
    }
    if (featureName === entity.key || reservedFieldNames.has(featureName)) {
      reportFeature(`feature name "${featureName}" is reserved on ${entity.name} (its key field or a field every entity has)`);
      continue;
    }
    const owner = featureOwners.get(`${entity.name}.${featureName}`);
    if (owner) {
      reportFeature(`duplicate feature "${featureName}" on entity ${entity.name} (also in view ${owner})`);
      continue;
    }
    featureOwners.set(`${entity.name}.${featureName}`, view.name);
    const resolved = resolveFeature(view, featureName, feature, source, view.ttlMs, reportFeature);
    if (!resolved) continue;
    if (resolved.window) maxWindowMs = Math.max(maxWindowMs, resolved.window.windowMs);
    view.features.push(resolved);
    entity.features.set(featureName, resolved);
  }
  (view as { retentionMs: number }).retentionMs = Math.max(view.ttlMs, maxWindowMs) * 2;
}

/** Resolves each request feature onto its entity, after the views: its inputs are its entity's stored features. */
function resolveRequestFeatures(requestFeatures: readonly Located<RequestFeatureDefinition>[], entityOf: EntityOf, report: Report): void {
  for (const { def, file } of requestFeatures) {
    const resolved = resolveRequestFeature(def, file, entityOf, report);
    if (resolved) resolved.entity.requestFeatures.set(resolved.name, resolved);
  }
}

function resolveRequestFeature(def: RequestFeatureDefinition, file: string, entityOf: EntityOf, report: Report): ResolvedRequestFeature | null {
  const name = String(def.name);
  const where = `request feature ${name}`;
  const entity = entityOf(file, def.entity, where);
  if (!isGraphqlName(name)) {
    report(file, `request feature name ${JSON.stringify(def.name)} is not a name GraphQL can carry`, where);
    return null;
  }
  if (!featureTypes.includes(def.type)) report(file, `type ${JSON.stringify(def.type)} is not one of ${featureTypes.join(', ')}`, where, 'type');
  if (typeof def.compute !== 'function') report(file, 'compute must be a function of (arguments, features)', where, 'compute');
  if (typeof def.owner !== 'string' || def.owner.trim() === '') report(file, 'a request feature needs an owner', where, 'owner');
  if (typeof def.description !== 'string' || def.description.trim() === '') report(file, 'a request feature needs a description', where, 'description');
  const args = typeof def.arguments === 'object' && def.arguments !== null ? def.arguments : {};
  if (Object.keys(args).length === 0) report(file, 'a request feature needs at least one argument (otherwise it is a stored feature)', where, 'arguments');
  for (const [argName, argType] of Object.entries(args)) {
    if (!isGraphqlName(argName)) report(file, `argument name "${argName}" is not a name GraphQL can carry`, where, `arguments.${argName}`);
    if (!requestArgumentTypes.includes(argType)) report(file, `argument type ${JSON.stringify(argType)} is not one of ${requestArgumentTypes.join(', ')}`, where, `arguments.${argName}`);
  }
  if (!entity) return null;
  if (entity.features.has(name) || entity.requestFeatures.has(name) || name === entity.key || reservedFieldNames.has(name)) {
    report(file, `request feature "${name}" collides with another field of ${entity.name}`, where);
    return null;
  }
  const inputs: ResolvedFeature[] = [];
  for (const input of Array.isArray(def.inputs) ? def.inputs : []) {
    const feature = entity.features.get(input);
    if (!feature) report(file, `reads feature "${input}", which ${entity.name} does not have (known: ${[...entity.features.keys()].join(', ') || 'none'})`, where, `inputs.${input}`);
    else inputs.push(feature);
  }
  if (!Array.isArray(def.inputs)) report(file, 'inputs must be a list of feature names (possibly empty)', where, 'inputs');
  return {
    def,
    file,
    name,
    type: def.type,
    entity,
    inputs,
    description: def.description,
    owner: def.owner,
    tags: def.tags ?? [],
    monitor: resolveMonitor([def.monitor], (m, field) => report(file, m, where, field), numericTypes.has(def.type)),
  };
}

const numericTypes = new Set<FeatureType>(['Int', 'Float', '[Float]']);
const segmentTypes = new Set<FeatureType>(['String', 'Boolean', 'Int']);

/** The entity's segment features, after its views: each a stored feature of it whose values can name a segment. */
function resolveSegments(entity: ResolvedEntity, report: Report): void {
  const declared = entity.def.segments;
  if (declared === undefined) return;
  const where = `entity ${entity.name}`;
  if (!Array.isArray(declared) || !declared.every((s) => typeof s === 'string')) {
    report(entity.file, 'segments must be a list of feature names (e.g. ["city"])', where, 'segments');
    return;
  }
  for (const name of new Set(declared)) {
    const feature = entity.features.get(name);
    if (!feature) report(entity.file, `segment "${name}" is not a stored feature of ${entity.name} (known: ${[...entity.features.keys()].join(', ') || 'none'})`, where, `segments.${name}`);
    else if (!segmentTypes.has(feature.type)) report(entity.file, `segment "${name}" is a ${feature.type} feature; segments are String, Boolean or Int features`, where, `segments.${name}`);
    else entity.segments.push(feature);
  }
}

function durationOf(text: unknown, report: (message: string) => void): number | null {
  const ms = typeof text === 'string' ? parseDuration(text) : null;
  if (ms === null) report(`${JSON.stringify(text)} is not a duration (use e.g. "90s", "30m", "24h", "7d", "1h30m")`);
  return ms;
}

function validateSource(source: SourceDefinition | undefined, report: (message: string, field?: string) => void): boolean {
  const before = { ok: true };
  const fail = (message: string, field?: string) => {
    before.ok = false;
    report(message, field);
  };
  if (typeof source !== 'object' || source === null) {
    fail('a feature view needs a source: kafkaTopic(...), snowflakeTable(...) or mongoCollection(...)');
    return false;
  }
  const need = (value: unknown, field: string) => {
    if (typeof value !== 'string' || value.trim() === '') fail(`source ${field} is required`, `source.${field}`);
  };
  need(source.name, 'name');
  switch (source.kind) {
    case 'stream': {
      need(source.topic, 'topic');
      need(source.keyField, 'keyField');
      need(source.eventTimeField, 'eventTimeField');
      const fields = source.fields ?? {};
      for (const required of [source.keyField, source.eventTimeField]) {
        if (typeof required === 'string' && !(required in fields)) fail(`source fields must declare "${required}"`, 'source.fields');
      }
      if (source.eventTimeField in fields && fields[source.eventTimeField] !== 'timestamp' && fields[source.eventTimeField] !== 'number') {
        fail(`event-time field "${source.eventTimeField}" must be declared "timestamp" or "number"`, 'source.fields');
      }
      break;
    }
    case 'batch':
      if ((source.table === undefined) === (source.query === undefined)) fail('a batch source takes exactly one of table or query', 'source.table');
      need(source.keyColumn, 'keyColumn');
      need(source.eventTimeColumn, 'eventTimeColumn');
      break;
    case 'document':
      need(source.collection, 'collection');
      need(source.keyField, 'keyField');
      need(source.updatedAtField, 'updatedAtField');
      break;
    default:
      fail(`unknown source kind ${JSON.stringify((source as { kind?: unknown }).kind)}`, 'source.kind');
  }
  return before.ok;
}

function resolveFeature(
  view: ResolvedView,
  name: string,
  feature: StoredFeatureDefinition,
  source: SourceDefinition | undefined,
  ttlMs: number,
  report: (message: string) => void,
): ResolvedFeature | null {
  if (typeof feature !== 'object' || feature === null) {
    report('a feature must be column(...) or a windowed aggregation such as count(...)');
    return null;
  }
  if (!featureTypes.includes(feature.type)) {
    report(`type ${JSON.stringify(feature.type)} is not one of ${featureTypes.join(', ')}`);
    return null;
  }
  const base = {
    name,
    type: feature.type,
    description: feature.description ?? '',
    tags: [...new Set([...(view.tags ?? []), ...(feature.tags ?? [])])],
    pii: Boolean(feature.pii ?? view.def.pii),
    view,
    def: feature,
    monitor: resolveMonitor([view.def.monitor, feature.monitor], (m) => report(m), numericTypes.has(feature.type)),
  };
  if (feature.kind === 'column') {
    if (source && source.kind === 'stream') {
      report('a stream view holds windowed aggregations (count, sum, avg, min, max, last, distinctCount), not columns');
      return null;
    }
    return { ...base, column: feature.column ?? name, window: null };
  }
  if (feature.kind !== 'windowed') {
    report(`unknown feature kind ${JSON.stringify((feature as { kind?: unknown }).kind)}`);
    return null;
  }
  if (source && source.kind !== 'stream') {
    report(`windowed aggregations need a stream source; this view reads a ${source.kind} source`);
    return null;
  }
  const window = resolveWindow(feature, source, ttlMs, report);
  return window ? { ...base, column: null, window } : null;
}

function resolveWindow(feature: WindowedFeatureDefinition, source: SourceDefinition | undefined, ttlMs: number, report: (message: string) => void): WindowSpec | null {
  if (!aggregationFunctions.includes(feature.fn)) {
    report(`aggregation ${JSON.stringify(feature.fn)} is not one of ${aggregationFunctions.join(', ')}`);
    return null;
  }
  const windowMs = typeof feature.window === 'string' ? parseDuration(feature.window) : null;
  if (windowMs === null) {
    report(`window ${JSON.stringify(feature.window)} is not a duration (use e.g. "30m", "24h", "7d")`);
    return null;
  }
  if (windowMs < minWindowMs || windowMs % 1000 !== 0) {
    report(`window ${feature.window} must be a whole number of seconds, at least 1s`);
    return null;
  }
  if (windowMs > ttlMs) {
    report(`window ${feature.window} is longer than the view's ttl; values would expire before their window fills`);
    return null;
  }
  const expected = expectedType(feature, source, report);
  if (expected === undefined) return null;
  if (expected !== null && !expected.includes(feature.type)) {
    report(`type mismatch: ${feature.fn}${feature.field ? ` of "${feature.field}"` : ''} gives ${expected.join(' or ')}, declared ${feature.type}`);
    return null;
  }
  return { fn: feature.fn, windowMs, tileMs: tileSizeFor(windowMs) };
}

/** The feature types an aggregation can produce; undefined after reporting a problem. */
function expectedType(feature: WindowedFeatureDefinition, source: SourceDefinition | undefined, report: (message: string) => void): readonly FeatureType[] | null | undefined {
  if (feature.fn === 'count') return ['Int'];
  if (typeof feature.field !== 'string') {
    report(`${feature.fn} needs the event field it aggregates (field: "...")`);
    return undefined;
  }
  const fields = source?.kind === 'stream' ? source.fields : undefined;
  const fieldType = fields?.[feature.field];
  if (fields && fieldType === undefined) {
    report(`aggregates field "${feature.field}", which the source's events do not declare (declared: ${Object.keys(fields).join(', ')})`);
    return undefined;
  }
  if (fieldType === undefined) return null;
  const allowed = aggregatableTypes[feature.fn];
  if (allowed && !allowed.includes(fieldType)) {
    report(`type mismatch: ${feature.fn} needs a ${allowed.join(' or ')} field, "${feature.field}" is ${fieldType}`);
    return undefined;
  }
  switch (feature.fn) {
    case 'sum':
    case 'min':
    case 'max':
      return ['Float', 'Int'];
    case 'avg':
      return ['Float'];
    case 'distinctCount':
      return ['Int'];
    case 'last':
      return lastTypes[fieldType];
    default:
      return null;
  }
}

const lastTypes: Record<EventFieldType, readonly FeatureType[]> = {
  string: ['String'],
  number: ['Float', 'Int'],
  boolean: ['Boolean'],
  timestamp: ['String'],
  'string[]': ['[String]'],
};
