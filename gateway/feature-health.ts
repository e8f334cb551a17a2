// GraphQL featureHealth: the monitor's health rows computed on demand by the gateway's health engine
// (the same engine `serve --monitor` runs every minute). Only Apollo answers it: the fast path plans
// entity reads alone and declines any other root field. It lives in the gateway, not in resolvers/,
// because the engine is the monitor's (materializers/monitor), which resolvers/ may not know.
//
// Arguments are checked before anything is read, each refusal a BAD_USER_INPUT naming its argument
// (in the message and as extensions.argument). Results of closed intervals are kept: a query whose
// range ended more than closedAfterMs before the request cannot change any more, and dashboards ask
// the same past over and over.
import type { GraphQLFieldResolver } from 'graphql';
import { FeaturegraphError } from '../schema/errors.js';
import { parseDuration } from '../schema/duration.js';
import { allSegments, type HealthDirection, type HealthRow } from '../schema/health.js';
import type { FeatureRegistry, ResolvedEntity } from '../schema/registry.js';
import type { HealthEngine, IntervalHealthQuery } from '../materializers/monitor/types.js';
import { graphqlError } from '../resolvers/errors.js';
import type { RequestContext } from '../resolvers/index.js';

/** The longest range featureHealth computes at once (the SDL's description says so too). */
export const maxFeatureHealthRangeMs = 31 * 86_400_000;
/** The most intervals `interval` may cut the range into (31 days of hours fit). */
export const maxFeatureHealthIntervals = 1000;
/**
 * When an interval counts as closed: its served records are flushed (the served log's buffer flushes
 * every second by default) and its skew settled (the checker waits 30 s for history to catch up).
 */
export const closedAfterMs = 60_000;
/** Rows the cache of closed intervals holds at most, over all its entries. */
const maxCachedRows = 100_000;

export interface FeatureHealthArgs {
  feature: string;
  entity?: string | null;
  segment?: string | null;
  direction?: 'SERVED' | 'INCOMING' | null;
  /** DateTime: epoch ms once parsed. */
  from: number;
  to: number;
  interval?: string | null;
}

const refuse = (argument: string, message: string) => graphqlError('BAD_USER_INPUT', `featureHealth: ${message}`, { argument });
const iso = (ms: number) => new Date(ms).toISOString();

/** Names past the first few, summed up: a repo of a thousand features must not make a message of them all. */
function listed(names: readonly string[], max = 20): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** The features a name (or Entity.feature) names, among the entities asked about; as Entity.feature. */
function featuresNamed(registry: FeatureRegistry, name: string, entities: readonly ResolvedEntity[]): string[] {
  const dot = name.indexOf('.');
  const [entityPart, featurePart] = dot < 0 ? [null, name] : [name.slice(0, dot), name.slice(dot + 1)];
  const scope = entityPart === null ? entities : entities.filter((e) => e.name === entityPart);
  const found: string[] = [];
  for (const entity of scope) {
    const feature = entity.features.get(featurePart) ?? entity.requestFeatures.get(featurePart);
    if (!feature) continue;
    if (feature.monitor.off) throw refuse('feature', `${entity.name}.${featurePart} is not monitored (its monitor says off)`);
    found.push(`${entity.name}.${featurePart}`);
  }
  if (found.length === 0 && scope.length === 0) {
    throw refuse('feature', `unknown feature ${JSON.stringify(name)}: no entity ${JSON.stringify(entityPart)} among ${entities.map((e) => e.name).join(', ')}`);
  }
  if (found.length === 0) {
    const known = scope.flatMap((e) => [...e.features.keys(), ...e.requestFeatures.keys()].map((f) => `${e.name}.${f}`));
    throw refuse('feature', `unknown feature ${JSON.stringify(name)}; known: ${listed(known)}`);
  }
  return found;
}

