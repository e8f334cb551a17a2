// The services harness itself: a service that cannot start fails `up` by name under CI, `up` is
// idempotent, and `down` leaves no process behind. Each test runs the CLI on its own port and its
// own cache folder, so the servers the other suites share are never touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, portOpen, repoRoot } from '../services/harness.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the services CLI asynchronously, so that servers in this process keep serving meanwhile. */
function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'test/services/cli.ts'), ...args],
      { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** A TCP server that accepts connections and never answers: holds a port without being Redis. */
async function silentServer(): Promise<{ server: Server; port: number }> {
  // resume(): a socket whose input is never read never sees the client's FIN, and close() would
  // then wait for it forever.
  const server = createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { server, port: address.port };
}

async function freePort(): Promise<number> {
  const { server, port } = await silentServer();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function tempCache(): string {
  return mkdtempSync(join(tmpdir(), 'featuregraph-services-'));
}

// Jaeger is left out: in a fresh cache folder it would compile its 2,000 packages anew.
for (const [name, portVariable] of [['redis', 'FEATUREGRAPH_REDIS_PORT'], ['prometheus', 'FEATUREGRAPH_PROMETHEUS_PORT']] as const) {
  test(`under CI, a service that cannot start fails \`up\` and is named: ${name}`, async () => {
    const { server, port } = await silentServer();
    const cache = tempCache();
    const env = { FEATUREGRAPH_CACHE_DIR: cache, [portVariable]: String(port) };
    try {
      const result = await cli(['up', name], { ...env, CI: 'true' });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`services that could not start: ${name}\\b`));
      assert.match(result.stderr, /address already in use/i);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cli(['down', name], env);
      rmSync(cache, { recursive: true, force: true });
    }
  });
}

test('`up` twice reuses the running server and `down` leaves no process', async () => {
  const port = await freePort();
  const cache = tempCache();
  const env = { FEATUREGRAPH_CACHE_DIR: cache, FEATUREGRAPH_REDIS_PORT: String(port) };
  const pidFile = join(cache, 'services/redis/redis.pid');
  try {
    const first = await cli(['up', 'redis'], env);
    assert.equal(first.code, 0, first.stderr);
    const endpoints = JSON.parse(readFileSync(join(cache, 'services/endpoints.json'), 'utf8')) as { redis?: { port: number } };
    assert.equal(endpoints.redis?.port, port);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(isAlive(pid));

    const second = await cli(['up', 'redis'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /already up/);
    assert.equal(Number(readFileSync(pidFile, 'utf8')), pid, 'the second `up` started no other server');

    const down = await cli(['down', 'redis'], env);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(isAlive(pid), false, `redis-server ${pid} still runs after down`);
    assert.equal(existsSync(pidFile), false);
    assert.equal(await portOpen(port), false);
    assert.match((await cli(['status', 'redis'], env)).stdout, /^redis: down$/m);
  } finally {
    await cli(['down', 'redis'], env);
    rmSync(cache, { recursive: true, force: true });
  }
});
