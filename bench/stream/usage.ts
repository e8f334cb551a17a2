// What the services and workers used while a phase was measured: CPU time of a process (from /proc)
// and Redis's own counters (INFO commandstats, INFO cpu). Redis and the machine are shared, so these
// say whether something else was busy too.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { root, round } from './common.js';

/** Share of one core a process used between two processCpuMs readings `wallMs` apart; null if either is missing. */
export function cpuShare(before: number | null, after: number | null, wallMs: number): number | null {
  return before === null || after === null ? null : round((after - before) / Math.max(1, wallMs), 3);
}

/** The harness's Kafka broker, from its pid file. */
export function kafkaPid(): number | null {
  const file = join(root, '.cache', 'services', 'kafka', 'kafka.pid');
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export interface RedisSnapshot {
  byCommand: Map<string, number>;
  evalshaCalls: number;
  evalshaUsec: number;
  calls: number;
  usec: number;
  cpuMs: number;
}

export async function redisSnapshot(redis: Redis): Promise<RedisSnapshot> {
  const [commandstats, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')]);
  const out: RedisSnapshot = { byCommand: new Map(), evalshaCalls: 0, evalshaUsec: 0, calls: 0, usec: 0, cpuMs: 0 };
  for (const line of commandstats.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (!match) continue;
    const calls = Number(match[2]);
    const usec = Number(match[3]);
    out.calls += calls;
    out.usec += usec;
    out.byCommand.set(match[1] as string, calls);
    if (match[1] === 'evalsha') {
      out.evalshaCalls = calls;
      out.evalshaUsec = usec;
    }
  }
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  out.cpuMs = (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
  return out;
}

/** The `redis_*` metrics of a result line: what Redis did between two snapshots `wallMs` apart. */
export function redisDelta(before: RedisSnapshot, after: RedisSnapshot, wallMs: number): Record<string, number | null | Record<string, number>> {
  if (after.calls < before.calls || after.evalshaCalls < before.evalshaCalls) {
    // Someone ran CONFIG RESETSTAT meanwhile (Redis is shared): the deltas mean nothing.
    return { redis_evalsha_calls: null, redis_evalsha_usec_per_call: null, redis_commands: null, redis_command_ms: null, redis_cpu: round((after.cpuMs - before.cpuMs) / Math.max(1, wallMs), 3), redis_stats_reset: 1 };
  }
  const calls = after.evalshaCalls - before.evalshaCalls;
  const usec = after.evalshaUsec - before.evalshaUsec;
  // Redis is shared: commands of anything else that ran meanwhile show up here too.
  const top = [...after.byCommand]
    .map(([name, n]) => [name, n - (before.byCommand.get(name) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5);
  return {
    redis_top_commands: Object.fromEntries(top),
    redis_evalsha_calls: calls,
    redis_evalsha_usec_per_call: round(calls > 0 ? usec / calls : 0),
    redis_commands: after.calls - before.calls,
    redis_command_ms: round((after.usec - before.usec) / 1000, 0),
    // Share of one core Redis used over the measured time (it is single-threaded: 1 means saturated).
    redis_cpu: round((after.cpuMs - before.cpuMs) / Math.max(1, wallMs), 3),
  };
}
