// What a process depends on (an online store, a history store, a broker, its topics, row sources) and
// the state of each, for /readyz and for the log. A state change is logged once, naming the dependency,
// where it is and why (never a URL with a password, never a secret): a wait of an hour logs two lines,
// not one per retry. Dependencies with a probe (a ping) are checked on each /readyz and by watch();
// the others are set by whoever waits for them (the Kafka source's start-up, the batch scheduler).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http.js';

/**
 * ready: answers. waiting: has not answered since the process started, which waits for it.
 * unavailable: answered before, fails now. failed: failed in a way no wait mends; nobody retries it.
 */
export type DependencyState = 'ready' | 'waiting' | 'unavailable' | 'failed';

export interface DependencyReport {
  state: DependencyState;
  /** What and where, e.g. "redis 127.0.0.1:6379" or "topic orders": never credentials. */
  target: string;
  /** Why it is not ready, when it is not. */
  cause?: string;
  /** What the process does meanwhile, when it is not ready. */
  meanwhile?: string;
  /** When it entered this state (ISO-8601). */
  since: string;
}

export interface HealthReport {
  status: 'ready' | 'not ready';
  dependencies: Record<string, DependencyReport>;
}

export interface DependencyOptions {
  /** What and where, for the log and /readyz. */
  target: string;
  /** Resolves when the dependency answers; its rejection's message is the cause. */
  probe?: () => Promise<void>;
  /** Bound on one probe (default 1000 ms): a probe that hangs is a dependency that does not answer. */
  probeTimeoutMs?: number;
  /** What the process does while it is not ready (logged with the cause). */
  meanwhile?: string;
}

interface Entry {
  options: DependencyOptions;
  state: DependencyState;
  cause: string | undefined;
  since: number;
}

export interface HealthOptions {
  log: (message: string) => void;
  now?: () => number;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class Health {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: HealthOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Declares a dependency, waiting until something says otherwise. Declaring one twice keeps its state. */
  add(name: string, options: DependencyOptions): void {
    const existing = this.entries.get(name);
    if (existing) existing.options = options;
    else this.entries.set(name, { options, state: 'waiting', cause: undefined, since: this.now() });
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  state(name: string): DependencyState | undefined {
    return this.entries.get(name)?.state;
  }

  /** Records a dependency's state; logs it when the state or the cause changed. */
  set(name: string, state: DependencyState, cause?: string): void {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`health: unknown dependency ${JSON.stringify(name)}: add() it first`);
    const nextCause = state === 'ready' ? undefined : cause;
    if (entry.state === state && entry.cause === nextCause) return;
    entry.state = state;
    entry.cause = nextCause;
    entry.since = this.now();
    const { target, meanwhile } = entry.options;
    const why = nextCause === undefined ? '' : `: ${nextCause}`;
    const then = meanwhile && state !== 'failed' ? `; meanwhile ${meanwhile}` : '';
    switch (state) {
      case 'ready':
        return this.options.log(`${name} (${target}) ready`);
      case 'waiting':
        return this.options.log(`waiting for ${name} (${target})${why}${then}`);
      case 'unavailable':
      case 'failed':
        return this.options.log(`${name} (${target}) ${state}${why}${then}`);
      default: {
        const unreachable: never = state;
        throw new Error(`unknown dependency state ${String(unreachable)}`);
      }
    }
  }

  /** Records a failure: waiting if it never answered, unavailable if it did, failed stays failed. */
  fail(name: string, cause: string): void {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`health: unknown dependency ${JSON.stringify(name)}: add() it first`);
    if (entry.state === 'failed') return;
    this.set(name, entry.state === 'ready' || entry.state === 'unavailable' ? 'unavailable' : 'waiting', cause);
  }

  /** Runs every probe (each bounded by its timeout), records the outcomes, and reports. */
  async check(): Promise<HealthReport> {
    await Promise.all(
      [...this.entries].map(async ([name, entry]) => {
        const { probe, probeTimeoutMs = 1000 } = entry.options;
        if (!probe || entry.state === 'failed') return;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${probeTimeoutMs} ms`)), probeTimeoutMs);
        });
        try {
          await Promise.race([probe(), timeout]);
          this.set(name, 'ready');
        } catch (error) {
          this.fail(name, message(error));
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return this.report();
  }

  /** The recorded states, without probing. */
  report(): HealthReport {
    const dependencies: Record<string, DependencyReport> = {};
    let ready = true;
    for (const [name, entry] of this.entries) {
      if (entry.state !== 'ready') ready = false;
      dependencies[name] = {
        state: entry.state,
        target: entry.options.target,
        ...(entry.cause === undefined ? {} : { cause: entry.cause }),
        ...(entry.state !== 'ready' && entry.options.meanwhile ? { meanwhile: entry.options.meanwhile } : {}),
        since: new Date(entry.since).toISOString(),
      };
    }
    return { status: ready ? 'ready' : 'not ready', dependencies };
  }

  /** Probes every `everyMs` in the background, so that changes are logged when they happen, not when someone asks. */
  watch(everyMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Answers /readyz: 200 when every dependency is ready, else 503; the body names each one's state and cause. */
  async answer(res: ServerResponse): Promise<void> {
    const report = await this.check();
    sendJson(res, report.status === 'ready' ? 200 : 503, report, { 'cache-control': 'no-store' });
  }
}

/** Answers /healthz (the process is up) and /readyz (its dependencies answer); null for other paths. */
export function healthRoutes(health: Health): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return true;
    }
    if (path === '/readyz') {
      await health.answer(res);
      return true;
    }
    return false;
  };
}
