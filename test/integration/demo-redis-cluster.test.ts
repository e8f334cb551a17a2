// The demo (npm start) served from a 3-master Redis Cluster, as a user runs it: the stream views'
// tile writes (keys over every slot) and the row views' value writes go out together, and the gateway
// answers live values for a minute with no store error anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { requireEndpoint } from '../services/endpoints.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Restaurant {
  restaurantId: string;
  ordersLast30m: number | null;
  isOpen: boolean | null;
  avgPrepSeconds7d: number | null;
  featureMeta: { ordersLast30m: { status: string } };
}

test('the demo served from a Redis Cluster: every view is written, values stay live for a minute', async (t) => {
  const nodes = requireEndpoint('redis-cluster').nodes;
  const dir = mkdtempSync(join(tmpdir(), 'fg-demo-cluster-'));
  const configFile = join(dir, 'featuregraph.json');
  // A read timeout far above production's 75 ms: this pins that every write reaches the Cluster and
  // reads answer without error, and a busy machine must not turn a slow answer into a timeout.
  writeFileSync(configFile, JSON.stringify({ host: '127.0.0.1', port: 0, onlineStore: { type: 'redis-cluster', nodes, keyPrefix: `demo-cluster:${process.pid}:`, commandTimeoutMs: 2000 } }));
  const child = spawn(process.execPath, [resolve('bin/featuregraph.mjs'), 'serve', '--config', configFile, '--demo', 'examples/food-delivery/demo.ts'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  let url: string | null = null;
  const ready = new Promise<string>((resolveUrl, reject) => {
    child.stderr.setEncoding('utf8');
    let pending = '';
    child.stderr.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        log.push(line);
        const at = /serving .* at (http:\/\/\S+)/.exec(line);
        if (at) resolveUrl(at[1] as string);
      }
    });
    child.on('exit', (code) => reject(new Error(`the demo exited with ${code} before serving:\n${log.join('\n')}`)));
    // A hang guard: the demo loads a day of orders first (11 s at load 13 here).
    setTimeout(() => reject(new Error(`no "serving" line within 120 s:\n${log.join('\n')}`)), 120_000).unref();
  });
  try {
    url = await ready;
    const ids = Array.from({ length: 50 }, (_, i) => `r${i + 1}`);
    const query = `{ restaurants(restaurantIds: ${JSON.stringify(ids)}) { restaurantId ordersLast30m isOpen avgPrepSeconds7d featureMeta { ordersLast30m { status } } } }`;
    const first = new Map<string, number | null>();
    const moved = new Set<string>();
    let answers = 0;
    // A minute of the demo running, asked every second: a run length, not a timing assertion.
    for (const end = Date.now() + 60_000; Date.now() < end; await sleep(1000)) {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      const body = (await response.json()) as { data?: { restaurants: Restaurant[] }; errors?: unknown[] };
      assert.equal(response.status, 200);
      assert.equal(body.errors, undefined, `errors in answer ${answers}: ${JSON.stringify(body.errors)}`);
      for (const r of body.data?.restaurants ?? []) {
        assert.notEqual(r.isOpen, null, `${r.restaurantId}.isOpen (restaurant_profile, a row view) is written`);
        assert.notEqual(r.avgPrepSeconds7d, null, `${r.restaurantId}.avgPrepSeconds7d (restaurant_prep, a row view) is written`);
        assert.notEqual(r.featureMeta.ordersLast30m.status, 'MISSING', `${r.restaurantId}.ordersLast30m (a stream view) is written`);
        if (!first.has(r.restaurantId)) first.set(r.restaurantId, r.ordersLast30m);
        else if (first.get(r.restaurantId) !== r.ordersLast30m) moved.add(r.restaurantId);
      }
      answers++;
    }
    t.diagnostic(`${answers} answers; ordersLast30m moved for ${moved.size} of 50 restaurants`);
    assert.ok(moved.size > 0, 'live orders move ordersLast30m within a minute');
    assert.equal(exited, undefined, 'the gateway is still running');
    const storeErrors = log.filter((line) => /online store redis-cluster|OnlineStoreError|slots allocation/.test(line));
    assert.deepEqual(storeErrors, [], 'no store error was logged');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (exited !== undefined ? r(undefined) : child.once('exit', r)));
  }
});
