// The features the monitor watches (stored and request-time, minus those whose monitor is off), and
// the observation every reader turns its data into: one feature's status and value at an instant,
// with the segment labels of the entity it belongs to.
import { BadInputError } from '../../schema/errors.js';
import { segmentLabel } from '../../schema/health.js';
import type { ResolvedMonitor } from '../../schema/monitors.js';
import type { FeatureRegistry, ResolvedEntity, ResolvedFeature, ResolvedView } from '../../schema/registry.js';
import type { FeatureStatus } from '../../schema/snapshot.js';
import type { FeatureType, FeatureValue } from '../../schema/types.js';
import { valueKindOf, type ValueKind } from './stats.js';

export interface MonitoredFeature {
  /** "Entity.feature": how baselines and skew results name it. */
  readonly key: string;
  readonly name: string;
  readonly entity: ResolvedEntity;
  /** null: a request-time feature. */
  readonly view: ResolvedView | null;
  readonly owner: string;
  readonly type: FeatureType;
  readonly kind: ValueKind;
  readonly monitor: ResolvedMonitor;
  /** The stored feature (null: request-time). */
  readonly stored: ResolvedFeature | null;
}

export const featureKey = (entity: string, feature: string): string => `${entity}.${feature}`;

export interface FeatureFilter {
  /** Names, or Entity.feature; all when absent. */
  features?: readonly string[];
  entity?: string;
}

/** Flag names to put in messages about a filter (`--feature`), when it came from a command line. */
export interface FilterNames {
  features?: string;
  entity?: string;
}

function everyFeature(entity: ResolvedEntity): MonitoredFeature[] {
  const stored = [...entity.features.values()].map((f) => ({ key: featureKey(entity.name, f.name), name: f.name, entity, view: f.view, owner: f.view.owner, type: f.type, kind: valueKindOf(f.type), monitor: f.monitor, stored: f }));
  const request = [...entity.requestFeatures.values()].map((f) => ({ key: featureKey(entity.name, f.name), name: f.name, entity, view: null, owner: f.owner, type: f.type, kind: valueKindOf(f.type), monitor: f.monitor, stored: null }));
  return [...stored, ...request];
}

/**
 * The monitored features a filter selects, in registry order. A name that matches no feature, or
 * only features whose monitor is off, is refused with what exists.
 */
export function monitoredFeatures(registry: FeatureRegistry, filter: FeatureFilter = {}, names: FilterNames = {}): MonitoredFeature[] {
  const entities = filter.entity === undefined ? [...registry.entities.values()] : [registry.entity(filter.entity, names.entity)];
  const all = entities.flatMap(everyFeature);
  const asked = filter.features;
  if (asked === undefined) return all.filter((f) => !f.monitor.off);
  const where = names.features === undefined ? '' : `${names.features}: `;
  const matches = (f: MonitoredFeature, name: string) => f.name === name || f.key === name;
  for (const name of asked) {
    const found = all.filter((f) => matches(f, name));
    if (found.length === 0) throw new BadInputError(`${where}unknown feature ${JSON.stringify(name)}${filter.entity === undefined ? '' : ` of ${filter.entity}`}; features: ${all.map((f) => f.key).join(', ')}`);
    if (found.every((f) => f.monitor.off)) throw new BadInputError(`${where}feature ${JSON.stringify(name)} is not monitored (its monitor is off)`);
  }
  return all.filter((f) => !f.monitor.off && asked.some((name) => matches(f, name)));
}

/** One value of a feature as the monitor counts it. */
export interface Observation {
  readonly feature: MonitoredFeature;
  /** Epoch ms: the read instant (served) or the change's event time (incoming). */
  readonly at: number;
  /** The entity's segment labels (one per segment feature), allSegments not included. */
  readonly segments: readonly string[];
  readonly status: FeatureStatus;
  readonly value: FeatureValue;
}

/** An entity's segment labels from its segment features' values (a value not held labels "city="). */
export function segmentLabels(entity: ResolvedEntity, valueOf: (segment: ResolvedFeature) => FeatureValue | undefined): string[] {
  return entity.segments.map((segment) => segmentLabel(segment.name, valueOf(segment) ?? null));
}
