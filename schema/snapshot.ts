// What one stored value means at the instant of a request: each feature's value and status. The online
// path (readFeature over what the store holds now), the fast path (snapshotState and liveValue, what
// readFeature is made of) and every history store (readFeature over a snapshot rebuilt at asOf) decide
// here, so that the online answer at t and a SERVED read asOf t cannot differ in how they read the same
// value. Whether that value fits its feature's type is value-rules.ts's to say.
//
// Freshness is the view's, not the value's (README "Freshness"): a value is STALE when the view's
// watermark (the instant up to which its source is applied) is more than the view's freshness SLA
// before the read, whatever the value's own age, for windowed and column features alike; a quiet
// entity is not stale, a dead pipeline is. A view without a watermark (none published, or a read
// that is not SERVED) is never STALE: there is nothing to measure.
import type { ResolvedFeature, ResolvedView } from './registry.js';
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
  /** The view's watermark the read was judged by (epoch ms); null when it has none (never STALE then). */
  watermark: number | null;
}

/**
 * Whether a snapshot is served at atMs. `gone`: its last write is a retention or more ago; the online
 * store has dropped the key by then (or is about to: a Redis key's PX starts when the write lands, a
 * little after its availableTime), so it reads as nothing, MISSING, on every path. `expired`: its newest
 * fact is older than the view's ttl (EXPIRED, no value). Otherwise `live`.
 */
export function snapshotState(view: Pick<ResolvedView, 'ttlMs' | 'retentionMs'>, stored: ValueSnapshot, atMs: number): 'gone' | 'expired' | 'live' {
  if (atMs - stored.availableTime >= view.retentionMs) return 'gone';
  if (atMs - stored.eventTime > view.ttlMs) return 'expired';
  return 'live';
}

const missing = (feature: ResolvedFeature, watermark: number | null): FeatureRead => ({ feature: feature.name, status: 'MISSING', value: null, eventTime: null, availableTime: null, ageMs: null, watermark });

/** Whether a view whose watermark is `watermark` is behind its freshness SLA at atMs. */
export function isStale(view: Pick<ResolvedView, 'freshnessMs'>, watermark: number | null, atMs: number): boolean {
  return watermark !== null && atMs - watermark > view.freshnessMs;
}

/**
 * A feature's value in a snapshot that is `live` at atMs (undefined: it holds none). A window's value is
 * current as of the read, whatever the age of the last event: it decays.
 */
export function liveValue(feature: ResolvedFeature, stored: ValueSnapshot, atMs: number): FeatureValue | undefined {
  return feature.window ? windowValue(feature.window, stored.tiles?.[feature.name], atMs) : stored.values?.[feature.name];
}

/**
 * A feature's read at atMs from what the store held (null: nothing), judged by its view's watermark
 * (null: none). MISSING and EXPIRED win over STALE: a value that is not served is not stale either.
 */
export function readFeature(feature: ResolvedFeature, stored: ValueSnapshot | null, atMs: number, watermark: number | null): FeatureRead {
  if (stored === null) return missing(feature, watermark);
  const view = feature.view;
  const state = snapshotState(view, stored, atMs);
  if (state === 'gone') return missing(feature, watermark);
  const value = state === 'expired' ? undefined : liveValue(feature, stored, atMs);
  const status: FeatureStatus = state === 'expired' ? 'EXPIRED' : value === undefined ? 'MISSING' : isStale(view, watermark, atMs) ? 'STALE' : 'PRESENT';
  // One literal, not a common part spread into each outcome: V8 (Node 20) takes microseconds to copy a
  // spread object, and a read is made per feature and entity of an answer.
  return { feature: feature.name, eventTime: stored.eventTime, availableTime: stored.availableTime, ageMs: Math.max(0, atMs - stored.eventTime), watermark, status, value: value ?? null };
}
