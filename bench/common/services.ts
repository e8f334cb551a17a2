// The services harness's servers for a bench: the running one, or started with test/services/up NAME
// (and left running, as other work on the machine may share it).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readEndpoints, repoRoot, type Endpoints, type ServiceName } from '../../test/services/harness.js';
import { pingRedis } from '../../test/services/redis.js';

/** A harness service's endpoint, once `answers` says it does; `log` is the bench's own progress line on stderr. */
async function ensureService<N extends ServiceName>(name: N, answers: (endpoint: NonNullable<Endpoints[N]>) => Promise<boolean>, log: (message: string) => void): Promise<NonNullable<Endpoints[N]>> {
  const known = readEndpoints()[name];
  if (known && (await answers(known as NonNullable<Endpoints[N]>))) return known as NonNullable<Endpoints[N]>;
  log(`${name} is not running; starting it with test/services/up ${name}`);
  // The harness's output goes to stderr: stdout carries only result lines.
  const result = spawnSync(join(repoRoot, 'test', 'services', 'up'), [name], { cwd: repoRoot, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) throw new Error(`test/services/up ${name} failed (${result.error?.message ?? `exit code ${result.status}`})`);
  const started = readEndpoints()[name];
  if (!started || !(await answers(started as NonNullable<Endpoints[N]>))) throw new Error(`test/services/up ${name} finished, but ${name} does not answer`);
  log(`${name} started (left running; test/services/down ${name} stops it)`);
  return started as NonNullable<Endpoints[N]>;
}

/** The harness's Redis URL, once it answers. */
export async function ensureRedis(log: (message: string) => void): Promise<string> {
  return (await ensureService('redis', (redis) => pingRedis(redis.port), log)).url;
}

/** The harness's Jaeger, once its query API answers: where a bench's gateway sends its traces. */
export async function ensureJaeger(log: (message: string) => void): Promise<NonNullable<Endpoints['jaeger']>> {
  const answers = async (jaeger: NonNullable<Endpoints['jaeger']>) => fetch(new URL('/api/services', jaeger.queryUrl)).then((r) => r.ok, () => false);
  return ensureService('jaeger', answers, log);
}
