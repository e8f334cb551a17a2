// The history store: every materialized change, with when it happened (eventTime) and when it became
// readable online (availableTime), so that any past instant can be answered. Appends are idempotent
// by record id: a replay after a crash appends nothing twice. It keeps the changes of every view's
// watermark too (as the online store made them), so that a SERVED read judges freshness as the online
// store did at asOf.

import type { ResolvedFeature } from '../../schema/registry.js';
import type { FeatureRead } from '../../schema/snapshot.js';
import type { ViewWatermark } from '../online/types.js';

export type { ViewWatermark };

export interface HistoryRecord {
  view: string;
  key: string;
  /** Unique per change, e.g. "<topic>:<partition>:<offset>" for a stream event. */
  id: string;
  eventTime: number;
  availableTime: number;
  /** For stream views the event's fields; for column views the row's feature values. */
  values: Record<string, unknown>;
  deleted?: boolean;
}

export interface HistoryScan {
  view: string;
  keys?: readonly string[];
  /** Records with eventTime <= this (EVENT_TIME reads) ... */
  eventTimeTo?: number;
  /** ... or with availableTime <= this (SERVED reads). */
  availableTimeTo?: number;
}

/**
 * EVENT_TIME: the latest value with eventTime <= asOf (windows over events in the window at asOf); never
 * STALE, since it reads facts as if fully applied (watermark null).
 * SERVED: what the online store would have answered at asOf: only changes with availableTime <= asOf
 * count (and never one with eventTime > asOf, so nothing leaks from the future); each view's watermark
 * is its change with the greatest `at` <= asOf (none: null, never STALE).
 */
export type TimeMode = 'EVENT_TIME' | 'SERVED';

/** One row of a training set or an asOf read: an entity key at an instant (epoch ms). */
export interface PointInTimeRow {
  key: string;
  asOf: number;
}

/** Which stored features (column or windowed, of one entity, from any of its views) and how. */
export interface PointInTimeQuery {
  features: readonly ResolvedFeature[];
  mode: TimeMode;
}

/**
 * A training set too large for one response, computed by the store's engine (pushdown) straight into
 * a Parquet file. Output columns: the key column, the asOf column (TIMESTAMP, ms), every other input
 * column as it was (request-time inputs ride along), then one column per feature, named after it,
 * typed from the feature (null where the read is MISSING or EXPIRED, or its value does not fit the
 * feature's type: schema/value-rules.ts exportedValue). Rows keep the input's order.
 */
export interface TrainingSetExport {
  query: PointInTimeQuery;
  rows: {
    /** A .csv or .parquet file of entity rows. */
    path: string;
    keyColumn: string;
    /** An instant by schema/instant.ts's rule: ISO-8601 or epoch-ms text, a TIMESTAMP/DATE, or epoch-ms numbers. */
    asOfColumn: string;
  };
  /** No row's asOf may be after this instant, epoch ms (default: when the export starts). */
  now?: number;
  /** The Parquet file to write (replaced if present). */
  out: string;
  onProgress?: (rowsDone: number, rowsTotal: number) => void;
}

export interface HistoryStore {
  readonly name: string;
  /**
   * Point-in-time reads: result[i][j] is features[j] at rows[i].asOf, with the status the online
   * store would have given then (ttl gives EXPIRED with a null value; no history gives MISSING).
   * The semantics are those of pointInTimeReads (point-in-time.ts), the reference every store matches.
   */
  readAsOf(query: PointInTimeQuery, rows: readonly PointInTimeRow[]): Promise<FeatureRead[][]>;
  /** Appends records; one already present (same view and id) is ignored. */
  append(records: readonly HistoryRecord[]): Promise<void>;
  /** Appends watermark changes; one already present (same view and `at`) is ignored. */
  appendWatermarks(changes: readonly ViewWatermark[]): Promise<void>;
  /** Records of a view, ordered by eventTime then id. */
  scan(scan: HistoryScan): AsyncIterable<HistoryRecord[]>;
  /** Present when the store can compute a whole training set itself (see TrainingSetExport). */
  exportTrainingSet?(spec: TrainingSetExport): Promise<{ rows: number }>;
  count(view: string): Promise<number>;
  /** Present when the store lives apart (a server): resolves when it answers, rejects saying why not. */
  ping?(): Promise<void>;
  close(): Promise<void>;
}
