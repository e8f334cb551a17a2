// The health engine: HealthRows per feature × segment × direction × interval, from the served log
// (served) and the history store's changes (incoming), compared with a baseline (PSI), served rows
// with the skew checker's verdict on the interval's records. Segments are every segment value seen in
// the range for the entity and direction, plus allSegments; a feature with no value in a segment and
// interval still gets its row (values 0), so that a segment that went quiet shows as one.
import { BadInputError } from '../../schema/errors.js';
import { allSegments, healthDirections, type HealthDirection, type HealthRow } from '../../schema/health.js';
import type { ServedRecord } from '../../schema/served-log.js';
import type { Baseline, FeatureBaseline } from './baseline.js';
import { monitoredFeatures, type MonitoredFeature, type Observation } from './features.js';
import { readIncoming } from './incoming.js';
import { psi, shares } from './psi.js';
import { Reservoir } from './reservoir.js';
import { readServed } from './served.js';
import { FeatureStats } from './stats.js';
import type { HealthEngine, HealthSources, IntervalHealthQuery, SkewResult } from './types.js';

export interface HealthEngineSources extends HealthSources {
  /** Drift is measured against it; without one, psi is null. */
  baseline?: Baseline | null;
  /** The instant the skew checker judges which records have settled (default Date.now). */
  now?: () => number;
  /** Served records handed to the skew checker per interval (default 1000): a uniform sample past that. */
  skewRecords?: number;
  /** Rows per readAsOf of incoming data (default 1000). */
  readRows?: number;
}

/** A query cut into more intervals than this is refused: a table nobody reads, at a cost. */
export const maxIntervals = 10_000;

export interface Interval {
  from: number;
  to: number;
}

/** [from, to) cut into steps of intervalMs (the last one shorter when the range is not a multiple), or whole. */
export function intervalsOf(query: IntervalHealthQuery): Interval[] {
  const { from, to } = query;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) throw new BadInputError(`from and to must be instants in epoch ms, got ${from} and ${to}`);
  if (!(from < to)) throw new BadInputError(`from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`);
  const step = query.intervalMs ?? to - from;
  if (!Number.isSafeInteger(step) || step <= 0) throw new BadInputError(`interval must be a positive number of milliseconds, got ${query.intervalMs}`);
  const count = Math.ceil((to - from) / step);
  if (count > maxIntervals) throw new BadInputError(`${count} intervals of ${step} ms in the range; at most ${maxIntervals}: take a longer interval or a shorter range`);
  return Array.from({ length: count }, (_, i) => ({ from: from + i * step, to: Math.min(to, from + (i + 1) * step) }));
}

function directionsOf(query: IntervalHealthQuery): readonly HealthDirection[] {
  if (query.direction === undefined) return healthDirections;
  if (!healthDirections.includes(query.direction)) throw new BadInputError(`direction must be ${healthDirections.join(' or ')}, got ${JSON.stringify(query.direction)}`);
  return [query.direction];
}

/**
 * A segment asked for must be allSegments or name a segment feature of a selected entity: a typo would
 * give empty rows. `where` names it in the message (`--segment`).
 */
export function checkSegment(segment: string | undefined, features: readonly MonitoredFeature[], where = 'segment'): void {
  if (segment === undefined || segment === allSegments) return;
  const names = new Set(features.flatMap((f) => f.entity.segments.map((s) => s.name)));
  const name = segment.includes('=') ? segment.slice(0, segment.indexOf('=')) : null;
  if (name === null || !names.has(name)) {
    const examples = [...names].map((n) => `${n}=VALUE`);
    throw new BadInputError(`${where} must be "${allSegments}" (whole populations) or a segment feature and value${examples.length > 0 ? ` (${examples.join(', ')})` : ' (the entities asked have no segments)'}, got ${JSON.stringify(segment)}`);
  }
}

/** The asked segment, for a feature whose entity has it (allSegments: every feature). */
function askedSegment(segment: string, feature: MonitoredFeature): string[] {
  return segment === allSegments || feature.entity.segments.some((s) => segment.startsWith(`${s.name}=`)) ? [segment] : [];
}

