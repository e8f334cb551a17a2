// The seed scenario's training set (examples/food-delivery/training-set.ts) end to end: the demo's day
// of orders through the materializer into history with a 10-minute outage, ordersLast30m exported in
// both modes, and the side-by-side summary: SERVED shows the staleness, and never counts more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EmbeddedSql } from '../../adapters/sources/embedded/index.js';

test('SERVED next to EVENT_TIME: rows in the outage differ, others rarely, SERVED never counts more', async () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'examples/food-delivery/training-set.ts', '--rows', '1000', '--at', '2026-06-01T12:00:00Z'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(run.status, 0, run.stderr);
  const row = (label: string) => {
    const match = new RegExp(`${label}\\s+(\\d+)\\s+(\\d+)\\s+([\\d.]+)%\\s+([\\d.]+)\\s+(\\d+)`).exec(run.stdout);
    assert.ok(match, `${label} in\n${run.stdout}`);
    return { rows: Number(match[1]), differ: Number(match[2]), share: Number(match[3]), mean: Number(match[4]) };
  };
  const all = row('all');
  const outage = row('asOf in the outage \\(\\+ catch-up\\)');
  const outside = row('asOf outside it \\(materializer lag\\)');
  assert.equal(all.rows, 1000);
  assert.equal(outage.rows + outside.rows, 1000);
  assert.ok(outage.share > 50, `most rows in the outage differ: ${outage.share}%`);
  assert.ok(outside.share < 20, `few rows outside it differ: ${outside.share}%`);
  assert.ok(outage.mean > outside.mean * 10);
  assert.match(run.stdout, /SERVED counted fewer orders than had happened in \d+ rows, more in 0\./);
  assert.match(run.stderr, /history: \d+ orders of the last 24 h, materializer outage 2026-06-01T06:00:00.000Z to 2026-06-01T06:10:00.000Z/);
  const served = /files: (\S+served\.parquet) and (\S+event-time\.parquet)/.exec(run.stdout);
  assert.ok(served);
  const db = await EmbeddedSql.open(':memory:');
  try {
    const [counts] = await db.query(`SELECT count(*) AS n, count(*) FILTER (WHERE ordersLast30m IS NOT NULL) AS present FROM read_parquet('${served[1]}')`);
    assert.deepEqual({ n: counts?.n, some: Number(counts?.present) > 900 }, { n: 1000, some: true });
  } finally {
    await db.close();
  }
});
