// Unit tests of the Snowflake history store's SQL: what each statement says, pinned without a server (the
// integration suite runs the same statements against fakesnow and compares reads with the reference).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRegistry, count, entity, featureView, kafkaTopic, last, snowflakeTable, column, avg } from '../../../index.js';
import { columnReadStatement, insertRowsStatement, mergeStagedStatement, scanStatement, stageRecordsStatement, windowReadStatement } from './sql.js';

const rider = entity({ name: 'Rider', key: 'riderId', description: 'test entity' });
const profile = featureView({
  name: 'profile',
  entity: rider,
  source: snowflakeTable({ name: 'profile_source', table: 'P', keyColumn: 'id', eventTimeColumn: 't' }),
  features: { trips: column({ type: 'Int' }) },
  freshness: '5m',
  ttl: '1h',
  owner: 'tests',
  description: 'column view',
});
const rides = featureView({
  name: 'rides',
  entity: rider,
  source: kafkaTopic({ name: 'rides', topic: 'rides', keyField: 'riderId', eventTimeField: 'at', fields: { riderId: 'string', at: 'timestamp', fare: 'number', zone: 'string' } }),
  features: { ridesLast30m: count({ window: '30m' }), avgFare1h: avg({ field: 'fare', window: '1h' }), lastZone1h: last({ field: 'zone', type: 'String', window: '1h' }) },
  freshness: '1m',
  ttl: '2h',
  owner: 'tests',
  description: 'windowed view',
});
const registry = buildRegistry([{ file: 'sql.test.ts', exports: { rider, profile, rides } }]);

test('a column view is read with one ranked range join: the latest visible change per row, unless a delete', () => {
  assert.deepEqual(columnReadStatement('"H"', '"R"', 'profile', 'SERVED'), {
    sqlText:
      'SELECT "ROW_NO", "EVENT_TIME", "AVAILABLE_TIME", "VALS" FROM (SELECT r."ROW_NO", h."EVENT_TIME", h."AVAILABLE_TIME", h."VALS", h."DELETED" ' +
      'FROM "R" r JOIN (SELECT "KEY", "ID", "EVENT_TIME", "AVAILABLE_TIME", "VALS", "DELETED" FROM "H" WHERE "VIEW" = ?) h ON h."KEY" = r."KEY" AND h."EVENT_TIME" <= r."AS_OF" AND h."AVAILABLE_TIME" <= r."AS_OF" ' +
      'QUALIFY ROW_NUMBER() OVER (PARTITION BY r."ROW_NO" ORDER BY h."EVENT_TIME" DESC, h."AVAILABLE_TIME" DESC, h."ID" DESC) = 1) WHERE NOT "DELETED"',
    binds: ['profile'],
  });
  // EVENT_TIME: the availableTime condition is the only difference.
  assert.ok(!columnReadStatement('"H"', '"R"', 'profile', 'EVENT_TIME').sqlText.includes('"AVAILABLE_TIME" <= r."AS_OF"'));
});

