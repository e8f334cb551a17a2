// An in-process table of rows (a warehouse table or a document collection), for the embedded demo
// and unit tests. Rows are upserted by key; a delete leaves a tombstone so incremental reads see it.
import type { RowReadOptions, RowSource, SourceRow } from '../types.js';
import { OptionCheck } from '../../common/options.js';

export class MemoryRows implements RowSource {
  private readonly rows: SourceRow[] = [];

  readonly name: string;

  constructor(name: string) {
    const check = new OptionCheck();
    this.name = check.nonEmptyString('memory rows: name', name);
    check.done();
  }

  /** Appends a change (a new row, a new version of a document, or a deletion). */
  upsert(row: SourceRow): void {
    this.rows.push(row);
  }

  /** Removes every version of a key without a trace, as a hard delete in a store polling cannot see. */
  remove(key: string): void {
    for (let i = this.rows.length - 1; i >= 0; i--) if (this.rows[i]?.key === key) this.rows.splice(i, 1);
  }

  async *listKeys(): AsyncIterable<string[]> {
    const latest = new Map<string, SourceRow>();
    for (const row of this.rows) {
      const seen = latest.get(row.key);
      if (!seen || row.eventTime >= seen.eventTime) latest.set(row.key, row);
    }
    const keys = [...latest.values()].filter((r) => !r.deleted).map((r) => r.key);
    for (let i = 0; i < keys.length; i += 1000) yield keys.slice(i, i + 1000);
  }

  async *read(options: RowReadOptions): AsyncIterable<SourceRow[]> {
    const selected = this.rows
      .filter((row) => (options.since === null || row.eventTime > options.since) && row.eventTime <= options.until)
      .sort((a, b) => a.eventTime - b.eventTime);
    for (let i = 0; i < selected.length; i += 500) {
      yield selected.slice(i, i + 500).map((row) => ({
        ...row,
        // A column the row lacks reads as null, as in every other row source.
        values: Object.fromEntries(options.columns.map((c) => [c, row.values[c] ?? null])),
      }));
    }
  }

  async close(): Promise<void> {}
}
