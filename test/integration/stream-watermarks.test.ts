// View freshness on the real broker and Redis: a `featuregraph materialize` child publishes the view's
// watermark (per partition, the instant it last found the partition caught up); while it runs and the
// topic is idle, the watermark keeps up with the clock; killed, it stops where it was, and featureMeta
// turns STALE once the view's freshness SLA (1 minute) is past it; started again, it moves on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { loadConfig } from '../../gateway/config.js';
import { createGateway } from '../../gateway/server.js';
import { acceptedEvents, paymentEvent, pick, produceAll, sleep, testRandom, viewName, waitUntil, type Outbound } from '../fixtures/stream.js';
import { startStreamScenario, waitCaughtUp, type StreamScenario } from '../fixtures/stream-scenario.js';

const minute = 60_000;

async function watermarkOf(s: StreamScenario): Promise<number | null> {
  return (await s.store.readWatermarks([viewName])).get(viewName)?.watermark ?? null;
}

interface PaymentsMeta {
  status: string;
  watermark: string | null;
  freshnessMs: number;
}

/** featureMeta of one merchant, read by a gateway on the scenario's store whose clock says `atMs`. */
async function metaAt(s: StreamScenario, key: string, atMs: number): Promise<PaymentsMeta> {
  const gateway = await createGateway({ config: loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1' } }), registry: s.registry, store: s.store, now: () => atMs });
  try {
    const url = await gateway.listen();
    const query = `query One($id: ID!) { merchant(merchantId: $id) { featureMeta { paymentsLast1h { status watermark freshnessMs } } } }`;
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables: { id: key } }) });
    const body = (await response.json()) as { data?: { merchant: { featureMeta: { paymentsLast1h: PaymentsMeta } } }; errors?: unknown };
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return (body.data as { merchant: { featureMeta: { paymentsLast1h: PaymentsMeta } } }).merchant.featureMeta.paymentsLast1h;
  } finally {
    await gateway.close();
  }
}

test('a running stream materializer keeps its view fresh while the topic is idle; killed, the watermark stops and the view turns STALE past its SLA; restarted, it moves again', { timeout: 240_000 }, async (t) => {
  const rng = testRandom(t, 'the same events');
  const s = await startStreamScenario(t, { name: 'watermarks', keyCount: 12 });
  // The scenario removes the view's values; the run's other keys (watermarks, incarnations) go too.
  s.cleanup(async () => {
    const redis = new Redis(s.redisUrl);
    try {
      for await (const found of redis.scanStream({ match: `${s.keyPrefix}*`, count: 1000 })) if ((found as string[]).length > 0) await redis.del(...(found as string[]));
    } finally {
      redis.disconnect();
    }
  });
  const now = Date.now();
  const messages: Outbound[] = Array.from({ length: 300 }, () => paymentEvent(rng, pick(rng, s.keys), now - Math.floor(rng() * 20 * minute)));
  const produced = await produceAll(s.producer, s.topic, messages);
  const events = acceptedEvents(produced);
  const key = events[0]?.key as string;

  const first = s.materializer('first');
  await waitCaughtUp(s, first, events);
  // Caught up and idle: the watermark reaches past the moment it caught up, then keeps moving.
  const caughtUpBy = Date.now();
  await waitUntil(async () => ((await watermarkOf(s)) ?? 0) > caughtUpBy, 60_000, async () => `watermark ${await watermarkOf(s)} not past ${caughtUpBy}:\n${first.lines.slice(-10).join('\n')}`, 200);
  const moving = (await watermarkOf(s)) as number;
  await waitUntil(async () => ((await watermarkOf(s)) ?? 0) > moving, 60_000, async () => `watermark stays at ${moving}`, 200);

  const fresh = await metaAt(s, key, Date.now());
  assert.equal(fresh.status, 'PRESENT');
  assert.equal(fresh.freshnessMs, minute);
  assert.ok(fresh.watermark !== null && Date.parse(fresh.watermark) > caughtUpBy, `featureMeta's watermark ${fresh.watermark} is the view's, past ${new Date(caughtUpBy).toISOString()}`);

  // Killed: nothing publishes any more, though the topic's partitions are as caught up as before.
  await first.stop('SIGKILL');
  const stopped = (await watermarkOf(s)) as number;
  // Nothing to wait for: a few publish intervals (1 s) for a watermark that must not move.
  await sleep(3000);
  assert.equal(await watermarkOf(s), stopped, 'the watermark of a dead materializer stays where it was');
  assert.equal((await metaAt(s, key, stopped + minute)).status, 'PRESENT', 'within the SLA of the watermark');
  const stale = await metaAt(s, key, stopped + minute + 1);
  assert.equal(stale.status, 'STALE', 'past the SLA of the watermark');
  assert.equal(stale.watermark, new Date(stopped).toISOString());

  // Started again: once it has the partitions (the dead member's session ends first), the watermark moves on.
  const second = s.materializer('second');
  await waitUntil(async () => ((await watermarkOf(s)) ?? 0) > stopped, 120_000, async () => `watermark stays at ${stopped} after the restart:\n${second.lines.slice(-10).join('\n')}`, 200);
  const restarted = (await watermarkOf(s)) as number;
  assert.equal((await metaAt(s, key, restarted + minute)).status, 'PRESENT');
  await second.stop('SIGTERM');
});
