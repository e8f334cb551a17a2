// One measured run of bench:online: servers loaded (one, or several at once), each one's CPU time over
// the measured window read from /proc, and runs pooled over rounds.
import { processCpuMs } from '../common/process-cpu.js';
import { runLoad, summarize, type LoadOptions, type LoadResult, type LoadTarget } from './load.js';
import type { Server } from './servers.js';

/** Rounds pooled: throughput from all answers, percentiles from all latencies, CPU weighted by answers. */
export interface Pooled {
  result: LoadResult;
  /** Null when a round's could not be read. */
  cpuUs: number | null;
}

export function pool(runs: readonly Measured[], durationMs: number): Pooled {
  const all = new Float64Array(runs.reduce((n, r) => n + r.result.latencies.length, 0));
  let at = 0;
  for (const { result } of runs) {
    all.set(result.latencies, at);
    at += result.latencies.length;
  }
  const requests = runs.reduce((n, r) => n + r.result.requests, 0);
  const result = summarize(all, requests, runs.reduce((n, r) => n + r.result.errors, 0), durationMs * runs.length);
  const cpuUs = requests === 0 || runs.some((r) => r.cpuUs === null) ? null : runs.reduce((sum, r) => sum + (r.cpuUs as number) * r.result.requests, 0) / requests;
  return { result, cpuUs };
}

export interface Measured {
  result: LoadResult;
  /** The server's CPU time over the measured window per answer (null where /proc cannot say). */
  cpuUs: number | null;
}

/**
 * Loads servers, one or several at once, each with its own workers, and reads each one's CPU time
 * over the measured window: its cost per request, which a shared machine's other work moves far less
 * than it moves throughput.
 */
export async function measure(servers: readonly { server: Server; target: LoadTarget }[], options: Omit<LoadOptions, 'onWindow'>): Promise<Measured[]> {
  return Promise.all(
    servers.map(async ({ server, target }) => {
      const cpu = { start: null as number | null, end: null as number | null };
      const onWindow = (edge: 'start' | 'end') => (cpu[edge] = processCpuMs(server.child.pid ?? null));
      const result = await runLoad(target, { ...options, onWindow });
      if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`${server.name} server died during the run:\n${server.tail()}`);
      return { result, cpuUs: cpu.start === null || cpu.end === null || result.requests === 0 ? null : ((cpu.end - cpu.start) * 1000) / result.requests };
    }),
  );
}
