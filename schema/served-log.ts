// What the gateway logs of what it served (a sample of its online answers): the monitor's outgoing
// data and the skew check's input. One record per entity answered, the same from either serving path.
import type { FeatureStatus } from './snapshot.js';
import type { FeatureValue, RequestArguments } from './types.js';

export interface ServedValue {
  value: FeatureValue;
  status: FeatureStatus;
}

export interface ServedRecord {
  /** Unique per record (request id and the entity's place in the answer): appending it again changes nothing. */
  id: string;
  /** The answer's read instant (epoch ms): a SERVED read asOf this instant gives the same stored values. */
  at: number;
  /** Entity name ("Restaurant") and key. */
  entity: string;
  key: string;
  /** The entity's segment features (ResolvedEntity.segments) as served at `at`; null when not held. */
  segments: Record<string, FeatureValue>;
  /** Every feature field the answer held for the entity, stored and request-time, by feature name. */
  features: Record<string, ServedValue>;
  /** Each request-time feature's arguments, by feature name. */
  inputs: Record<string, RequestArguments>;
}

/** Header that logs a request whatever the sample rate says ("1"). */
export const servedLogHeader = 'x-featuregraph-log';

/** The served log's metric names (Prometheus, from the gateway). */
export const servedLogMetrics = {
  records: 'featuregraph_served_log_records_total',
  dropped: 'featuregraph_served_log_dropped_total',
  failedAppends: 'featuregraph_served_log_append_failures_total',
} as const;
