// A command's timeout counts the time the store had to answer, not the time this process took to look.
// A healthy Redis's reply can sit unread in the socket while the event loop runs other work (a burst
// of large responses, a CPU-heavy neighbour), and a plain timer then blames the store: at 100 x 50
// with 16 requests in flight the gateway's own p99 reached the 75 ms timeout, the first false timeouts
// opened the breaker, and healthy reads failed. What the process knows for sure: while its event loop
// sat idle, waiting for I/O, the reply had not arrived, since an arrived reply wakes the loop at once.
// So a command times out once the loop has spent `timeoutMs` idle since it was sent: the store, not
// the process, was late. A loop that never idles would never see a dead store that way; `maxWaitMs`
// of wall time, counted from when the command was written, bounds the wait. Every verdict waits for
// the loop's next I/O poll first, so a reply already in the socket is taken, never counted late.
import { performance } from 'node:perf_hooks';

export interface LoopClock {
  /** Milliseconds this thread's event loop has spent waiting for I/O (idle), cumulative. */
  idleMs(): number;
  /** Monotonic milliseconds. */
  nowMs(): number;
}

export const eventLoopClock: LoopClock = {
  idleMs: () => performance.nodeTiming.idleTime,
  nowMs: () => performance.now(),
};

export interface StoreTimeoutOptions {
  /** How long the loop may wait idle for the answer. */
  timeoutMs: number;
  /** How long the answer may take in wall time, however busy the loop was (>= timeoutMs). */
  maxWaitMs: number;
  onTimeout: () => Error;
  clock?: LoopClock;
}

interface Pending {
  clock: LoopClock;
  writtenAt: number | undefined;
}

// Commands sent in one turn of the loop are written together (auto-pipelining flushes in the check
// phase); one setImmediate per turn stamps them all, rather than one per command.
let unstamped: Pending[] = [];

function stampWritten(): void {
  const pending = unstamped;
  unstamped = [];
  for (const entry of pending) entry.writtenAt ??= entry.clock.nowMs();
}

/**
 * Settles as `promise` does, or rejects with onTimeout() once the store has been late by the rules
 * above. Call it right after sending: auto-pipelined commands are written in the loop's check phase,
 * and the wall-time bound starts there (a setImmediate queued after the client's own).
 */
export function withStoreTimeout<T>(promise: Promise<T>, options: StoreTimeoutOptions): Promise<T> {
  const { timeoutMs, maxWaitMs, onTimeout } = options;
  const clock = options.clock ?? eventLoopClock;
  const idleAtSend = clock.idleMs();
  const pending: Pending = { clock, writtenAt: undefined };
  if (unstamped.length === 0) setImmediate(stampWritten);
  unstamped.push(pending);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const verdict = () => {
      if (settled) return;
      const waited = clock.idleMs() - idleAtSend;
      const now = clock.nowMs();
      const elapsed = now - (pending.writtenAt ?? now);
      if (waited >= timeoutMs || elapsed >= maxWaitMs) {
        settled = true;
        reject(onTimeout());
        return;
      }
      arm(Math.min(timeoutMs - waited, maxWaitMs - elapsed));
    };
    // setImmediate from a timer runs after the loop's next I/O poll, which reads a reply already there.
    const arm = (ms: number) => {
      timer = setTimeout(() => setImmediate(verdict), Math.max(1, Math.ceil(ms)));
    };
    arm(timeoutMs);
    promise.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