/** The engine's query of a featureHealth field's arguments, or the refusal of the first bad one. */
export function featureHealthQuery(registry: FeatureRegistry, args: FeatureHealthArgs): IntervalHealthQuery {
  let entities = [...registry.entities.values()];
  if (args.entity !== undefined && args.entity !== null) {
    const entity = registry.entities.get(args.entity);
    if (!entity) throw refuse('entity', `unknown entity ${JSON.stringify(args.entity)}; known: ${listed(entities.map((e) => e.name))}`);
    entities = [entity];
  }
  const features = featuresNamed(registry, args.feature.trim(), entities);
  const featureEntities = entities.filter((e) => features.some((f) => f.startsWith(`${e.name}.`)));
  const query: IntervalHealthQuery = { from: args.from, to: args.to, features };
  if (args.entity !== undefined && args.entity !== null) query.entity = args.entity;
  if (args.segment !== undefined && args.segment !== null) {
    const segmentFeatures = [...new Set(featureEntities.flatMap((e) => e.segments.map((s) => s.name)))];
    const name = args.segment.split('=')[0] as string;
    if (args.segment !== allSegments && !(args.segment.includes('=') && segmentFeatures.includes(name))) {
      const example = segmentFeatures.length > 0 ? `, or a segment feature and its value such as ${segmentFeatures[0]}=...` : '';
      throw refuse('segment', `segment ${JSON.stringify(args.segment)} is not a segment of ${featureEntities.map((e) => e.name).join(', ')}: give ${allSegments} for the whole population${example} (segment features: ${segmentFeatures.join(', ') || 'none'})`);
    }
    query.segment = args.segment;
  }
  if (args.direction !== undefined && args.direction !== null) query.direction = args.direction.toLowerCase() as HealthDirection;
  if (args.from >= args.to) throw refuse('from', `from (${iso(args.from)}) must be before to (${iso(args.to)})`);
  if (args.to - args.from > maxFeatureHealthRangeMs) {
    throw refuse('to', `the range from ${iso(args.from)} to ${iso(args.to)} is longer than ${maxFeatureHealthRangeMs / 86_400_000} days; ask for a shorter one`);
  }
  if (args.interval !== undefined && args.interval !== null) {
    const intervalMs = parseDuration(args.interval);
    if (intervalMs === null) throw refuse('interval', `interval must be a duration such as 1h, 30m or 1d, got ${JSON.stringify(args.interval)}`);
    const count = Math.ceil((args.to - args.from) / intervalMs);
    if (count > maxFeatureHealthIntervals) throw refuse('interval', `interval ${args.interval} cuts the range into ${count} intervals; at most ${maxFeatureHealthIntervals} (a longer interval, or a shorter range)`);
    query.intervalMs = intervalMs;
  }
  return query;
}

/**
 * Rows of closed intervals by query, the least recently asked dropped first once they hold more than
 * maxRows rows. A computation in progress is shared by the requests that ask for it meanwhile; one
 * that fails is forgotten.
 */
export class ClosedHealthCache {
  private readonly entries = new Map<string, { rows: Promise<HealthRow[]>; size: number }>();
  private rows = 0;

  constructor(private readonly maxRows = maxCachedRows) {}

  get size(): number {
    return this.entries.size;
  }

  rowsOf(key: string, compute: () => Promise<HealthRow[]>): Promise<HealthRow[]> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.rows;
    }
    const entry = { rows: compute(), size: 0 };
    this.entries.set(key, entry);
    entry.rows.then(
      (rows) => {
        if (this.entries.get(key) !== entry) return;
        entry.size = rows.length;
        this.rows += rows.length;
        for (const [oldest, held] of this.entries) {
          if (this.rows <= this.maxRows || oldest === key) break;
          this.entries.delete(oldest);
          this.rows -= held.size;
        }
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.rows;
  }
}

type Resolver<TArgs, TParent = unknown> = GraphQLFieldResolver<TParent, RequestContext, TArgs>;

/** featureHealth's resolvers: the root field, and the direction as the enum's value. */
export function featureHealthResolvers(registry: FeatureRegistry, engine: HealthEngine | null): { Query: { featureHealth: Resolver<FeatureHealthArgs> }; FeatureHealth: { direction: Resolver<unknown, HealthRow> } } {
  const cache = new ClosedHealthCache();
  return {
    Query: {
      featureHealth: async (_root, args, context) => {
        if (engine === null) {
          throw new FeaturegraphError('MONITOR_UNAVAILABLE', 'featureHealth: this gateway has nothing to compute it from (no served log, no history store); configure servedLog or history (featuregraph help serve), or run featuregraph health');
        }
        const query = featureHealthQuery(registry, args);
        if (query.to > context.now - closedAfterMs) return engine.health(query);
        return cache.rowsOf(JSON.stringify(query), () => engine.health(query));
      },
    },
    FeatureHealth: { direction: (row) => row.direction.toUpperCase() },
  };
}
