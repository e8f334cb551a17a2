// The served log in the embedded history file (its served_log table: adapters/history/embedded/
// served-log.ts), through the history store that holds the file: the file's owner, or a client of
// the process that owns it, whose calls cross the owner's socket as history appends and reads do.
import type { ServedRecord } from '../../schema/served-log.js';
import type { ServedCursor, ServedPage } from '../history/embedded/served-log.js';
import { checkServedLogRange } from './range.js';
import type { ServedLogRange, ServedLogStore } from './types.js';

/** What holds the file's served log: EmbeddedHistoryStore, SharedEmbeddedHistoryStore. */
export interface ServedLogHost {
  appendServed(records: readonly ServedRecord[]): Promise<void>;
  servedPage(range: ServedLogRange, after: ServedCursor | null): Promise<ServedPage>;
}

export function isServedLogHost(store: unknown): store is ServedLogHost {
  const host = store as Partial<ServedLogHost> | null;
  return typeof host === 'object' && host !== null && typeof host.appendServed === 'function' && typeof host.servedPage === 'function';
}

export class EmbeddedServedLogStore implements ServedLogStore {
  readonly name = 'embedded';

  /**
   * @param host the history store holding the file
   * @param release what close() lets go of: nothing when the history store is the caller's (it closes
   *   it), the store itself when it was opened for the served log alone
   */
  constructor(
    private readonly host: ServedLogHost,
    private readonly release: () => Promise<void> = async () => {},
  ) {}

  append(records: readonly ServedRecord[]): Promise<void> {
    return records.length === 0 ? Promise.resolve() : this.host.appendServed(records);
  }

  async *read(range: ServedLogRange): AsyncIterable<ServedRecord[]> {
    checkServedLogRange(this.name, range);
    let after: ServedCursor | null = null;
    for (;;) {
      const page: ServedPage = await this.host.servedPage(range, after);
      if (page.records.length > 0) yield page.records;
      if (page.next === null) return;
      after = page.next;
    }
  }

  close(): Promise<void> {
    return this.release();
  }
}
