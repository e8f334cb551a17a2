// A busy gateway is not a failing store (issue 15, item 12). With this process's CPU blocked for longer
// than the read timeout between sends, reads of a healthy Redis answer with no error, on both serving
// paths; a Redis that really stops answering (DEBUG SLEEP on a server of the test's own) still trips
// the timeout and then the breaker, with the loop idle and with it busy. Only the store's own
// failures count toward the breaker: a stored value that does not decode does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import { FeaturegraphError } from '../../schema/errors.js';
import { startFixture, T0 } from '../e2e/fixture.js';
import { requireEndpoint } from '../services/endpoints.js';

/** The default read timeout; the burner blocks longer than it on every turn. */
const TIMEOUT_MS = 75;
const BLOCK_MS = 120;

/**
 * Blocks this process's event loop for BLOCK_MS on every turn of the loop's check phase: a request's
 * command gets written after one block, and its reply read after the next, so a timer started at the
 * send always expires before the reply is read, although Redis answered in well under a millisecond.
 */
function startBurner(): { stop: () => void; turns: () => number } {
  let running = true;
  let turns = 0;
  const turn = () => {
    if (!running) return;
    turns++;
    const until = performance.now() + BLOCK_MS;
    while (performance.now() < until) {
      // busy: the CPU is this loop's, not the store's
    }
    setImmediate(turn);
  };
  setImmediate(turn);
  return { stop: () => (running = false), turns: () => turns };
}

const code = (error: unknown) => (error instanceof FeaturegraphError ? error.code : String(error));

