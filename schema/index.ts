// The feature-definition API: what a feature repo imports.
export { entity, featureView, requestFeature, kafkaTopic, snowflakeTable, mongoCollection, column, count, sum, avg, min, max, last, distinctCount } from './define.js';
export type {
  EntityDefinition,
  FeatureViewDefinition,
  RequestFeatureDefinition,
  SourceDefinition,
  StreamSourceDefinition,
  BatchSourceDefinition,
  DocumentSourceDefinition,
  StoredFeatureDefinition,
  ColumnFeatureDefinition,
  WindowedFeatureDefinition,
  FeatureType,
  FeatureValue,
  AggregationFunction,
  EventFieldType,
  RequestArguments,
  FeatureInputs,
  RequestArgumentType,
} from './types.js';
export { FeatureRegistry, describeSource } from './registry.js';
export type { ResolvedEntity, ResolvedView, ResolvedFeature, ResolvedRequestFeature } from './registry.js';
export { buildRegistry, type RepoModule } from './validate.js';
export { loadFeatureRepo, loadRepoModules } from './load.js';
export { generateSdl, featureDescription } from './sdl.js';
export { parseDuration, formatDuration } from './duration.js';
export * from './errors.js';
