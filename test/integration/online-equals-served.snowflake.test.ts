// Online equals SERVED (test/unit/adapters/history/online-equals-served.test.ts) from the Snowflake
// history store, on fakesnow: scenarios run into the memory stores, then every append the materializers
// made goes to a Snowflake table in one append, and SERVED reads at the recorded instants must give the
// online answers (statuses, STALE by the views' watermarks included).
// fakesnow answers one statement at a time per session and is slow, so a few seeds here
// (FEATUREGRAPH_PROPERTY_SNOWFLAKE_SEEDS, default 10); the rules are the same SQL for every seed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryHistoryStore } from '../../adapters/history/memory/index.js';
import { SnowflakeHistoryStore } from '../../adapters/history/snowflake/index.js';
import type { SnowflakeConnectionSettings } from '../../adapters/sources/snowflake/client.js';
import { compareObservation, loadScenario, runScenario, servedReads } from '../fixtures/online-served.js';
import { requireEndpoint } from '../services/endpoints.js';
import { testSchema } from '../services/snowflake.js';

const endpoint = requireEndpoint('snowflake');
const database = 'FG_HISTORY';
const { schema, ready, drop } = testSchema(endpoint, database, 'PROP');
const seeds = Array.from({ length: Number(process.env.FEATUREGRAPH_PROPERTY_SNOWFLAKE_SEEDS ?? 10) }, (_, i) => 101 + i);

after(drop);

test(`the online answer at t equals SERVED asOf t from the Snowflake history store (${seeds.length} seeds)`, async (t) => {
  await ready;
  let observed = 0;
  for (const seed of seeds) {
    const scenario = await runScenario(seed, [new MemoryHistoryStore()]);
    const store = await SnowflakeHistoryStore.open({ connection: { ...endpoint, username: 'fg', password: 'fg', database, schema } as SnowflakeConnectionSettings, table: `PROP_${seed}` });
    try {
      await loadScenario(store, scenario);
      const served = await servedReads(store, scenario.observations);
      const difference = scenario.observations.map((o, i) => compareObservation(o, served[i] ?? [], 'snowflake')).find((d) => d !== null);
      if (difference !== undefined) process.stderr.write(`seed ${seed} steps:\n${scenario.steps.join('\n')}\n`);
      assert.equal(difference, undefined, `seed ${seed}: ${difference}`);
      observed += scenario.observations.length;
    } finally {
      await store.close();
    }
  }
  t.diagnostic(`${seeds.length} seeds, ${observed} online answers compared with SERVED reads from Snowflake`);
});
