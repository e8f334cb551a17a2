// The services harness's Redis for a bench: the running one, or started with test/services/up redis
// (and left running, as other work on the machine may share it).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readEndpoints, repoRoot } from '../../test/services/harness.js';
import { pingRedis } from '../../test/services/redis.js';

/** The harness's Redis URL, once it answers; `log` is the bench's own progress line on stderr. */
export async function ensureRedis(log: (message: string) => void): Promise<string> {
  const known = readEndpoints().redis;
  if (known && (await pingRedis(known.port))) return known.url;
  log('Redis is not running; starting it with test/services/up redis');
  // The harness's output goes to stderr: stdout carries only result lines.
  const result = spawnSync(join(repoRoot, 'test', 'services', 'up'), ['redis'], { cwd: repoRoot, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) throw new Error(`test/services/up redis failed (${result.error?.message ?? `exit code ${result.status}`})`);
  const started = readEndpoints().redis;
  if (!started || !(await pingRedis(started.port))) throw new Error('test/services/up redis finished, but Redis does not answer');
  log(`Redis started at ${started.url} (left running; test/services/down redis stops it)`);
  return started.url;
}
