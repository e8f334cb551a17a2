// Online equals SERVED, as a property over random scenarios (test/fixtures/online-served.ts): the online
// answer at instant t and a SERVED read asOf t, from the memory and the embedded history store, are the
// same value with the same status (STALE by the views' watermarks included), event time, available time
// and watermark. The memory store takes the
// materializers' appends as they happen; the embedded store too on every tenth seed, and otherwise all of
// them in one append after the run (the same records, first of an id winning, as appends do; DuckDB's
// per-append cost would make 50 seeds take minutes). test/integration/online-equals-served.snowflake.test.ts
// holds the Snowflake store to the same property. `npm test` runs 50 seeds; `npm run test:property` runs
// 500 (FEATUREGRAPH_PROPERTY_SEEDS); FEATUREGRAPH_PROPERTY_SEED=<n> replays one and prints its steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryHistoryStore } from '../../../../adapters/history/memory/index.js';
import { EmbeddedHistoryStore } from '../../../../adapters/history/embedded/index.js';
import type { HistoryStore } from '../../../../adapters/history/types.js';
import { compareObservation, loadScenario, registry, runScenario, servedReads, type Scenario } from '../../../fixtures/online-served.js';

const only = process.env.FEATUREGRAPH_PROPERTY_SEED;
const count = Number(process.env.FEATUREGRAPH_PROPERTY_SEEDS ?? 50);
const seeds = only !== undefined ? [Number(only)] : Array.from({ length: count }, (_, i) => 1 + i);

/** The first difference between the scenario's online answers and the store's SERVED reads, or undefined. */
async function firstDifference(scenario: Scenario, store: HistoryStore, label: string): Promise<string | undefined> {
  const served = await servedReads(store, scenario.observations);
  return scenario.observations.map((o, i) => compareObservation(o, served[i] ?? [], label)).find((d) => d !== null) ?? undefined;
}

test(`the online answer at t equals SERVED asOf t in every history store (${seeds.length} seeds)`, async (t) => {
  let observed = 0;
  for (const seed of seeds) {
    const live = seed % 10 === 0;
    const memory = new MemoryHistoryStore();
    const embedded = await EmbeddedHistoryStore.open(':memory:', { views: [...registry.views.values()] });
    try {
      const scenario = await runScenario(seed, live ? [memory, embedded] : [memory]);
      if (!live) await loadScenario(embedded, scenario);
      observed += scenario.observations.length;
      const difference = (await firstDifference(scenario, memory, 'memory')) ?? (await firstDifference(scenario, embedded, live ? 'embedded' : 'embedded (loaded after the run)'));
      if (difference !== undefined || only !== undefined) process.stderr.write(`seed ${seed} steps:\n${scenario.steps.join('\n')}\n`);
      assert.equal(difference, undefined, `seed ${seed} (replay: FEATUREGRAPH_PROPERTY_SEED=${seed} node --import tsx --test test/unit/adapters/history/online-equals-served.test.ts): ${difference}`);
    } finally {
      await embedded.close();
    }
  }
  t.diagnostic(`${seeds.length} seeds, ${observed} online answers compared with SERVED reads in 2 history stores`);
});
