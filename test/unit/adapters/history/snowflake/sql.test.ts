// Unit tests of the Snowflake history store's SQL: what each statement says, pinned without a server (the
// integration suite runs the same statements against fakesnow and compares reads with the reference).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRegistry, count, entity, featureView, kafkaTopic, last, snowflakeTable, column, avg } from '../../../../../index.js';
import { columnReadStatement, insertRowsStatement, mergeStagedStatement, scanStatement, stageRecordsStatement, windowReadStatement } from '../../../../../adapters/history/snowflake/sql.js';

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

test('a column view is read as of each row by a running MAX of the change order over rows and changes in one sequence', () => {
  assert.deepEqual(columnReadStatement('"H"', '"R"', 'profile', 'SERVED'), {
    sqlText:
      // SERVED: the changes the online store made (late ones left out), in the order it made them.
      'WITH h AS (SELECT "KEY", "EVENT_TIME", "AVAILABLE_TIME", "VALS", "DELETED", ROW_NUMBER() OVER (PARTITION BY "KEY" ORDER BY "AVAILABLE_TIME", "ID") AS "SEQ" FROM "H" WHERE "VIEW" = ? AND "KEY" IN (SELECT "KEY" FROM "R") AND NOT ENDSWITH("ID", \':late\')), ' +
      // SERVED: a change is visible once both its times have passed; changes sort before rows at the same instant.
      'u AS (SELECT "KEY", GREATEST("EVENT_TIME", "AVAILABLE_TIME") AS "POS", 0 AS "KIND", "SEQ", NULL AS "ROW_NO" FROM h UNION ALL SELECT "KEY", "AS_OF", 1, NULL, "ROW_NO" FROM "R"), ' +
      's AS (SELECT "KEY", "KIND", "ROW_NO", MAX("SEQ") OVER (PARTITION BY "KEY" ORDER BY "POS", "KIND" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "LATEST" FROM u) ' +
      'SELECT s."ROW_NO", h."EVENT_TIME", h."AVAILABLE_TIME", h."VALS" FROM s JOIN h ON h."KEY" = s."KEY" AND h."SEQ" = s."LATEST" WHERE s."KIND" = 1 AND NOT h."DELETED"',
    binds: ['profile'],
  });
  // EVENT_TIME: a change is visible once its eventTime has passed.
  // EVENT_TIME: every fact (late ones included) in the order of facts; a change is visible once its eventTime has passed.
  const eventTime = columnReadStatement('"H"', '"R"', 'profile', 'EVENT_TIME').sqlText;
  assert.match(eventTime, /ORDER BY "EVENT_TIME", "AVAILABLE_TIME", "ID"\) AS "SEQ" FROM "H" WHERE "VIEW" = \? AND "KEY" IN \(SELECT "KEY" FROM "R"\)\), /);
  assert.match(eventTime, /u AS \(SELECT "KEY", "EVENT_TIME" AS "POS",/);
});

test('a windowed view is read with aggregates over a range join bounded by the widest window, each feature over its own tiles', () => {
  const { statement, columns } = windowReadStatement('"H"', '"R"', 'rides', 'EVENT_TIME', registry.view('rides').features);
  assert.deepEqual(
    columns.map((c) => [c.feature.name, c.kind]),
    [
      ['ridesLast30m', 'count'],
      ['avgFare1h', 'avg'],
      ['lastZone1h', 'last'],
    ],
  );
  assert.deepEqual(statement.binds, ['rides']);
  const sql = statement.sqlText;
  // Both in 1-minute tiles (schema/windows.ts tileSizeFor): 30 of them for 30m, 60 for 1h.
  const start30 = '(FLOOR(r."AS_OF" / 60000) - 30 + 1) * 60000';
  const start60 = '(FLOOR(r."AS_OF" / 60000) - 60 + 1) * 60000';
  const fare = 'h."NUM_0"';
  // Each event field leaves its VARIANT once.
  assert.ok(sql.startsWith(`WITH h AS (SELECT "KEY", "EVENT_TIME", "AVAILABLE_TIME", "VALS", CAST("NUMS"['fare'] AS DOUBLE) AS "NUM_0", CAST("TEXTS"['zone'] AS VARCHAR) AS "TEXT_0", ROW_NUMBER() OVER`), sql);
  // The newest visible event and latest availableTime: running maxima of the as-of sequence.
  assert.ok(sql.includes('MAX("EVENT_TIME") OVER (PARTITION BY "KEY" ORDER BY "POS", "KIND" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "LAST_EVENT"'), sql);
  assert.ok(sql.includes(`COUNT(CASE WHEN h."EVENT_TIME" >= ${start30} THEN 1 END) AS "AGG_0"`), sql);
  assert.ok(sql.includes(`SUM(CASE WHEN h."EVENT_TIME" >= ${start60} THEN ${fare} END) AS "AGG_1", COUNT(CASE WHEN h."EVENT_TIME" >= ${start60} THEN ${fare} END) AS "AGG_2"`), sql);
  // The addends, in the reference's order, only when the sum is not exact whatever the order.
  assert.ok(sql.includes(`THEN NULL ELSE ARRAY_AGG(CASE WHEN h."EVENT_TIME" >= ${start60} AND ${fare} IS NOT NULL THEN ARRAY_CONSTRUCT(FLOOR(h."EVENT_TIME" / 60000), ${fare}) END) WITHIN GROUP (ORDER BY h."SEQ") END AS "AGG_3"`), sql);
  assert.ok(sql.includes(`MAX_BY(h."VALS", CASE WHEN h."EVENT_TIME" >= ${start60} AND h."TEXT_0" IS NOT NULL THEN h."SEQ" END) AS "AGG_4"`), sql);
  assert.ok(sql.includes(`JOIN h ON h."KEY" = r."KEY" AND h."EVENT_TIME" <= r."AS_OF" AND h."EVENT_TIME" >= LEAST(${start30}, ${start60}) GROUP BY r."ROW_NO")`), sql);
  assert.ok(sql.endsWith('FROM s LEFT JOIN a ON a."ROW_NO" = s."ROW_NO" WHERE s."KIND" = 1 AND s."LAST_EVENT" IS NOT NULL'), sql);
  // Without exact sums, no addends and no change order unless `last` needs it.
  const loose = windowReadStatement('"H"', '"R"', 'rides', 'SERVED', registry.view('rides').features.slice(0, 2), { exactSums: false }).statement.sqlText;
  assert.ok(!loose.includes('ARRAY_AGG') && !loose.includes('"SEQ"') && loose.includes('AND h."AVAILABLE_TIME" <= r."AS_OF"'), loose);
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
