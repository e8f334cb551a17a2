// A closed-loop HTTP load generator: `concurrency` workers, each sending its next request as soon as
// the previous answer has arrived, over keep-alive connections (one per worker). Every latency of the
// measured window is kept, so percentiles are exact rather than bucketed.
import { Agent, request } from 'node:http';

export interface LoadTarget {
  host: string;
  port: number;
  path: string;
  /** Request bodies, sent in turn; each answer must be as long as its body's expected answer. */
  bodies: readonly Buffer[];
  expectedLengths: readonly number[];
}

export interface LoadOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Called as the measured window starts and as it ends (to read what the server used meanwhile). */
  onWindow?: (edge: 'start' | 'end') => void;
}

export interface LoadResult {
  /** Answers completed within the measured window. */
  requests: number;
  /** Answers with another status or length than expected, and transport errors (measured window). */
  errors: number;
  firstError?: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Every latency of the measured window in ms, sorted ascending (for pooling rounds). */
  latencies: Float64Array;
}

interface Answer {
  status: number;
  length: number;
  /** The first chunk, kept by reference (no copy) to show what a wrong answer said. */
  head: Buffer | undefined;
}

function post(agent: Agent, target: LoadTarget, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.host,
        port: target.port,
        path: target.path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        let length = 0;
        let head: Buffer | undefined;
        // Counting bytes is enough to tell a full answer from an error, and costs the client little
        // (this process shares the machine's cores with the servers it measures).
        res.on('data', (chunk: Buffer) => {
          length += chunk.length;
          head ??= chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, length, head }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The value at quantile q of an ascending array (nearest rank). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export function summarize(latencies: Float64Array, requests: number, errors: number, durationMs: number, firstError?: string): LoadResult {
  latencies.sort();
  let total = 0;
  for (const l of latencies) total += l;
  return {
    requests,
    errors,
    firstError,
    rps: requests / (durationMs / 1000),
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    meanMs: latencies.length ? total / latencies.length : Number.NaN,
    latencies,
  };
}

export async function runLoad(target: LoadTarget, options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, keepAliveMsecs: 10_000 });
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const measureUntil = measureFrom + options.durationMs;
  let latencies = new Float64Array(1 << 16);
  let recorded = 0;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;

  const record = (latency: number): void => {
    if (recorded === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[recorded++] = latency;
  };

  const worker = async (): Promise<void> => {
    while (performance.now() < measureUntil) {
      const index = next++ % target.bodies.length;
      const sentAt = performance.now();
      let failure: string | undefined;
      try {
        const answer = await post(agent, target, target.bodies[index] as Buffer);
        const said = (): string => answer.head?.toString('utf8', 0, 300) ?? '';
        if (answer.status !== 200) failure = `HTTP ${answer.status}: ${said()}`;
        else if (answer.length !== target.expectedLengths[index]) failure = `answer of ${answer.length} bytes, expected ${target.expectedLengths[index]}: ${said()}`;
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
      const doneAt = performance.now();
      // The measured window counts answers that completed inside it; latencies of requests sent
      // before it began would mix warm-up (connection setup, JIT) into the percentiles.
      if (doneAt < measureFrom || doneAt > measureUntil) continue;
      if (failure !== undefined) {
        errors++;
        firstError ??= failure;
        continue;
      }
      completed++;
      if (sentAt >= measureFrom) record(doneAt - sentAt);
    }
  };

  const { onWindow } = options;
  // Awaited with the workers: the window's end is reported before the run resolves.
  const edge = (name: 'start' | 'end', atMs: number) =>
    new Promise<void>((resolve) =>
      setTimeout(() => {
        onWindow?.(name);
        resolve();
      }, atMs),
    );
  const edges = onWindow ? [edge('start', options.warmupMs), edge('end', options.warmupMs + options.durationMs)] : [];
  try {
    await Promise.all([...Array.from({ length: options.concurrency }, worker), ...edges]);
  } finally {
    agent.destroy();
  }
  return summarize(latencies.slice(0, recorded), completed, errors, options.durationMs, firstError);
}
