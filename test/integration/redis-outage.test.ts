// Redis stopped during a load run: affected fields resolve null with a coded error, the gateway keeps
// serving everything else, and it recovers by itself once Redis is back. How fast it recovers is a
// timing goal (2 s), measured by `npm run bench:outage`: this test checks what clients saw, which a
// busy machine does not change (test/fixtures/redis-outage.ts runs the outage).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRedisOutage } from '../fixtures/redis-outage.js';
import '../services/endpoints.js';

test('a Redis outage nulls store-backed fields with a code; the gateway recovers by itself once Redis is back', async (t) => {
  // A roomy read timeout: a killed Redis fails commands at once (closed socket, no offline queue), so
  // the timeout only decides whether a busy machine's healthy phase could time out, and it must not.
  const { samples, killedAt, downAt, restartAt, backAt, recovered } = await runRedisOutage({ commandTimeoutMs: 2000 });

  assert.ok(samples.every((s) => s.status === 200), `statuses: ${[...new Set(samples.map((s) => s.status))]}`);
  assert.ok(samples.every((s) => s.catalog === 4), 'the catalog, which needs no store, answered throughout');
  const before = samples.filter((s) => s.end < killedAt);
  assert.ok(before.length >= 10 && before.every((s) => s.value === 1 && s.codes.length === 0), `healthy before the outage: ${JSON.stringify(before.slice(0, 3))} of ${before.length}`);
  // Sent after Redis had exited and answered before it was started again: wholly inside the outage.
  const during = samples.filter((s) => s.at > downAt && s.end < restartAt);
  assert.ok(during.length >= 10, `${during.length} requests during the outage`);
  for (const s of during) {
    assert.equal(s.value, null);
    assert.equal(s.codes.length, 1);
    assert.match(s.codes[0] as string, /^ONLINE_STORE_(UNAVAILABLE|TIMEOUT)$/);
  }
  // runRedisOutage waited for it (a hang guard, not a time goal); nothing was restarted but Redis.
  assert.equal(recovered.value, 1);
  t.diagnostic(`recovered ${recovered.at - backAt} ms after Redis was back; ${during.length} requests during the outage`);
});
