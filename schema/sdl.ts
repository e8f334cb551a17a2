// GraphQL SDL for a feature registry, following the contract in DESIGN.md: its names are fixed,
// because clients outside this repository rely on them. The gateway is a Federation 2 subgraph.
import { formatDuration } from './duration.js';
import { describeSource, type FeatureRegistry, type ResolvedEntity, type ResolvedFeature, type ResolvedRequestFeature } from './registry.js';
import type { FeatureType } from './types.js';

const graphqlTypeOf: Record<FeatureType, string> = {
  Int: 'Int',
  Float: 'Float',
  String: 'String',
  Boolean: 'Boolean',
  '[Float]': '[Float]',
  '[String]': '[String]',
};

function block(text: string, indent = ''): string {
  const escaped = text.replace(/"""/g, '\\"""');
  return `${indent}"""\n${escaped.split('\n').map((l) => `${indent}${l}`).join('\n')}\n${indent}"""\n`;
}

/** The description clients see for a stored feature: what it is, then its metadata, one per line. */
export function featureDescription(feature: ResolvedFeature): string {
  const view = feature.view;
  const lines = [feature.description || view.description];
  lines.push('');
  lines.push(`Owner: ${view.owner}`);
  lines.push(`Source: ${describeSource(view.source)} (view ${view.name})`);
  if (feature.window) lines.push(`Aggregation: ${feature.window.fn}${feature.def.kind === 'windowed' && feature.def.field ? ` of ${feature.def.field}` : ''} over ${formatDuration(feature.window.windowMs)} (tiles of ${formatDuration(feature.window.tileMs)})`);
  lines.push(`Freshness SLA: ${formatDuration(view.freshnessMs)}`);
  lines.push(`TTL: ${formatDuration(view.ttlMs)}`);
  lines.push(`Tags: ${feature.tags.length > 0 ? feature.tags.join(', ') : 'none'}`);
  if (feature.pii) lines.push('PII: yes');
  return lines.join('\n');
}

export function requestFeatureDescription(feature: ResolvedRequestFeature): string {
  const lines = [feature.description, ''];
  lines.push(`Owner: ${feature.owner}`);
  lines.push(`Source: request time, from its arguments${feature.inputs.length > 0 ? ` and ${feature.inputs.map((i) => i.name).join(', ')}` : ''}`);
  lines.push('Freshness SLA: computed per request');
  lines.push('TTL: none');
  lines.push(`Tags: ${feature.tags.length > 0 ? feature.tags.join(', ') : 'none'}`);
  return lines.join('\n');
}

function trainingRowDescription(entity: ResolvedEntity): string {
  return `One row of a training set: the ${entity.name}, the instant it is read at, and the arguments of its request-time features.`;
}

/** How a row carries request-time arguments, with this entity's own features as the example. */
function inputsDescription(entity: ResolvedEntity): string {
  const features = [...entity.requestFeatures.values()];
  if (features.length === 0) return `Unused: ${entity.name} has no request-time features.`;
  const example = features.map((f) => `"${f.name}": { ${Object.keys(f.def.arguments).map((a) => `"${a}": ...`).join(', ')} }`).join(', ');
  return [
    'Arguments of request-time features for this row, by feature name: { ' + example + ' }.',
    "Request-time features of the row are computed by the same function as online, over the row's asOf values.",
    "A row's arguments win over those written on the field, argument by argument; the field's apply where the row gives none.",
  ].join('\n');
}

function entitySdl(entity: ResolvedEntity): string {
  let out = block(entity.description);
  out += `type ${entity.name} @key(fields: "${entity.key}") {\n`;
  out += `  ${entity.key}: ID!\n`;
  for (const feature of entity.features.values()) {
    out += block(featureDescription(feature), '  ');
    out += `  ${feature.name}: ${graphqlTypeOf[feature.type]}\n`;
  }
  for (const feature of entity.requestFeatures.values()) {
    const args = Object.entries(feature.def.arguments).map(([name, type]) => `${name}: ${type}`).join(', ');
    out += block(requestFeatureDescription(feature), '  ');
    out += `  ${feature.name}(${args}): ${graphqlTypeOf[feature.type]}\n`;
  }
  out += `  "Each stored feature's value with its metadata: status, event time, age, its view's watermark and freshness SLA."\n`;
  out += `  featureMeta: ${entity.names.metaType}!\n`;
  out += '}\n\n';
  if (entity.features.size > 0) {
    out += `"Per-feature metadata of a ${entity.name}."\n`;
    out += `type ${entity.names.metaType} {\n`;
    for (const feature of entity.features.values()) out += `  ${feature.name}: FeatureValueMeta!\n`;
    out += '}\n\n';
  } else {
    out += `type ${entity.names.metaType} {\n  _empty: Boolean\n}\n\n`;
  }
  out += block(trainingRowDescription(entity));
  out += `input ${entity.names.asOfInput} {\n  ${entity.key}: ID!\n  "The instant this row is read at; not after the request's now."\n  asOf: DateTime!\n`;
  out += block(inputsDescription(entity), '  ');
  out += '  inputs: JSON\n}\n\n';
  return out;
}

function queryFields(entity: ResolvedEntity): string {
  const { names, key, name } = entity;
  return [
    `  "One ${name} by ${key}. Unknown ids give null features (status MISSING). asOf reads the past from the history store (mode: EVENT_TIME or SERVED)."`,
    `  ${names.lookup}(${key}: ID!, asOf: DateTime, mode: TimeMode = EVENT_TIME): ${name}`,
    `  "Several ${name}s in one round trip, in the order asked."`,
    `  ${names.list}(${names.listKeys}: [ID!]!, asOf: DateTime, mode: TimeMode = EVENT_TIME): [${name}]!`,
    `  "Point-in-time rows for training: each row is read as of its own instant, in the order given. SERVED (default) gives what the online store answered then, staleness included; EVENT_TIME the latest facts that had happened."`,
    `  ${names.trainingSet}(rows: [${names.asOfInput}!]!, mode: TimeMode = SERVED): [${name}]!`,
  ].join('\n');
}

const commonSdl = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])

