// The feature-definition model: what a feature repo declares. Builders live in define.ts; a repo is
// validated (validate.ts) and indexed (registry.ts) before anything serves or materializes it.
import type { Duration } from './duration.js';

export const definitionKind = Symbol.for('featuregraph.definition');

export type FeatureType = 'Int' | 'Float' | 'String' | 'Boolean' | '[Float]' | '[String]';
export const featureTypes: readonly FeatureType[] = ['Int', 'Float', 'String', 'Boolean', '[Float]', '[String]'];

export type FeatureValue = number | string | boolean | number[] | string[] | null;

export interface EntityDefinition {
  readonly [definitionKind]: 'entity';
  /** GraphQL type name, e.g. "Restaurant". */
  readonly name: string;
  /** Key field name, e.g. "restaurantId". */
  readonly key: string;
  readonly description: string;
  /**
   * Stored features of this entity that split its population for monitoring (Restaurant by "city"):
   * String, Boolean or Int features, whose values name the segments.
   */
  readonly segments?: readonly string[];
}

/**
 * What the monitor checks of a feature (schema/monitors.ts has the defaults). Declared on a feature,
 * or on a view for all of its features; a feature's own settings win key by key.
 */
export interface MonitorSpec {
  /** Population stability index against the baseline above which the feature has drifted. */
  readonly drift?: number;
  /** Share of values served MISSING or EXPIRED above which it is broken. */
  readonly missingRate?: number;
  /** Share of values served STALE above which it is broken. */
  readonly staleRate?: number;
  /** Share of values present but null above which it is broken. */
  readonly nullRate?: number;
  /** Numbers outside [min, max] are out of range; a share above outOfRangeRate is broken. */
  readonly range?: readonly [number, number];
  readonly outOfRangeRate?: number;
  /** Share of logged values that a SERVED recomputation disagrees with, above which serving and training differ. */
  readonly skewRate?: number;
  /** Fewer values than this in an interval and segment say nothing (no rate is judged). */
  readonly minValues?: number;
  /** No monitoring of this feature at all. */
  readonly off?: boolean;
}

/** A Kafka topic (or, in the embedded demo, an in-process stream) of events. */
export interface StreamSourceDefinition {
  readonly kind: 'stream';
  readonly name: string;
  readonly topic: string;
  /** Field of each event that holds the entity key. */
  readonly keyField: string;
  /** Field of each event that holds its event time (ISO-8601 string or epoch milliseconds). */
  readonly eventTimeField: string;
  /** Fields the events carry and their JSON types; messages are validated against it. */
  readonly fields: Readonly<Record<string, EventFieldType>>;
}

export type EventFieldType = 'string' | 'number' | 'boolean' | 'timestamp' | 'string[]';

/** A warehouse table or query (Snowflake, or the embedded SQL source in the demo). */
export interface BatchSourceDefinition {
  readonly kind: 'batch';
  readonly name: string;
  /** A table name or a SELECT; rows carry the key column, the event-time column and the feature columns. */
  readonly table?: string;
  readonly query?: string;
  readonly keyColumn: string;
  readonly eventTimeColumn: string;
}

/** A MongoDB collection (or an in-memory collection in the demo). */
export interface DocumentSourceDefinition {
  readonly kind: 'document';
  readonly name: string;
  readonly collection: string;
  readonly keyField: string;
  readonly updatedAtField: string;
  readonly filter?: Readonly<Record<string, unknown>>;
}

export type SourceDefinition = StreamSourceDefinition | BatchSourceDefinition | DocumentSourceDefinition;

export type AggregationFunction = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'last' | 'distinctCount';
export const aggregationFunctions: readonly AggregationFunction[] = ['count', 'sum', 'avg', 'min', 'max', 'last', 'distinctCount'];

interface FeatureCommon {
  readonly type: FeatureType;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly pii?: boolean;
  readonly monitor?: MonitorSpec;
}

/** A value read as it is from a batch or document source column. */
export interface ColumnFeatureDefinition extends FeatureCommon {
  readonly kind: 'column';
  /** Source column or document field; defaults to the feature's name. */
  readonly column?: string;
}

/** A sliding-window aggregation over a stream's events, kept as time tiles. */
export interface WindowedFeatureDefinition extends FeatureCommon {
  readonly kind: 'windowed';
  readonly fn: AggregationFunction;
  /** Event field aggregated (not needed for count). */
  readonly field?: string;
  readonly window: Duration;
}

export type StoredFeatureDefinition = ColumnFeatureDefinition | WindowedFeatureDefinition;

export interface FeatureViewDefinition {
  readonly [definitionKind]: 'featureView';
  readonly name: string;
  readonly entity: EntityDefinition;
  readonly source: SourceDefinition;
  readonly features: Readonly<Record<string, StoredFeatureDefinition>>;
  /** How old a value may get before it is reported STALE. */
  readonly freshness: Duration;
  /** How old a value may get before it is not served at all (EXPIRED). */
  readonly ttl: Duration;
  readonly owner: string;
  readonly tags?: readonly string[];
  readonly description: string;
  readonly pii?: boolean;
  /** Monitor settings for every feature of the view (a feature's own win). */
  readonly monitor?: MonitorSpec;
}

export type RequestArgumentType = 'String!' | 'String' | 'Float!' | 'Float' | 'Int!' | 'Int' | 'Boolean!' | 'Boolean';
export const requestArgumentTypes: readonly RequestArgumentType[] = ['String!', 'String', 'Float!', 'Float', 'Int!', 'Int', 'Boolean!', 'Boolean'];

export type RequestArguments = Readonly<Record<string, string | number | boolean | null | undefined>>;
export type FeatureInputs = Readonly<Record<string, FeatureValue>>;

/** A feature computed at request time from query arguments and other features of the same entity. */
export interface RequestFeatureDefinition {
  readonly [definitionKind]: 'requestFeature';
  readonly name: string;
  readonly entity: EntityDefinition;
  readonly type: FeatureType;
  readonly arguments: Readonly<Record<string, RequestArgumentType>>;
  /** Names of stored features of the same entity the function reads. */
  readonly inputs: readonly string[];
  /** Pure: the same function runs online and when building training sets. */
  readonly compute: (args: RequestArguments, features: FeatureInputs) => FeatureValue;
  readonly owner: string;
  readonly tags?: readonly string[];
  readonly description: string;
  readonly monitor?: MonitorSpec;
}

export type Definition = EntityDefinition | FeatureViewDefinition | RequestFeatureDefinition;

export function isDefinition(value: unknown): value is Definition {
  return typeof value === 'object' && value !== null && definitionKind in value;
}
