// The row-source conformance suite against the embedded SQL source (DuckDB, in memory): a table with
// a TIMESTAMP event time, typed scalar columns and LIST columns, changed through EmbeddedSql.
import { EmbeddedSql } from '../../adapters/sources/embedded/index.js';
import type { BatchSourceDefinition } from '../../schema/types.js';
import { rowSourceConformance, type TestRow } from './row-source.js';

let tables = 0;

function record(row: TestRow): Record<string, string | number | boolean | Date | null | readonly (string | number)[]> {
  return { k: row.key, t: new Date(row.eventTime), ...row.values } as Record<string, string | number | boolean | Date | null | readonly (string | number)[]>;
}

rowSourceConformance(
  'embedded SQL (DuckDB)',
  async () => {
    const db = await EmbeddedSql.open();
    const table = `conformance_${++tables}`;
    await db.exec(`CREATE TABLE ${table} (k VARCHAR, t TIMESTAMP, int_v BIGINT, float_v DOUBLE, str_v VARCHAR, bool_v BOOLEAN, null_v VARCHAR, floats DOUBLE[], strings VARCHAR[])`);
    const definition: BatchSourceDefinition = { kind: 'batch', name: table, table, keyColumn: 'k', eventTimeColumn: 't' };
    const source = db.source(definition);
    const remove = async (keys: readonly string[]) => {
      for (const key of keys) await db.exec(`DELETE FROM ${table} WHERE k = ?`, [key]);
    };
    return {
      source,
      insert: async (rows) => {
        await db.insertRows(table, rows.map(record));
      },
      update: async (rows) => {
        await remove([...new Set(rows.map((r) => r.key))]);
        await db.insertRows(table, rows.map(record));
      },
      delete: remove,
      // A restarted process opens a new source over the same table.
      reopen: async () => db.source(definition),
      teardown: () => db.close(),
    };
  },
  { lists: true },
);
