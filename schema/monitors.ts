// Monitor settings: the defaults every feature gets, and a declared MonitorSpec checked and filled in.
// Thresholds are shares (0..1) except drift, a population stability index: 0.1 is commonly read as a
// small shift and 0.2 as a significant one, hence the default.
import type { MonitorSpec } from './types.js';

export interface ResolvedMonitor {
  readonly drift: number;
  readonly missingRate: number;
  readonly staleRate: number;
  readonly nullRate: number;
  /** null: no range declared, nothing is out of range. */
  readonly range: readonly [number, number] | null;
  readonly outOfRangeRate: number;
  readonly skewRate: number;
  readonly minValues: number;
  readonly off: boolean;
}

export const defaultMonitor: ResolvedMonitor = {
  drift: 0.2,
  missingRate: 0.1,
  staleRate: 0.1,
  nullRate: 0.1,
  range: null,
  outOfRangeRate: 0.01,
  skewRate: 0,
  minValues: 30,
  off: false,
};

const shareKeys = ['missingRate', 'staleRate', 'nullRate', 'outOfRangeRate', 'skewRate'] as const;
const knownKeys = new Set<string>([...shareKeys, 'drift', 'range', 'minValues', 'off']);

/**
 * A feature's monitor: the defaults, overridden by its view's spec, then by its own. Each problem is
 * reported with the key it is about (`monitor.drift`); a bad value keeps the default.
 */
export function resolveMonitor(specs: readonly (MonitorSpec | undefined)[], report: (message: string, field: string) => void, numeric: boolean): ResolvedMonitor {
  const monitor: { -readonly [K in keyof ResolvedMonitor]: ResolvedMonitor[K] } = { ...defaultMonitor };
  for (const spec of specs) {
    if (spec === undefined) continue;
    if (typeof spec !== 'object' || spec === null) {
      report('monitor must be an object of settings (drift, missingRate, staleRate, nullRate, range, outOfRangeRate, skewRate, minValues, off)', 'monitor');
      continue;
    }
    for (const key of Object.keys(spec)) {
      if (!knownKeys.has(key)) report(`unknown monitor setting "${key}" (known: ${[...knownKeys].join(', ')})`, `monitor.${key}`);
    }
    for (const key of shareKeys) {
      const value = spec[key];
      if (value === undefined) continue;
      if (typeof value === 'number' && value >= 0 && value <= 1) monitor[key] = value;
      else report(`${key} must be a share between 0 and 1, got ${JSON.stringify(value)}`, `monitor.${key}`);
    }
    if (spec.drift !== undefined) {
      if (typeof spec.drift === 'number' && spec.drift > 0 && Number.isFinite(spec.drift)) monitor.drift = spec.drift;
      else report(`drift must be a positive population stability index (e.g. 0.2), got ${JSON.stringify(spec.drift)}`, 'monitor.drift');
    }
    if (spec.minValues !== undefined) {
      if (Number.isInteger(spec.minValues) && spec.minValues >= 1) monitor.minValues = spec.minValues;
      else report(`minValues must be a whole number of at least 1, got ${JSON.stringify(spec.minValues)}`, 'monitor.minValues');
    }
    if (spec.off !== undefined) {
      if (typeof spec.off === 'boolean') monitor.off = spec.off;
      else report(`off must be true or false, got ${JSON.stringify(spec.off)}`, 'monitor.off');
    }
    if (spec.range !== undefined) {
      const range = spec.range as unknown;
      const ok = Array.isArray(range) && range.length === 2 && range.every((n) => typeof n === 'number' && Number.isFinite(n)) && (range[0] as number) <= (range[1] as number);
      if (!ok) report(`range must be [min, max] with min <= max, got ${JSON.stringify(range)}`, 'monitor.range');
      else if (!numeric) report('range applies to numeric features only (Int, Float, [Float])', 'monitor.range');
      else monitor.range = [range[0] as number, range[1] as number];
    }
  }
  return monitor;
}
