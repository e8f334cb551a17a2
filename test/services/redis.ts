// Redis 7 standalone, from Debian's redis-server package, started by hand (no systemd here) on
// 127.0.0.1 with persistence off. Also exports the small Redis helpers that redis-cluster.ts shares.
import { createConnection } from 'node:net';
import {
  aptInstall,
  commandExists,
  killDetached,
  portFor,
  spawnDetached,
  waitForSpawned,
  type Endpoints,
  type ServiceContext,
  type ServiceDefinition,
} from './harness.js';

export const redisHost = '127.0.0.1';
const label = 'redis';

function redisPort(): number {
  return portFor('FEATUREGRAPH_REDIS_PORT', 16379);
}

export function installRedisServer(service: string, ctx: ServiceContext): void {
  if (commandExists('redis-server') && commandExists('redis-cli')) return;
  ctx.log('installing redis-server from Debian packages');
  aptInstall(service, ['redis-server']);
}

type Reply = { ok: true; value: string } | { ok: false; error: string };

/** One RESP reply from the front of `buffer`, or undefined while it is incomplete. */
function parseReply(buffer: Buffer): Reply | undefined {
  const lineEnd = buffer.indexOf('\r\n');
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[0] ?? 0);
  const head = buffer.subarray(1, lineEnd).toString();
  if (type === '+' || type === ':') return { ok: true, value: head };
  if (type === '-') return { ok: false, error: head };
  if (type !== '$') return { ok: false, error: `unexpected reply type ${JSON.stringify(type)}` };
  const length = Number(head);
  if (length < 0) return { ok: true, value: '' };
  if (buffer.length < lineEnd + 2 + length) return undefined;
  return { ok: true, value: buffer.subarray(lineEnd + 2, lineEnd + 2 + length).toString() };
}

/**
 * Sends one command and returns its reply. Raw RESP rather than a client library: the harness must
 * tell "a Redis answers" from "something else holds the port" without any client's retry logic.
 */
export function redisCommand(port: number, args: string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: redisHost, port });
    let buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (outcome: Reply) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (outcome.ok) resolve(outcome.value);
      else reject(new Error(outcome.error));
    };
    socket.setTimeout(timeoutMs, () => finish({ ok: false, error: `no reply within ${timeoutMs} ms` }));
    socket.once('error', (error) => finish({ ok: false, error: error.message }));
    socket.once('close', () => finish({ ok: false, error: 'connection closed before a reply' }));
    socket.once('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const reply = parseReply(buffer);
      if (reply) finish(reply);
    });
  });
}

export async function pingRedis(port: number): Promise<boolean> {
  try {
    return (await redisCommand(port, ['PING'])) === 'PONG';
  } catch {
    return false;
  }
}

/** Waits for PING on a server we just spawned; gives up at once (with its log) if the process dies. */
export async function waitForPing(service: string, ctx: ServiceContext, processLabel: string, pid: number, port: number): Promise<void> {
  await waitForSpawned(service, ctx, processLabel, pid, { server: `redis-server on port ${port}`, what: `PING on ${redisHost}:${port}`, ready: () => pingRedis(port), timeoutMs: 15_000 });
}

/** Arguments shared by every redis-server we run: loopback only, persistence off, in the foreground. */
export function redisServerArgs(port: number, dataDir: string): string[] {
  return ['--bind', redisHost, '--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dataDir];
}

function endpointFor(port: number): NonNullable<Endpoints['redis']> {
  return { url: `redis://${redisHost}:${port}`, host: redisHost, port };
}

const redis: ServiceDefinition<'redis'> = {
  name: 'redis',

  async install(ctx) {
    installRedisServer('redis', ctx);
  },

  async probe() {
    const port = redisPort();
    return (await pingRedis(port)) ? endpointFor(port) : null;
  },

  async start(ctx) {
    const port = redisPort();
    // A server of ours that runs but does not answer would hold the port: replace it.
    await killDetached(ctx, label);
    const pid = spawnDetached(ctx, label, 'redis-server', redisServerArgs(port, ctx.dir));
    await waitForPing('redis', ctx, label, pid, port);
    return endpointFor(port);
  },

  async stop(ctx) {
    await killDetached(ctx, label);
  },
};

export default redis;
