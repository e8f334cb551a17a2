// The history store: every materialized change, with when it happened (eventTime) and when it became
// readable online (availableTime), so that any past instant can be answered. Appends are idempotent
// by record id: a replay after a crash appends nothing twice.

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

export interface HistoryStore {
  readonly name: string;
  /** Appends records; one already present (same view and id) is ignored. */
  append(records: readonly HistoryRecord[]): Promise<void>;
  /** Records of a view, ordered by eventTime then id. */
  scan(scan: HistoryScan): AsyncIterable<HistoryRecord[]>;
  count(view: string): Promise<number>;
  close(): Promise<void>;
}
