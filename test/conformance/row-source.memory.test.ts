// The row-source conformance suite against the in-process table of the demo and the unit tests: a
// MemoryRows of its own per test, changed through its upsert (a new version) and remove (a hard delete).
import { MemoryRows } from '../../adapters/sources/memory/rows.js';
import type { RowSource, SourceRow } from '../../adapters/sources/types.js';
import { rowSourceConformance, type TestRow } from './row-source.js';

const sourceRow = (row: TestRow): SourceRow => ({ key: row.key, eventTime: row.eventTime, values: { ...row.values } });

rowSourceConformance(
  'memory rows',
  async () => {
    const source = new MemoryRows('conformance');
    return {
      source,
      insert: async (rows) => {
        for (const row of rows) source.upsert(sourceRow(row));
      },
      update: async (rows) => {
        for (const key of new Set(rows.map((r) => r.key))) source.remove(key);
        for (const row of rows) source.upsert(sourceRow(row));
      },
      delete: async (keys) => {
        for (const key of keys) source.remove(key);
      },
      // The table lives in the process: a source built again reads the same rows, and closing it
      // leaves them to the first.
      reopen: async (): Promise<RowSource> => ({
        name: source.name,
        read: (options) => source.read(options),
        listKeys: () => source.listKeys(),
        close: async () => {},
      }),
      teardown: () => source.close(),
    };
  },
  { lists: true },
);
