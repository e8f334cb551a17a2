// The monitor as a loop: every `everyMs` it asks the health engine for the sliding window
// [now - intervalMs, now) and hands the rows to the gauges. Runs never overlap: the next one starts
// `everyMs` after the previous one started, or as soon as it ends when it took longer. A run that fails
// is logged and counted, and the gauges keep the last successful run's values (Prometheus then sees
// an older last-run timestamp, which the FeaturegraphMonitorStalled alert watches).
//
// The log names the failure by its kind only: a featuregraph error's code and message (its own words,
// the ones a client may see), any other error's name and code. A driver's message can quote a
// connection string, and nothing the monitor logs may carry a feature value.
import { FeaturegraphError } from '../../schema/errors.js';
import type { HealthRow } from '../../schema/health.js';
import { nodeTimers, type Timers } from '../batch/in-process-scheduler.js';
import type { HealthEngine } from './types.js';
import type { MonitorMetrics } from './metrics.js';

export interface MonitorLoopOptions {
  engine: HealthEngine;
  /** The window each run computes: [now - intervalMs, now). */
  intervalMs: number;
  /** How often a run starts. */
  everyMs: number;
  /** Where each successful run's rows go; none: the rows only reach onRun. */
  metrics?: MonitorMetrics | null;
  log: (message: string) => void;
  now?: () => number;
  /** Default: node's timers, unref'd (the process's servers keep it up, not this loop). */
  timers?: Timers;
  /** Told each successful run's rows and the instant its window ended. */
  onRun?: (rows: readonly HealthRow[], at: number) => void;
}

/** A failure as the log may show it: never a backend's message, never a value. */
export function failureKind(error: unknown): string {
  if (error instanceof FeaturegraphError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' || typeof code === 'number' ? ` (${code})` : ''}`;
  }
  return typeof error;
}

export class MonitorLoop {
  /** Runs that ended, and those of them that failed. */
  readonly stats = { runs: 0, failures: 0 };
  private readonly now: () => number;
  private readonly timers: Timers;
  private timer: unknown = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Failures since the last successful run: the log says when they end. */
  private failingSince = 0;

  constructor(private readonly options: MonitorLoopOptions) {
    if (!(options.intervalMs > 0) || !(options.everyMs > 0)) throw new RangeError(`the monitor's interval and every must be positive durations, got ${options.intervalMs} and ${options.everyMs} ms`);
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? nodeTimers;
  }

  /** Runs at once, then every everyMs until stop(). */
  start(): void {
    if (this.stopped || this.timer !== null || this.running !== null) return;
    this.tick();
  }

  /** One run now: the rows of the window ending now, or null when it failed. */
  async run(): Promise<readonly HealthRow[] | null> {
    const { engine, intervalMs, metrics, log } = this.options;
    const to = this.now();
    const from = to - intervalMs;
    let rows: HealthRow[];
    try {
      rows = await engine.health({ from, to });
    } catch (error) {
      this.stats.runs++;
      this.stats.failures++;
      this.failingSince++;
      metrics?.failed();
      log(`monitor: the run for [${new Date(from).toISOString()}, ${new Date(to).toISOString()}) failed (${failureKind(error)}); the gauges keep the last successful run's values (${this.failingSince} failed in a row)`);
      return null;
    }
    this.stats.runs++;
    if (this.failingSince > 0) log(`monitor: runs succeed again after ${this.failingSince} failed`);
    this.failingSince = 0;
    metrics?.update(rows, to);
    this.options.onRun?.(rows, to);
    return rows;
  }

  /** Stops the timer and waits for the run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    this.timer = null;
    const started = this.now();
    // run() catches the engine's failures; what is left to catch is an onRun that threw.
    this.running = this.run().then(() => {
      this.running = null;
      if (this.stopped) return;
      this.timer = this.timers.setTimeout(() => this.tick(), Math.max(0, started + this.options.everyMs - this.now()));
    }, (error: unknown) => {
      this.running = null;
      this.options.log(`monitor: handling a run's rows failed (${failureKind(error)}); the loop stops`);
    });
  }
}
