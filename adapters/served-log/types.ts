// The served log's store: where the gateway's sample of what it served goes (memory, the embedded
// history file, or a Kafka topic), and where the monitor and the skew check read it back.
import type { ServedRecord } from '../../schema/served-log.js';

/** Records with `at` in [from, to), of one entity when given. */
export interface ServedLogRange {
  from: number;
  to: number;
  entity?: string;
}

export interface ServedLogStore {
  /** 'memory', 'embedded' or 'kafka'. */
  readonly name: string;
  /** Appends records; one whose id is already there changes nothing (reads never return an id twice). */
  append(records: readonly ServedRecord[]): Promise<void>;
  /** The records of the range, ordered by `at` then id, in bounded batches. */
  read(range: ServedLogRange): AsyncIterable<ServedRecord[]>;
  close(): Promise<void>;
}