test('a busy loop beside the store: healthy reads answer, none times out, the breaker stays closed', async () => {
  const { url } = requireEndpoint('redis');
  const prefix = `busy:${process.pid}:${Date.now()}:`;
  const store = new RedisOnlineStore({ mode: 'standalone', url, keyPrefix: prefix });
  await store.connect();
  const keys = Array.from({ length: 100 }, (_, i) => ({ view: 'v', key: `k${i}` }));
  await store.writeValues(keys.map((k, i) => ({ ...k, eventTime: T0, availableTime: T0, values: Object.fromEntries(Array.from({ length: 50 }, (_, j) => [`f${j}`, i * 1000 + j])), retentionMs: 600_000 })));
  const burner = startBurner();
  const failures: string[] = [];
  try {
    for (let round = 0; round < 15; round++) {
      try {
        const values = await store.read(keys);
        assert.equal(values.length, 100);
        assert.equal(values[7]?.values?.f3, 7003);
      } catch (error) {
        failures.push(`${code(error)}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    burner.stop();
    await store.close();
  }
  assert.ok(burner.turns() >= 15, `the burner ran (${burner.turns()} turns)`);
  assert.deepEqual(failures, [], `${failures.length} of 15 reads failed beside a busy loop`);
});

test('a busy loop beside the gateway: zero errors on the fast path and on Apollo', async () => {
  const { url } = requireEndpoint('redis');
  const store = new RedisOnlineStore({ mode: 'standalone', url, keyPrefix: `busygw:${process.pid}:${Date.now()}:` });
  await store.connect();
  const f = await startFixture({ store });
  try {
    for (let i = 1; i <= 20; i++) await f.order(`r${i}`, `u${i}`, T0 - i * 1000);
    for (let i = 1; i <= 20; i++) f.rows.restaurants.upsert({ key: `r${i}`, eventTime: T0 - 1000, values: { isOpen: true, menuSize: i, cuisineTags: ['thai'] } });
    await f.refreshRows();
    const ids = JSON.stringify(Array.from({ length: 20 }, (_, i) => `r${i + 1}`));
    const fast = `{ restaurants(restaurantIds: ${ids}) { restaurantId ordersLast30m menuSize } }`;
    // A fragment has no plan: Apollo answers it.
    const apollo = `{ restaurants(restaurantIds: ${ids}) { ...R } } fragment R on Restaurant { restaurantId ordersLast30m menuSize featureMeta { menuSize { status } } }`;
    const before = { ...f.gateway.fastPath!.stats };
    const burner = startBurner();
    const answers: { data?: { restaurants: { ordersLast30m: number | null; menuSize: number | null }[] }; errors?: unknown[] }[] = [];
    try {
      for (let round = 0; round < 8; round++) {
        for (const query of [fast, apollo]) answers.push((await f.query<{ restaurants: { ordersLast30m: number | null; menuSize: number | null }[] }>(query)).body);
      }
    } finally {
      burner.stop();
    }
    const stats = f.gateway.fastPath!.stats;
    assert.equal(stats.answered - before.answered, 8, 'the fast path answered its 8 requests');
    assert.equal(stats.declined - before.declined, 8, 'Apollo answered the other 8');
    const failed = answers.filter((a) => a.errors !== undefined);
    assert.equal(failed.length, 0, `${failed.length} of ${answers.length} requests answered errors beside a busy loop; first: ${String(JSON.stringify(failed[0]?.errors)).slice(0, 300)}`);
    for (const answer of answers) {
      assert.equal(answer.data?.restaurants[4]?.ordersLast30m, 1);
      assert.equal(answer.data?.restaurants[4]?.menuSize, 5);
    }
  } finally {
    await f.close();
  }
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of this test's own, which the test may put to sleep. */
async function ownRedis(): Promise<{ url: string; process: ChildProcess; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fg-hung-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--enable-debug-command', 'yes'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30_000; ; ) {
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within 30 s: ${String(error)}`);
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      probe.disconnect();
    }
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  return { url, process: child, stop };
}

for (const busy of [false, true]) {
  test(`a Redis that stops answering still times out, then opens the breaker (${busy ? 'busy loop beside it' : 'idle loop'})`, async () => {
    const redis = await ownRedis();
    const store = new RedisOnlineStore({ mode: 'standalone', url: redis.url, breakerFailures: 3, breakerOpenMs: 60_000 });
    const sleeper = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    sleeper.on('error', () => {});
    let burner: ReturnType<typeof startBurner> | undefined;
    try {
      await store.connect();
      assert.deepEqual(await store.read([{ view: 'v', key: 'k' }]), [null], 'answers while awake');
      // Redis runs nothing else for 60 s: a hang guard, not a duration the test waits for.
      sleeper.call('DEBUG', 'SLEEP', '60').catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
      if (busy) burner = startBurner();
      const codes: string[] = [];
      const messages: string[] = [];
      for (let i = 0; i < 4; i++) {
        try {
          await store.read([{ view: 'v', key: 'k' }]);
          codes.push('answered');
        } catch (error) {
          codes.push(code(error));
          messages.push(error instanceof Error ? error.message : String(error));
        }
      }
      assert.deepEqual(codes, ['ONLINE_STORE_TIMEOUT', 'ONLINE_STORE_TIMEOUT', 'ONLINE_STORE_TIMEOUT', 'ONLINE_STORE_UNAVAILABLE'], messages.join('\n'));
      assert.match(messages[0] as string, new RegExp(`timed out after ${TIMEOUT_MS} ms`));
      assert.match(messages[3] as string, /circuit open/);
    } finally {
      burner?.stop();
      sleeper.disconnect();
      await store.close();
      await redis.stop();
    }
  });
}

test('a short stall of the store times out the reads in flight, and no more: the breaker stays closed', async () => {
  const redis = await ownRedis();
  const store = new RedisOnlineStore({ mode: 'standalone', url: redis.url, breakerFailures: 3, breakerOpenMs: 60_000 });
  const sleeper = new Redis(redis.url, { maxRetriesPerRequest: 0 });
  sleeper.on('error', () => {});
  try {
    await store.connect();
    await store.read([{ view: 'v', key: 'k' }]);
    // Redis holds everything for 300 ms (as a long script of another client would), then answers again.
    const awake = sleeper.call('DEBUG', 'SLEEP', '0.3');
    await new Promise((r) => setTimeout(r, 20));
    const inFlight = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.read([{ view: 'v', key: `k${i}` }])));
    assert.deepEqual(inFlight.map((r) => (r.status === 'rejected' ? code(r.reason) : 'answered')), Array(10).fill('ONLINE_STORE_TIMEOUT'), 'the reads sent during the stall time out');
    await awake;
    // Ten failures at one instant are one stall, not a node failing for a while: no circuit opened.
    assert.deepEqual(await store.read([{ view: 'v', key: 'k' }]), [null]);
  } finally {
    sleeper.disconnect();
    await store.close();
    await redis.stop();
  }
});

test('a value that does not decode fails its read, not its node: the breaker stays closed (Cluster)', async () => {
  const { nodes } = requireEndpoint('redis-cluster');
  const prefix = `undecodable:${process.pid}:${Date.now()}:`;
  const store = new RedisOnlineStore({ mode: 'cluster', nodes, keyPrefix: prefix, breakerFailures: 2, breakerOpenMs: 60_000, commandTimeoutMs: 2000 });
  const raw = new Cluster(nodes);
  try {
    await store.connect();
    await raw.set(store.keyOf({ view: 'v', key: 'e1' }), 'not a packed value');
    for (let i = 0; i < 3; i++) await assert.rejects(store.read([{ view: 'v', key: 'e1' }]), (error: unknown) => !(error instanceof FeaturegraphError), 'a decoding failure, not a store failure');
    // Same entity key, same slot, same node: the node answers.
    assert.deepEqual(await store.read([{ view: 'w', key: 'e1' }]), [null]);
  } finally {
    await raw.del(store.keyOf({ view: 'v', key: 'e1' }));
    raw.disconnect();
    await store.close();
  }
});