"An instant, as an ISO-8601 string in UTC (e.g. 2026-01-31T12:00:00.000Z)."
scalar DateTime

"Any JSON value."
scalar JSON

"""
How asOf reads the past. EVENT_TIME: the latest value whose event happened at or before asOf.
SERVED: what the online store would have answered at asOf (reproduces serving staleness).
"""
enum TimeMode {
  EVENT_TIME
  SERVED
}

"""
PRESENT: a value whose view is within its freshness SLA. STALE: a value served while its view's watermark
is more than the freshness SLA old (its pipeline is behind). EXPIRED: older than the view's ttl, not served
(null). MISSING: no value for this entity.
"""
enum FeatureStatus {
  PRESENT
  MISSING
  STALE
  EXPIRED
}

type FeatureValueMeta {
  feature: String!
  status: FeatureStatus!
  value: JSON
  "When the fact behind the value happened in its source."
  eventTime: DateTime
  "When the value became readable online."
  availableTime: DateTime
  "Milliseconds between eventTime and the read."
  ageMs: Float
  "The view's watermark: every source fact up to this instant is applied. Null when no materializer has published one (never STALE then), and for EVENT_TIME reads."
  watermark: DateTime
  "The view's freshness SLA in milliseconds: STALE once the read is more than this after the watermark."
  freshnessMs: Float!
}

"A feature as the catalog describes it."
type FeatureInfo {
  "Entity.field, e.g. Restaurant.ordersLast30m."
  id: String!
  name: String!
  entity: String!
  "The feature view that materializes it; null for request-time features."
  view: String
  type: String!
  description: String!
  owner: String!
  source: String!
  sourceKind: String!
  freshnessSla: String
  ttl: String
  tags: [String!]!
  pii: Boolean!
  aggregation: String
  window: String
  "Arguments of a request-time feature, as name: type."
  arguments: [String!]!
  "Stored features a request-time feature reads."
  inputs: [String!]!
}

"""
Which data a health row describes. SERVED: what the gateway answered (its served log, a sample of the
online answers). INCOMING: what the materializers wrote (the changes kept in the history store).
"""
enum HealthDirection {
  SERVED
  INCOMING
}

"A value's share of the values of a String, Boolean or [String] feature."
type CategoryShare {
  value: String!
  share: Float!
}

"A served value that a SERVED read at the same instant, with the same inputs, recomputes differently."
type SkewExample {
  "The entity's key."
  key: ID!
  "When it was served."
  at: DateTime!
  served: JSON
  "A FeatureStatus."
  servedStatus: String!
  recomputed: JSON
  recomputedStatus: String!
  "The request-time feature's arguments; null for a stored feature."
  inputs: JSON
}

"""
What the monitor says of one feature over one interval [from, to), in one population segment and
direction. Rates are shares (0..1) of the values counted; they mean little over fewer values than the
feature's monitor.minValues (the metrics and alerts leave such rows out).
"""
type FeatureHealth {
  feature: String!
  entity: String!
  "The feature's view; null for a request-time feature."
  view: String
  owner: String!
  "* for the whole population, else a segment feature and its value, e.g. city=Berlin."
  segment: String!
  direction: HealthDirection!
  from: DateTime!
  to: DateTime!
  "Values counted (SERVED: values answered, as logged; INCOMING: changes written)."
  values: Float!
  "MISSING or EXPIRED values."
  missingRate: Float!
  staleRate: Float!
  "Present values that were null, of the present values."
  nullRate: Float!
  "Numbers outside the feature's monitor.range, of the numbers."
  outOfRangeRate: Float!
  "Over the numeric values present (a list: each element); null without any."
  mean: Float
  p50: Float
  p90: Float
  p99: Float
  "The most common values, largest share first (at most 10)."
  categories: [CategoryShare!]!
  "Population stability index against the baseline; null without a baseline or with too few values."
  psi: Float
  "SERVED: values recomputed by a SERVED read to check for training/serving skew."
  skewChecked: Float!
  "Share of the recomputed values that disagreed; null when none was checked."
  skewRate: Float
  skewExamples: [SkewExample!]!
}
`;

/** The featureHealth root field: arguments as the resolver (gateway/feature-health.ts) reads them. */
const featureHealthField = [
  '  """',
  "  The monitor's health rows of a feature (a name, or Entity.feature) over [from, to), at most 31 days:",
  '  per segment (every segment seen, and * for the whole population), per direction, per interval',
  '  (a duration such as 1h cutting the range; default the whole range, in one interval).',
  '  """',
  '  featureHealth(feature: String!, entity: String, segment: String, direction: HealthDirection, from: DateTime!, to: DateTime!, interval: String): [FeatureHealth!]!',
].join('\n');

export function generateSdl(registry: FeatureRegistry): string {
  const entities = [...registry.entities.values()];
  let sdl = `${commonSdl}\n`;
  for (const entity of entities) sdl += entitySdl(entity);
  sdl += 'type Query {\n';
  sdl += entities.map(queryFields).join('\n');
  sdl += `\n  "Features by search text (name, description, owner), entity and tag."\n`;
  sdl += '  featureCatalog(search: String, entity: String, tag: String): [FeatureInfo!]!\n';
  sdl += `${featureHealthField}\n`;
  sdl += '}\n';
  return sdl;
}
