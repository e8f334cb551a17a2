// An in-process table of rows (a warehouse table or a document collection), for the embedded demo
// and unit tests. Rows are upserted by key; a delete leaves a tombstone so incremental reads see it.
import type { RowReadOptions, RowSource, SourceRow } from '../types.js';

export class MemoryRows implements RowSource {
  private readonly rows: SourceRow[] = [];

  constructor(readonly name: string) {}

  /** Appends a change (a new row, a new version of a document, or a deletion). */
  upsert(row: SourceRow): void {
    this.rows.push(row);
  }

  async *read(options: RowReadOptions): AsyncIterable<SourceRow[]> {
    const selected = this.rows
      .filter((row) => (options.since === null || row.eventTime > options.since) && row.eventTime <= options.until)
      .sort((a, b) => a.eventTime - b.eventTime);
    for (let i = 0; i < selected.length; i += 500) {
      yield selected.slice(i, i + 500).map((row) => ({
        ...row,
        values: Object.fromEntries(options.columns.map((c) => [c, row.values[c]])),
      }));
    }
  }

  async close(): Promise<void> {}
}
