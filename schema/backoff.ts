// Jittered exponential backoff: the one helper behind every wait for a dependency at start (a broker, a
// topic, a history store). Delays grow by `factor` from `initialMs` up to `maxMs`, each one drawn between
// half and one and a half times its step, so that processes started together do not knock in step.
import { ConfigError } from './errors.js';

export interface BackoffOptions {
  /** The first delay's step (default 250 ms). */
  initialMs?: number;
  /** The largest step (default 5 s): a dependency that comes back is noticed within 1.5 x this. */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** A source of numbers in [0, 1) (default Math.random); tests pass a fixed one. */
  random?: () => number;
}

const defaults = { initialMs: 250, maxMs: 5000, factor: 2 };

/** Checks options where they enter: each bound is a positive finite number, factor at least 1. */
export function validBackoff(where: string, options: BackoffOptions = {}): Required<Omit<BackoffOptions, 'random'>> & { random: () => number } {
  const merged = { ...defaults, ...options };
  for (const key of ['initialMs', 'maxMs'] as const) {
    const value = merged[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigError(`${where}: backoff ${key} must be a positive number of ms, got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
  }
  if (merged.maxMs < merged.initialMs) throw new ConfigError(`${where}: backoff maxMs (${merged.maxMs}) must be at least initialMs (${merged.initialMs})`);
  if (typeof merged.factor !== 'number' || !Number.isFinite(merged.factor) || merged.factor < 1) throw new ConfigError(`${where}: backoff factor must be a number >= 1, got ${typeof merged.factor === 'number' ? String(merged.factor) : JSON.stringify(merged.factor)}`);
  return { ...merged, random: options.random ?? Math.random };
}

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs, maxMs, factor, random } = validBackoff('backoffDelay', options);
  const step = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  return Math.round(step * (0.5 + random()));
}

/** Thrown by waits that were stopped (their signal aborted) before what they waited for came. */
export class WaitAborted extends Error {
  constructor(what: string) {
    super(`stopped while waiting for ${what}`);
    this.name = 'WaitAborted';
  }
}

/** Sleeps `ms`; resolves early, with false, when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (completed: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(completed);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions extends BackoffOptions {
  /** What is awaited, for WaitAborted's message. */
  what: string;
  /** Whether a failure is worth another attempt; any other failure is thrown at once. */
  retriable(error: unknown): boolean;
  /** Told of each retriable failure before the pause (e.g. to record a dependency's state). */
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
  signal?: AbortSignal;
}

/**
 * Runs `attempt` until it resolves, pausing with jittered backoff after each retriable failure, for as
 * long as it takes: never a fixed number of tries. Throws the first failure that is not retriable, or
 * WaitAborted once `signal` aborts.
 */
export async function retryUntilDone<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  validBackoff(options.what, options);
  for (let n = 0; ; n++) {
    if (options.signal?.aborted) throw new WaitAborted(options.what);
    try {
      return await attempt(n);
    } catch (error) {
      if (options.signal?.aborted) throw new WaitAborted(options.what);
      if (!options.retriable(error)) throw error;
      const delay = backoffDelay(n, options);
      options.onRetry?.(error, n, delay);
      if (!(await pause(delay, options.signal))) throw new WaitAborted(options.what);
    }
  }
}
