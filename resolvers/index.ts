// The resolver map of a feature registry, for a Federation subgraph schema.
import type { FeatureRegistry } from '../schema/registry.js';
import { catalogOf, searchCatalog, type CatalogFilter } from './catalog.js';
import { entityResolvers, rootResolvers } from './entities.js';
import { DateTimeScalar, JsonScalar } from './scalars.js';

export function buildResolvers(registry: FeatureRegistry): Record<string, unknown> {
  const catalog = catalogOf(registry);
  const resolvers: Record<string, unknown> = {
    DateTime: DateTimeScalar,
    JSON: JsonScalar,
    Query: {
      ...rootResolvers(registry),
      featureCatalog: (_root: unknown, args: CatalogFilter) => searchCatalog(catalog, args),
    },
  };
  for (const entity of registry.entities.values()) Object.assign(resolvers, entityResolvers(entity));
  return resolvers;
}

export { createRequestContext, type RequestContext, type GatewayServices, type ResolverLimits, type PriorRead } from './context.js';
export type { EntityRef } from './entities.js';
export { clientView } from './errors.js';
export { StoreFailures } from './store-failures.js';
export { ServingTelemetry, type RequestTelemetry, type OperationTelemetry, type HistogramSource } from './telemetry.js';
export { catalogOf, searchCatalog, type FeatureInfo } from './catalog.js';
export { ServedOperation, type ServedLogSink } from './served-log.js';
