// A baseline of a named past period: the same data the monitor reads (the served log for served rows,
// the history store's changes for incoming rows), over [from, to), read by the very readers the
// health engine uses, so a period compared with itself has no drift.
import type { HealthDirection } from '../../schema/health.js';
import type { HistoryStore } from '../../adapters/history/types.js';
import type { ServedLogStore } from '../../adapters/served-log/types.js';
import { BaselineBuilder, type Baseline } from './baseline.js';
import type { MonitoredFeature, Observation } from './features.js';
import { readIncoming } from './incoming.js';
import { readServed } from './served.js';

export interface PeriodBaselineSources {
  servedLog: ServedLogStore | null;
  history: HistoryStore | null;
}

export interface Period {
  from: number;
  to: number;
}

function addAll(builder: BaselineBuilder, direction: HealthDirection, observations: readonly Observation[]): void {
  for (const o of observations) builder.add(direction, o.feature, o.segments, o.status, o.value);
}

/** The features' baseline over the period, for each direction asked whose source is given. */
export async function periodBaseline(sources: PeriodBaselineSources, features: readonly MonitoredFeature[], period: Period, directions: readonly HealthDirection[]): Promise<Baseline> {
  const builder = new BaselineBuilder();
  if (directions.includes('served') && sources.servedLog !== null) {
    for await (const batch of readServed(sources.servedLog, features, period)) addAll(builder, 'served', batch.observations);
  }
  if (directions.includes('incoming') && sources.history !== null) {
    for await (const observations of readIncoming(sources.history, features, period)) addAll(builder, 'incoming', observations);
  }
  return builder.build(`${new Date(period.from).toISOString()} to ${new Date(period.to).toISOString()}`);
}
