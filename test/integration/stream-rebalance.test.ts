// A rebalance under load: two `featuregraph materialize` processes share a 3-partition topic in one
// consumer group while payments are produced continuously; in the middle a third one joins, then
// one of the first two is SIGKILLed (its partitions move once its 6 s session expires) and the other
// is stopped with SIGTERM (it leaves the group at once). Partitions change hands while batches are in
// flight, so two processes may briefly apply the same partition; the store's per-key, per-partition
// offset guard must keep every event applied exactly once. At the end the stored tiles and the
// GraphQL answers must equal the oracle's, and the dead-letter topic must hold every rejected message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptedEvents, eventsByKey, hour, lateEvent, paymentEvent, pick, poisonMessage, produceAll, sleep, testRandom, waitUntil, type MaterializerProcess, type Outbound, type Produced } from '../fixtures/stream.js';
import { checkAgainstOracle, startStreamScenario, waitCaughtUp } from '../fixtures/stream-scenario.js';

const minute = 60_000;
const keyCount = 120;
/** Production runs this long once A and B share the topic, in ticks of `perTick` messages every `tickMs`. */
const produceMs = 24_000;
const tickMs = 100;
const perTick = 40;

test('stream materializers in one group: a member joins, one is killed, one leaves, under load; result equals the oracle', { timeout: 300_000 }, async (t) => {
  const rng = testRandom(t, 'the same events; timing still varies');
  const s = await startStreamScenario(t, { name: 'rebalance', keyCount });
  const { keys } = s;

  // ---- two members, both consuming before production starts
  const a = s.materializer('materializer A');
  const b = s.materializer('materializer B');
  await Promise.all([a.waitFor(/lag \d+ \(/, 60_000), b.waitFor(/lag \d+ \(/, 60_000)]);

  // ---- produce continuously; the membership changes happen on this timeline
  const produced: Produced[] = [];
  const lastTime = new Map<string, number>();
  const tick = (): Outbound[] => {
    const now = Date.now();
    const out: Outbound[] = [];
    for (let i = 0; i < perTick; i++) {
      const key = pick(rng, keys);
      const r = rng();
      if (r < 0.005) out.push(lateEvent(rng, key, now - 2 * hour - Math.floor(rng() * hour)));
      else if (r < 0.008) out.push(poisonMessage(rng, key, now));
      else {
        let time: number;
        if (r < 0.05 && lastTime.has(key)) time = lastTime.get(key) as number;
        else if (r < 0.3) time = now; // arriving as it happens: the current tile of every window
        else if (r < 0.5) time = now - Math.floor(rng() * 2 * minute);
        else time = now - Math.floor(rng() * 40 * minute);
        lastTime.set(key, time);
        out.push(paymentEvent(rng, key, time));
      }
    }
    return out;
  };
  let c: MaterializerProcess | null = null;
  const timeline: string[] = [];
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const changes = [
    { afterMs: 6_000, done: false, run: async () => {
      c = s.materializer('materializer C');
      timeline.push(`${at()}: C started (joins the group)`);
    } },
    { afterMs: 12_000, done: false, run: async () => {
      timeline.push(`${at()}: A SIGKILLed after ${a.progress.events} events`);
      await a.stop('SIGKILL');
    } },
    { afterMs: 17_000, done: false, run: async () => {
      timeline.push(`${at()}: B sent SIGTERM after ${b.progress.events} events`);
      const exit = await b.stop('SIGTERM');
      timeline.push(`${at()}: B exited ${JSON.stringify(exit)}`);
    } },
  ];
  // The membership timeline starts once A and B both applied events (each owns a partition).
  let sharedSince: number | null = null;
  while (sharedSince === null || Date.now() - sharedSince < produceMs) {
    const tickStart = Date.now();
    produced.push(...(await produceAll(s.producer, s.topic, tick(), perTick)));
    if (sharedSince === null && a.progress.events > 0 && b.progress.events > 0) {
      sharedSince = Date.now();
      timeline.push(`${at()}: A and B both consuming`);
    }
    if (sharedSince === null && Date.now() - started > 120_000) throw new Error(`A and B did not both consume within 120 s (a hang guard): A ${JSON.stringify(a.progress)}, B ${JSON.stringify(b.progress)}`);
    for (const change of changes) {
      if (!change.done && sharedSince !== null && Date.now() - sharedSince >= change.afterMs) {
        change.done = true;
        // Not awaited inline: production must go on while B drains and leaves.
        void change.run().catch((error: unknown) => timeline.push(`${at()}: ${String(error)}`));
      }
    }
    await sleep(Math.max(0, tickMs - (Date.now() - tickStart)));
  }
  timeline.push(`${at()}: production ended, ${produced.length} messages`);
  const cc = c as MaterializerProcess | null;
  assert.ok(cc, 'C was started');
  await waitUntil(() => !a.running && !b.running, 30_000, () => 'A and B still running');
  assert.deepEqual(await b.exited, { code: 0, signal: null }, `B exits cleanly on SIGTERM:\n${b.lines.slice(-5).join('\n')}`);

  // ---- C alone catches up: every accepted event applied, the group's lag 0
  const events = acceptedEvents(produced);
  const byKey = eventsByKey(events);
  await waitCaughtUp(s, cc, events);
  timeline.push(`${at()}: caught up`);
  for (const line of timeline) t.diagnostic(line);
  for (const child of [a, b, cc]) t.diagnostic(`${child.name}: ${JSON.stringify(child.progress)} (last report)`);
  // C's progress line comes every 500 ms, so the store can show its writes before C reports them.
  await waitUntil(() => cc.progress.events > 0, 60_000, () => `C reporting the events it consumed after the rebalance: ${JSON.stringify(cc.progress)}`);
  t.diagnostic(`${produced.length} messages: ${events.length} events over ${byKey.size} keys`);

  // ---- exactly once: tiles, offsets, eventTime; GraphQL at one instant; dead letters
  await checkAgainstOracle(t, s, produced);

  const exit = await cc.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, 'C exits cleanly on SIGTERM');
});
