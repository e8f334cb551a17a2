// What one stored value means at the instant of a request: each feature's value and status.
import type { ResolvedFeature } from './registry.js';
import type { FeatureValue } from './types.js';
import { windowValue, type Cell } from './windows.js';

/** What a store holds for one (view, key) at some instant: the online store now, or history at asOf. */
export interface ValueSnapshot {
  eventTime: number;
  availableTime: number;
  values?: Readonly<Record<string, FeatureValue>>;
  tiles?: Readonly<Record<string, Readonly<Record<string, Cell>>>>;
}

export type FeatureStatus = 'PRESENT' | 'MISSING' | 'STALE' | 'EXPIRED';

export interface FeatureRead {
  feature: string;
  status: FeatureStatus;
  value: FeatureValue;
  eventTime: number | null;
  availableTime: number | null;
  ageMs: number | null;
}

export function readFeature(feature: ResolvedFeature, stored: ValueSnapshot | null, atMs: number): FeatureRead {
  if (stored === null) return { feature: feature.name, status: 'MISSING', value: null, eventTime: null, availableTime: null, ageMs: null };
  const view = feature.view;
  const ageMs = Math.max(0, atMs - stored.eventTime);
  const base = { feature: feature.name, eventTime: stored.eventTime, availableTime: stored.availableTime, ageMs };
  if (ageMs > view.ttlMs) return { ...base, status: 'EXPIRED', value: null };
  if (feature.window) {
    // A window's value is current as of the read, whatever the age of the last event: it decays.
    return { ...base, status: 'PRESENT', value: windowValue(feature.window, stored.tiles?.[feature.name], atMs) };
  }
  const value = stored.values?.[feature.name];
  if (value === undefined) return { ...base, status: 'MISSING', value: null };
  return { ...base, status: ageMs > view.freshnessMs ? 'STALE' : 'PRESENT', value };
}
