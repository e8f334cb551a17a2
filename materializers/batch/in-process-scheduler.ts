// The Scheduler inside one process, for a process that has no Redis (the embedded demo, `npm start`):
// the same schedule, lease, retries and watermark checkpoints as the BullMQ one (ViewRuns runs both),
// kept in memory. One process is the only worker, so there is no run of a dead worker to take over,
// and no schedule left in Redis by an earlier start: the first slot, at schedule(), is the run at start.
// Time comes from `now` and `timers`, so tests drive it without waiting.
import { ViewRuns, slotJobId, type Lease, type Scheduler, type SchedulerOptions, type ViewJob } from './scheduler.js';
import type { RowMaterializer } from '../rows/materializer.js';

/** Where the scheduler's pauses come from (default: Node's timers, unref'd: a schedule alone keeps no process alive). */
export interface Timers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const nodeTimers: Timers = {
  setTimeout: (run, ms) => setTimeout(run, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface InProcessSchedulerOptions extends SchedulerOptions {
  timers?: Timers;
}

export class InProcessScheduler implements Scheduler {
  private readonly runs: ViewRuns;
  private readonly timers: Timers;
  /** Pending timers: each view's next slot, and retries waiting out their backoff. */
  private readonly slots = new Map<string, unknown>();
  private readonly retries = new Set<unknown>();
  private readonly queued = new Map<string, ViewJob[]>();
  private readonly active = new Map<string, number>();
  private readonly leased = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private concurrency = 0;
  private closed = false;

  constructor(options: InProcessSchedulerOptions) {
    this.runs = new ViewRuns(options, `${process.pid}-in-process`);
    this.timers = options.timers ?? nodeTimers;
  }

  get workerId(): string {
    return this.runs.workerId;
  }

  get materializers(): ReadonlyMap<string, RowMaterializer> {
    return this.runs.materializers;
  }

  async schedule(): Promise<void> {
    for (const view of this.runs.views) {
      if (this.slots.has(view.name)) continue;
      this.slot(view.name, this.runs.now(), this.runs.intervalOf(view));
    }
  }

  /**
   * Queues the run of `slot`, then waits for the next slot on the grid; slots already past when this
   * one came (a late timer) are skipped, as BullMQ skips them.
   */
  private slot(view: string, slot: number, interval: number): void {
    this.enqueue({ view, id: slotJobId(view, slot), scheduledFor: slot, attemptsMade: 0 });
    const now = this.runs.now();
    let next = slot + interval;
    if (next < now) next += (Math.floor((now - next) / interval) + 1) * interval;
    this.slots.set(
      view,
      this.timers.setTimeout(() => {
        this.slots.delete(view);
        if (!this.closed) this.slot(view, next, interval);
      }, next - now),
    );
  }

  async start(concurrency = 2): Promise<void> {
    this.concurrency = concurrency;
    for (const view of this.queued.keys()) this.drain(view);
  }

  private enqueue(job: ViewJob): void {
    if (this.closed) return;
    this.queued.set(job.view, [...(this.queued.get(job.view) ?? []), job]);
    this.drain(job.view);
  }

  private drain(view: string): void {
    const queue = this.queued.get(view) ?? [];
    while (!this.closed && queue.length > 0 && (this.active.get(view) ?? 0) < this.concurrency) this.execute(queue.shift() as ViewJob);
  }

  private lease(view: string): Lease {
    let held = false;
    return {
      acquire: async () => {
        if (this.leased.has(view)) return false;
        this.leased.add(view);
        held = true;
        return true;
      },
      release: async () => {
        if (held) this.leased.delete(view);
        held = false;
      },
    };
  }

  private execute(job: ViewJob): void {
    this.active.set(job.view, (this.active.get(job.view) ?? 0) + 1);
    const run = this.runs.run(job, this.lease(job.view)).then(
      () => undefined,
      (error: unknown) => {
        if (this.closed || !this.runs.willRetry(error, job.attemptsMade)) return;
        const attemptsMade = job.attemptsMade + 1;
        const handle = this.timers.setTimeout(() => {
          this.retries.delete(handle);
          this.enqueue({ ...job, attemptsMade });
        }, this.runs.retryDelay(attemptsMade));
        this.retries.add(handle);
      },
    );
    const tracked = run.finally(() => {
      this.inFlight.delete(tracked);
      this.active.set(job.view, (this.active.get(job.view) ?? 1) - 1);
      this.drain(job.view);
    });
    this.inFlight.add(tracked);
  }

  async unschedule(): Promise<void> {
    for (const handle of this.slots.values()) this.timers.clearTimeout(handle);
    this.slots.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.unschedule();
    for (const handle of this.retries) this.timers.clearTimeout(handle);
    this.retries.clear();
    this.queued.clear();
    await Promise.all([...this.inFlight]);
  }
}