/** What one run accumulates: per direction, feature and segment, one FeatureStats per interval. */
class Tally {
  private readonly stats = new Map<string, { baseline: FeatureBaseline | null; intervals: (FeatureStats | undefined)[] }>();
  /** Segment labels seen, by direction and entity. */
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly intervals: readonly Interval[], private readonly baseline: Baseline | null) {}

  private slot(direction: HealthDirection, feature: MonitoredFeature, segment: string) {
    const id = `${direction}\u0000${feature.key}\u0000${segment}`;
    let slot = this.stats.get(id);
    if (!slot) {
      const baseline = this.baseline?.of(direction, feature.key, segment, feature.monitor.minValues) ?? null;
      this.stats.set(id, (slot = { baseline, intervals: new Array(this.intervals.length) }));
    }
    return slot;
  }

  private statsOf(direction: HealthDirection, feature: MonitoredFeature, segment: string, interval: number): { stats: FeatureStats; baseline: FeatureBaseline | null } {
    const slot = this.slot(direction, feature, segment);
    let stats = slot.intervals[interval];
    if (!stats) slot.intervals[interval] = stats = new FeatureStats({ kind: feature.kind, range: feature.monitor.range, bins: slot.baseline?.bins ?? null });
    return { stats, baseline: slot.baseline };
  }

  /** The interval an instant falls in, or -1 outside the range. */
  intervalOf(at: number): number {
    const first = this.intervals[0] as Interval;
    if (at < first.from || at >= (this.intervals[this.intervals.length - 1] as Interval).to) return -1;
    return Math.min(this.intervals.length - 1, Math.floor((at - first.from) / (first.to - first.from)));
  }

  add(direction: HealthDirection, observation: Observation): void {
    const interval = this.intervalOf(observation.at);
    if (interval < 0) return;
    const entity = observation.feature.entity.name;
    let seen = this.seen.get(`${direction}\u0000${entity}`);
    if (!seen) this.seen.set(`${direction}\u0000${entity}`, (seen = new Set()));
    this.statsOf(direction, observation.feature, allSegments, interval).stats.add(observation.status, observation.value);
    for (const segment of observation.segments) {
      seen.add(segment);
      this.statsOf(direction, observation.feature, segment, interval).stats.add(observation.status, observation.value);
    }
  }

  segments(direction: HealthDirection, feature: MonitoredFeature): string[] {
    return [allSegments, ...[...(this.seen.get(`${direction}\u0000${feature.entity.name}`) ?? [])].sort()];
  }

  row(direction: HealthDirection, feature: MonitoredFeature, segment: string, interval: number, skew: SkewResult | null): HealthRow {
    const { stats, baseline } = this.statsOf(direction, feature, segment, interval);
    const { from, to } = this.intervals[interval] as Interval;
    const tally = skew?.get(feature.key)?.get(segment);
    return {
      feature: feature.name,
      entity: feature.entity.name,
      view: feature.view?.name ?? null,
      owner: feature.owner,
      segment,
      direction,
      from,
      to,
      ...stats.summary(),
      psi: baseline !== null && stats.binCounts !== null && stats.binned > 0 ? psi(baseline.expected, shares(stats.binCounts)) : null,
      skewChecked: tally?.checked ?? 0,
      skewRate: tally !== undefined && tally.checked > 0 ? tally.skewed / tally.checked : null,
      skewExamples: tally?.examples ?? [],
    };
  }
}

export function createHealthEngine(sources: HealthEngineSources): HealthEngine {
  const now = sources.now ?? Date.now;
  const skewRecords = Math.max(1, sources.skewRecords ?? 1000);
  return {
    async health(query) {
      const intervals = intervalsOf(query);
      const features = monitoredFeatures(sources.registry, { ...(query.features ? { features: query.features } : {}), ...(query.entity === undefined ? {} : { entity: query.entity }) });
      checkSegment(query.segment, features);
      const directions = directionsOf(query).filter((d) => (d === 'served' ? sources.servedLog : sources.history) != null);
      const tally = new Tally(intervals, sources.baseline ?? null);
      const range = { from: query.from, to: query.to };
      const skew: (SkewResult | null)[] = intervals.map(() => null);
      if (directions.includes('served') && sources.servedLog) {
        const checker = sources.skew ?? null;
        const records = intervals.map((_, i) => new Reservoir<ServedRecord>(skewRecords, 0x5eed + i));
        for await (const batch of readServed(sources.servedLog, features, range)) {
          for (const observation of batch.observations) tally.add('served', observation);
          if (checker !== null) for (const record of batch.records) records[tally.intervalOf(record.at)]?.add(record);
        }
        // One interval at a time: each check reads the history store.
        if (checker !== null) for (const [i, sample] of records.entries()) skew[i] = sample.items.length === 0 ? null : await checker.check(sample.items, now());
      }
      if (directions.includes('incoming') && sources.history) {
        for await (const observations of readIncoming(sources.history, features, range, sources.readRows === undefined ? {} : { readRows: sources.readRows })) {
          for (const observation of observations) tally.add('incoming', observation);
        }
      }
      const rows: HealthRow[] = [];
      for (const feature of features) {
        for (const direction of directions) {
          // Request-time features are computed when served, never written.
          if (direction === 'incoming' && feature.view === null) continue;
          const segments = query.segment === undefined ? tally.segments(direction, feature) : askedSegment(query.segment, feature);
          for (const segment of segments) intervals.forEach((_, i) => rows.push(tally.row(direction, feature, segment, i, direction === 'served' ? (skew[i] ?? null) : null)));
        }
      }
      return rows;
    },
  };
}
