// Consumer bounce: 50,000 payments (200 merchants, 3 partitions) are produced up front, then
// `featuregraph materialize` runs as a child process and is SIGKILLed at seeded random moments spread
// over the catch-up (see the kill loop), and restarted each time. Consumer offsets are committed
// lazily, so every restart replays what was applied but not committed; the store's per-partition
// offset guard must make those replays change nothing. At the end (group lag 0, every event applied)
// the stored tiles of every merchant must equal the oracle's tile by tile, GraphQL must answer the
// oracle's values, and every too-late or poison message must be in the dead-letter topic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptedEvents,
  appliedEventCount,
  assertProducedExactly,
  committedOffsets,
  eventsByKey,
  hour,
  lateEvent,
  paymentEvent,
  pick,
  poisonMessage,
  produceAll,
  sleep,
  StopWaiting,
  testRandom,
  waitUntil,
  type Outbound,
} from '../fixtures/stream.js';
import { checkAgainstOracle, startStreamScenario, waitCaughtUp } from '../fixtures/stream-scenario.js';

const minute = 60_000;
const eventCount = 50_000;
const keyCount = 200;
const kills = 6;

test('stream materializer under SIGKILL at random moments: nothing lost, nothing doubled', { timeout: 240_000 }, async (t) => {
  const rng = testRandom(t, 'the same events and kill choices; timing still varies');
  const s = await startStreamScenario(t, { name: 'kill', keyCount });
  const { admin, store, topic, groupId, keys } = s;

  // ---- 50,000 messages, produced before any materializer runs. Event times are relative to the real
  // clock the children use, and far from the lateness bound (1 h) on either side, so that "too late"
  // cannot depend on when a child happens to process a message.
  const produceStart = Date.now();
  const tp = produceStart;
  const messages: Outbound[] = [];
  const lastTime = new Map<string, number>();
  for (let i = 0; i < eventCount; i++) {
    const key = pick(rng, keys);
    const r = rng();
    if (r < 0.004) {
      messages.push(lateEvent(rng, key, tp - 2 * hour - Math.floor(rng() * 2 * hour)));
      continue;
    }
    if (r < 0.006) {
      messages.push(poisonMessage(rng, key, tp - Math.floor(rng() * 10 * minute)));
      continue;
    }
    let time: number;
    if (r < 0.05 && lastTime.has(key)) time = lastTime.get(key) as number;
    else if (r < 0.25) time = tp - Math.floor(rng() * 2 * minute);
    else if (r < 0.5) time = tp - Math.floor(rng() * 10 * minute);
    else time = tp - Math.floor(rng() * 50 * minute);
    lastTime.set(key, time);
    messages.push(paymentEvent(rng, key, time));
  }
  const produced = await produceAll(s.producer, topic, messages, 2500);
  await assertProducedExactly(admin, topic, produced);
  const events = acceptedEvents(produced);
  const byKey = eventsByKey(events);
  t.diagnostic(`produced ${produced.length} messages (${events.length} events, ${produced.length - events.length} too late or poison) over ${byKey.size} keys in ${Date.now() - produceStart} ms`);

  // Kill moments. A child catches up tens of thousands of events a second, far faster than progress
  // can be read from the store, so kills are timed from two observable moments, chosen at random per
  // kill (seeded): "early" kills fire around when the child's first batch of writes is expected to be
  // in flight (a random share of the delay from getting its partitions to its first write, as measured
  // on earlier children), so that a pipeline of writes is cut part way; "late" kills fire at a random
  // delay after its first write, sized from the rate earlier children reached so that the kills spread
  // over the catch-up (on average a child gets through a 1/(kills left + 1) share of what remains),
  // landing between the writes and the lazy commit or in a later batch.
  let rate = 30_000; // events per second, re-estimated from every child that applied something
  let firstWriteMs = 700; // from getting the partitions to the first write (a first guess), re-measured
  let replayed = 0;
  let toReplay = 0; // applied but not committed when the previous child was killed
  const deadMembers = new Set<string>();
  const started = Date.now();
  const killLog: string[] = [];
  for (let i = 0; i < kills; i++) {
    const early = rng() < 0.4;
    const share = rng();
    const before = (await appliedEventCount(store, topic, byKey)).applied;
    const child = s.materializer(`materializer #${i + 1}`);
    let memberId = '';
    await waitUntil(
      async () => {
        if (!child.running) throw new StopWaiting(`${child.name} exited on its own:\n${child.lines.slice(-20).join('\n')}`);
        const [group] = (await admin.describeGroups([groupId])).groups;
        const live = group?.members.filter((m) => !deadMembers.has(m.memberId)) ?? [];
        if (group?.state !== 'Stable' || group.members.length !== 1 || live.length !== 1) return false;
        memberId = (live[0] as { memberId: string }).memberId;
        return true;
      },
      60_000,
      () => `${child.name} never became the group's only member:\n${child.lines.slice(-10).join('\n')}`,
      20,
    );
    const assignedAt = Date.now();
    if (early) {
      await sleep((0.3 + 0.9 * share) * firstWriteMs);
    } else {
      if (before < events.length) {
        await waitUntil(
          async () => {
            if (!child.running) throw new StopWaiting(`${child.name} exited on its own:\n${child.lines.slice(-20).join('\n')}`);
            return (await appliedEventCount(store, topic, byKey)).applied > before;
          },
          60_000,
          () => `${child.name} applied nothing:\n${child.lines.slice(-10).join('\n')}`,
          20,
        );
        // Only a child with nothing to replay measures the plain delay to its first write.
        if (toReplay === 0) firstWriteMs = Date.now() - assignedAt;
      }
      const expectedMs = ((events.length - before) / rate) * 1000;
      await sleep(share * ((2 * expectedMs) / (kills - i + 1)));
    }
    await child.stop('SIGKILL');
    deadMembers.add(memberId);
    const lifeMs = Date.now() - assignedAt;
    const after = await appliedEventCount(store, topic, byKey, await committedOffsets(admin, groupId, topic));
    if (!early && after.applied > before) rate = Math.max(1000, (after.applied - before) / (Math.max(1, lifeMs - firstWriteMs) / 1000));
    replayed += after.uncommitted;
    toReplay = after.uncommitted;
    killLog.push(`kill ${i + 1} (${early ? 'early' : 'late'}) at ${((Date.now() - started) / 1000).toFixed(1)} s, ${lifeMs} ms after it got its partitions: ${after.applied}/${events.length} events applied (+${after.applied - before}), ${after.uncommitted} of them not committed (to replay)`);
  }
  for (const line of killLog) t.diagnostic(line);
  assert.ok(killLog.length >= 5, 'at least five kills');

  // ---- the last child runs to the end: every accepted event applied, the group's lag 0
  const last = s.materializer('materializer (final)');
  await waitCaughtUp(s, last, events);
  // The child's own progress log reports lag 0 too.
  await last.waitFor(/lag 0 \(/, 60_000);
  const totalRun = Date.now() - started;
  t.diagnostic(`all ${events.length} events applied ${totalRun} ms after the first start; final child: ${JSON.stringify(last.progress)}`);
  const duplicateWrites = s.children.reduce((n, c) => n + c.progress.duplicates, 0);
  assert.ok(replayed > 0, 'the kills left applied but uncommitted events to replay');
  t.diagnostic(`replayed: ${replayed} events in all were applied but not committed when a child was killed, so the next child read them again and had to skip them (a child killed early re-reads the rest once more); duplicate writes skipped, as the children last logged: ${duplicateWrites}`);

  // ---- exactly once: tiles, offsets and eventTime of every key, GraphQL at one instant, and no dead
  // letter lost across the kills
  await checkAgainstOracle(t, s, produced);

  // ---- a graceful stop still works after all that
  const exit = await last.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, `SIGTERM exits cleanly:\n${last.lines.slice(-5).join('\n')}`);
});
