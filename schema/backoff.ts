// Jittered exponential backoff and the one retry loop built on it (retryWithBackoff), behind every wait
// for a dependency at start (a broker, a topic, a history store), a shared history file changing owner
// and dead letters being sent; a stream source's redelivery of a failed batch and a batch run's retry
// take their delays from backoffDelay and decide by the same rule (isRetriable, errors.ts). Delays grow
// by `factor` from `initialMs` up to `maxMs`, each one drawn between half and one and a half times its
// step, so that processes started together do not knock in step.
import { ConfigError, isRetriable } from './errors.js';

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

const shown = (value: unknown): string => (typeof value === 'number' ? String(value) : JSON.stringify(value));

/** Checks options where they enter: each bound is a positive finite number, factor at least 1. */
export function validBackoff(where: string, options: BackoffOptions = {}): Required<Omit<BackoffOptions, 'random'>> & { random: () => number } {
  const merged = { ...defaults, ...options };
  for (const key of ['initialMs', 'maxMs'] as const) {
    const value = merged[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigError(`${where}: backoff ${key} must be a positive number of ms, got ${shown(value)}`);
  }
  if (merged.maxMs < merged.initialMs) throw new ConfigError(`${where}: backoff maxMs (${merged.maxMs}) must be at least initialMs (${merged.initialMs})`);
  if (typeof merged.factor !== 'number' || !Number.isFinite(merged.factor) || merged.factor < 1) throw new ConfigError(`${where}: backoff factor must be a number >= 1, got ${shown(merged.factor)}`);
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

export interface RetryLimits extends BackoffOptions {
  /** Tries in all, the first included (default: no bound). Once they are spent, the last failure is thrown. */
  attempts?: number;
  /** How long to keep trying, from the start of the first try (default: no bound). A failure once it has passed is thrown. */
  withinMs?: number;
}

export interface RetryOptions extends RetryLimits {
  /** What is awaited, for WaitAborted's message. */
  what: string;
  /** Whether a failure that is not a FeaturegraphError is worth another try (default true): see isRetriable. */
  unknownRetriable?: boolean;
  /** Told of each failure that is tried again, before the pause (e.g. to record a dependency's state). */
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
  /** Stops the tries: a pause in progress ends at once, and WaitAborted is thrown. */
  signal?: AbortSignal;
  /** How a pause is taken (default `pause`): tests record the delays instead of waiting them. */
  sleep?(ms: number, signal?: AbortSignal): Promise<boolean>;
  /** The clock withinMs is measured on (default Date.now). */
  now?(): number;
}

/**
 * Checks a retry's bounds and backoff where they enter: attempts a positive integer (given, when
 * `bounded`), withinMs a positive number of ms.
 */
export function validRetry(where: string, options: RetryLimits = {}, bounded = false): void {
  validBackoff(where, options);
  const { attempts, withinMs } = options;
  if ((attempts !== undefined || bounded) && !(Number.isInteger(attempts) && (attempts as number) >= 1)) throw new ConfigError(`${where}: attempts must be an integer of at least 1, got ${shown(attempts)}`);
  if (withinMs !== undefined && (typeof withinMs !== 'number' || !Number.isFinite(withinMs) || withinMs <= 0)) throw new ConfigError(`${where}: withinMs must be a positive number of ms, got ${shown(withinMs)}`);
}

/**
 * The one retry loop. Runs `attempt` (given its number, from 0) until it resolves; after a failure that
 * is retriable by the one rule (isRetriable: the error's `retriable` flag), pauses with jittered backoff
 * and tries again, for as long as tries are left and `withinMs` has not passed (both unbounded by
 * default: a dependency at start is waited for as long as it takes). Throws the first failure that is
 * not retriable, at once; the last failure once the tries or the time are spent; WaitAborted once
 * `signal` aborts.
 */
export async function retryWithBackoff<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  validRetry(options.what, options);
  const { what, signal, attempts = Number.POSITIVE_INFINITY, withinMs = Number.POSITIVE_INFINITY, sleep = pause, now = Date.now } = options;
  const started = now();
  for (let n = 0; ; n++) {
    if (signal?.aborted) throw new WaitAborted(what);
    try {
      return await attempt(n);
    } catch (error) {
      if (signal?.aborted) throw new WaitAborted(what);
      if (!isRetriable(error, options.unknownRetriable) || n + 1 >= attempts || now() - started >= withinMs) throw error;
      const delay = backoffDelay(n, options);
      options.onRetry?.(error, n, delay);
      if (!(await sleep(delay, signal))) throw new WaitAborted(what);
    }
  }
}