test('a windowed view is read with one aggregate over the range join, each feature over its own window of tiles', () => {
  const { statement, columns } = windowReadStatement('"H"', '"R"', 'rides', 'EVENT_TIME', registry.view('rides').features);
  assert.deepEqual(
    columns.map((c) => [c.feature.name, c.kind]),
    [
      ['ridesLast30m', 'count'],
      ['avgFare1h', 'avg'],
      ['lastZone1h', 'last'],
    ],
  );
  // Both in 1-minute tiles (schema/windows.ts tileSizeFor): 30 of them for 30m, 60 for 1h.
  const w30 = 'h."EVENT_TIME" >= (FLOOR(r."AS_OF" / 60000) - 30 + 1) * 60000';
  const w60 = 'h."EVENT_TIME" >= (FLOOR(r."AS_OF" / 60000) - 60 + 1) * 60000';
  const fare = 'h."NUM_0"';
  const magnitude = `COALESCE(SUM(CASE WHEN ${w60} THEN ABS(${fare}) END), 0)`;
  assert.equal(
    statement.sqlText,
    `SELECT r."ROW_NO", MAX(h."EVENT_TIME"), MAX(h."AVAILABLE_TIME"), COUNT(CASE WHEN ${w30} THEN 1 END), ` +
      `SUM(CASE WHEN ${w60} THEN ${fare} END), COUNT(CASE WHEN ${w60} THEN ${fare} END), ` +
      // The addends, in the reference's order, only when the sum is not exact whatever the order.
      `CASE WHEN (COUNT(CASE WHEN ${w60} AND NOT (${fare} = FLOOR(${fare})) THEN 1 END) = 0 AND ${magnitude} <= 4503599627370496 ` +
      `OR COUNT(CASE WHEN ${w60} AND NOT (${fare} * 1048576 = FLOOR(${fare} * 1048576)) THEN 1 END) = 0 AND ${magnitude} <= 4294967296) ` +
      `THEN NULL ELSE ARRAY_AGG(CASE WHEN ${w60} AND ${fare} IS NOT NULL THEN ARRAY_CONSTRUCT(FLOOR(h."EVENT_TIME" / 60000), ${fare}) END) WITHIN GROUP (ORDER BY h."SEQ") END, ` +
      `MAX_BY(h."VALS", CASE WHEN ${w60} AND h."TEXT_0" IS NOT NULL THEN h."SEQ" END) ` +
      'FROM "R" r JOIN (SELECT "KEY", "EVENT_TIME", "AVAILABLE_TIME", "VALS", CAST("NUMS"[\'fare\'] AS DOUBLE) AS "NUM_0", CAST("TEXTS"[\'zone\'] AS VARCHAR) AS "TEXT_0", ROW_NUMBER() OVER (PARTITION BY "KEY" ORDER BY "EVENT_TIME", "AVAILABLE_TIME", "ID") AS "SEQ" FROM "H" WHERE "VIEW" = ? AND "KEY" IN (SELECT "KEY" FROM "R")) h ' +
      'ON h."KEY" = r."KEY" AND h."EVENT_TIME" <= r."AS_OF" GROUP BY r."ROW_NO"',
  );
  assert.deepEqual(statement.binds, ['rides']);
});

test('records and rows travel as one bound JSON text each, unpacked by FLATTEN; appends MERGE the staged records once', () => {
  assert.deepEqual(insertRowsStatement('"R"', 50_000, '[["k",1]]'), {
    sqlText: 'INSERT INTO "R" ("ROW_NO", "KEY", "AS_OF") SELECT f.index + 50000, CAST(f.value[0] AS VARCHAR), CAST(f.value[1] AS NUMBER(19, 0)) FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) f',
    binds: ['[["k",1]]'],
  });
  assert.equal(
    stageRecordsStatement('"S"', 0, '[]').sqlText,
    'INSERT INTO "S" ("SEQ", "VIEW", "KEY", "ID", "EVENT_TIME", "AVAILABLE_TIME", "VALS", "NUMS", "TEXTS", "DELETED") SELECT f.index + 0, CAST(f.value[0] AS VARCHAR), CAST(f.value[1] AS VARCHAR), CAST(f.value[2] AS VARCHAR), CAST(f.value[3] AS NUMBER(19, 0)), CAST(f.value[4] AS NUMBER(19, 0)), CAST(f.value[5] AS VARCHAR), f.value[6], f.value[7], CAST(f.value[8] AS BOOLEAN) FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) f',
  );
  assert.match(mergeStagedStatement('"H"', '"S"').sqlText, /^MERGE INTO "H" t USING \(SELECT .* FROM "S" QUALIFY ROW_NUMBER\(\) OVER \(PARTITION BY "VIEW", "ID" ORDER BY "SEQ"\) = 1\) s ON t."VIEW" = s."VIEW" AND t."ID" = s."ID" WHEN NOT MATCHED THEN INSERT /);
  assert.throws(() => insertRowsStatement('"R"', 0.5, '[]'), RangeError);
});

test('scans bind every bound and key, and page by (eventTime, id)', () => {
  assert.deepEqual(scanStatement('"H"', { view: 'v', keys: ["a'b"], eventTimeTo: 10, availableTimeTo: 20 }, [5, 'x'], 100), {
    sqlText:
      'SELECT "KEY", "ID", "EVENT_TIME", "AVAILABLE_TIME", "VALS", "DELETED" FROM "H" WHERE "VIEW" = ? AND "EVENT_TIME" <= ? AND "AVAILABLE_TIME" <= ? ' +
      'AND "KEY" IN (SELECT CAST(k.value AS VARCHAR) FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) k) AND ("EVENT_TIME" > ? OR ("EVENT_TIME" = ? AND "ID" > ?)) ORDER BY "EVENT_TIME", "ID" LIMIT 100',
    binds: ['v', 10, 20, '["a\'b"]', 5, 5, 'x'],
  });
});
