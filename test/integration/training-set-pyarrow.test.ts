// A training set written by `featuregraph training-set` is read by pandas and pyarrow (the Feast venv's
// python, from the services harness): the data scientist's side of the export, types included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { requireEndpoint } from '../services/endpoints.js';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';

const T0 = Date.parse('2026-06-01T12:00:00.000Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

test('pandas and pyarrow read the exported Parquet: columns, types, values, nulls', async () => {
  const { python } = requireEndpoint('feast');
  const dir = mkdtempSync(join(tmpdir(), 'fg-pyarrow-'));
  const history = join(dir, 'history.duckdb');
  const store = await EmbeddedHistoryStore.open(history);
  await store.append([
    { view: 'restaurant_order_activity', key: 'r1', id: 'o:0:1', eventTime: T0 - 10 * MIN, availableTime: T0 - 10 * MIN + 2000, values: { orderId: 'o1', restaurantId: 'r1', userId: 'u1', createdAt: iso(T0 - 10 * MIN), totalPrice: 20, cuisine: 'thai' } },
    { view: 'restaurant_order_activity', key: 'r1', id: 'o:0:2', eventTime: T0 - 5 * MIN, availableTime: T0 - 1 * MIN, values: { orderId: 'o2', restaurantId: 'r1', userId: 'u1', createdAt: iso(T0 - 5 * MIN), totalPrice: 20, cuisine: 'thai' } },
    { view: 'restaurant_profile', key: 'r1', id: 'r1:p', eventTime: T0 - 60 * MIN, availableTime: T0 - 59 * MIN, values: { isOpen: true, menuSize: 42, cuisineTags: ['thai', 'noodles'] } },
    { view: 'restaurant_prep', key: 'r1', id: 'r1:h', eventTime: T0 - 60 * MIN, availableTime: T0 - 59 * MIN, values: { avgPrepSeconds7d: 600 } },
  ]);
  await store.close();
  const rows = join(dir, 'rows.csv');
  writeFileSync(rows, `restaurantId,asOf,distanceKm,query\nr1,${iso(T0 - 3 * MIN)},5,thai curry\nr1,${iso(T0)},5,pizza\nnope,${iso(T0)},1,x\n`);
  const out = join(dir, 'train.parquet');
  const run = spawnSync(process.execPath, [resolve('bin/featuregraph.mjs'), 'training-set', '--history', history, '--entities', rows, '--features', 'ordersLast30m,avgPrepSeconds7d,isOpen,menuSize,cuisineTags,etaMinutes,queryMatch', '--mode', 'SERVED', '--out', out], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  const script = `
import json, sys, pandas, pyarrow.parquet as pq
table = pq.read_table(sys.argv[1])
df = pandas.read_parquet(sys.argv[1])
print(json.dumps({
  "schema": {f.name: str(f.type) for f in table.schema},
  "rows": json.loads(df.assign(asOf=df["asOf"].astype(str)).to_json(orient="records")),
}))`;
  const py = spawnSync(python, ['-c', script, out], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(py.status, 0, py.stderr);
  const { schema, rows: got } = JSON.parse(py.stdout) as { schema: Record<string, string>; rows: Record<string, unknown>[] };
  assert.deepEqual(schema, {
    restaurantId: 'string',
    asOf: 'timestamp[us]',
    // Input columns ride along as read: whole numbers in a CSV are integers.
    distanceKm: 'int64',
    query: 'string',
    ordersLast30m: 'int64',
    avgPrepSeconds7d: 'double',
    isOpen: 'bool',
    menuSize: 'int64',
    cuisineTags: 'list<element: string>',
    etaMinutes: 'double',
    queryMatch: 'double',
  });
  // SERVED at T0-3m: the order of T0-5m was not readable until T0-1m, so one order, not two.
  assert.deepEqual(got, [
    { restaurantId: 'r1', asOf: '2026-06-01 11:57:00', distanceKm: 5, query: 'thai curry', ordersLast30m: 1, avgPrepSeconds7d: 600, isOpen: true, menuSize: 42, cuisineTags: ['thai', 'noodles'], etaMinutes: 25.2, queryMatch: 0.5 },
    { restaurantId: 'r1', asOf: '2026-06-01 12:00:00', distanceKm: 5, query: 'pizza', ordersLast30m: 2, avgPrepSeconds7d: 600, isOpen: true, menuSize: 42, cuisineTags: ['thai', 'noodles'], etaMinutes: 25.3, queryMatch: 0 },
    { restaurantId: 'nope', asOf: '2026-06-01 12:00:00', distanceKm: 1, query: 'x', ordersLast30m: null, avgPrepSeconds7d: null, isOpen: null, menuSize: null, cuisineTags: null, etaMinutes: null, queryMatch: null },
  ]);
});
