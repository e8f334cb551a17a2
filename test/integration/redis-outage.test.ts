// Redis stopped during a load run: affected fields resolve null with a coded error, the gateway keeps
// serving everything else, and it recovers by itself within 2 s of Redis being back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import { startFixture, T0 } from '../e2e/fixture.js';
import '../services/endpoints.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function startRedis(port: number, dir: string): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
}

async function waitForPing(url: string): Promise<void> {
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch {
      await sleep(20);
    } finally {
      probe.disconnect();
    }
  }
}

interface Sample {
  at: number;
  end: number;
  status: number;
  value: unknown;
  codes: string[];
  catalog: number;
}

test('a Redis outage nulls store-backed fields with a code; the gateway recovers within 2 s', async (t) => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'fg-outage-'));
  let redis = startRedis(port, dir);
  await waitForPing(url);
  // A roomier timeout than production's: a killed Redis fails commands at once (closed socket, no
  // offline queue), and a busy CI machine must not make the healthy phase time out.
  const store = new RedisOnlineStore({ mode: 'standalone', url, commandTimeoutMs: 500 });
  await store.connect();
  const f = await startFixture({ store });
  const seed = () => f.order('r1', 'u1', T0 - 1000);
  await seed();

  const samples: Sample[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      const at = Date.now();
      const response = await fetch(f.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ restaurant(restaurantId: "r1") { ordersLast30m } featureCatalog(tag: "eta") { id } }' }) });
      const body = (await response.json()) as { data?: { restaurant?: { ordersLast30m: unknown }; featureCatalog?: unknown[] }; errors?: { extensions?: { code?: string } }[] };
      samples.push({ at, end: Date.now(), status: response.status, value: body.data?.restaurant?.ordersLast30m, codes: (body.errors ?? []).map((e) => e.extensions?.code ?? '?'), catalog: body.data?.featureCatalog?.length ?? -1 });
      await sleep(5);
    }
  };
  const workers = [worker(), worker(), worker()];
  try {
    // Phases last until they have enough requests, not a fixed time: a busy machine serves fewer per second.
    const waitUntil = async (enough: () => boolean) => {
      for (const deadline = Date.now() + 15_000; !enough() && Date.now() < deadline; ) await sleep(20);
    };
    await waitUntil(() => samples.length >= 20);
    const killedAt = Date.now();
    redis.kill('SIGKILL');
    await new Promise((r) => redis.once('exit', r));
    await sleep(1000);
    await waitUntil(() => samples.filter((s) => s.at > killedAt + 100).length >= 20);
    redis = startRedis(port, dir);
    await waitForPing(url);
    const backAt = Date.now();
    // Redis came back empty (no persistence): write the value again through a separate client.
    const writer = new RedisOnlineStore({ mode: 'standalone', url, commandTimeoutMs: 1000 });
    await writer.connect();
    const { StreamMaterializer } = await import('../../materializers/stream/materializer.js');
    const views = [...f.registry.views.values()].filter((v) => v.source.kind === 'stream');
    await new StreamMaterializer({ topic: 'orders', views, store: writer, source: f.stream, now: () => f.clock.now }).handle({
      topic: 'orders',
      partition: 0,
      messages: [{ partition: 0, offset: 0, key: 'r1', value: JSON.stringify({ orderId: 'o1', restaurantId: 'r1', userId: 'u1', createdAt: new Date(T0 - 1000).toISOString(), totalPrice: 3, cuisine: 'thai' }), timestampMs: T0 }],
    });
    await writer.close();
    const deadline = backAt + 5000;
    while (Date.now() < deadline && !samples.some((s) => s.at > backAt && s.value === 1 && s.codes.length === 0)) await sleep(20);
    running = false;
    await Promise.all(workers);

    assert.ok(samples.every((s) => s.status === 200), `statuses: ${[...new Set(samples.map((s) => s.status))]}`);
    assert.ok(samples.every((s) => s.catalog === 4), 'the catalog, which needs no store, answered throughout');
    const before = samples.filter((s) => s.end < killedAt);
    assert.ok(before.length > 10 && before.every((s) => s.value === 1 && s.codes.length === 0), `healthy before the outage: ${JSON.stringify(before.slice(0, 3))} of ${before.length}`);
    const during = samples.filter((s) => s.at > killedAt + 100 && s.at < backAt - 100);
    assert.ok(during.length > 10, `${during.length} requests during the outage`);
    for (const s of during) {
      assert.equal(s.value, null);
      assert.equal(s.codes.length, 1);
      assert.match(s.codes[0] as string, /^ONLINE_STORE_(UNAVAILABLE|TIMEOUT)$/);
    }
    const recovered = samples.find((s) => s.at > backAt && s.value === 1 && s.codes.length === 0);
    assert.ok(recovered, 'served values again after Redis came back');
    const recoveryMs = recovered.at - backAt;
    assert.ok(recoveryMs <= 2000, `recovered ${recoveryMs} ms after Redis was back`);
    t.diagnostic(`recovered ${recoveryMs} ms after Redis was back; ${during.length} requests during the outage`);
  } finally {
    running = false;
    await Promise.all(workers);
    await f.close();
    redis.kill('SIGKILL');
  }
});
