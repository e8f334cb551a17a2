// Views of tables and collections run on their freshness schedule through a Scheduler. Two
// implementations share the contract below and the run itself (ViewRuns): BullMQ on Redis, where
// several `featuregraph materialize` processes share the runs and a killed worker's run is taken over,
// and an in-process queue for a process that has no Redis (the embedded demo). Either way:
// - a view runs once at start, then every interval (default half its freshness SLA, so that one late
//   run still meets the SLA), on a grid anchored at the first run; a slot missed while busy is skipped;
// - a per-view lease: a run that finds another run of its view in progress ends `skipped-already-running`
//   (that run reads everything up to now: this one has nothing to add);
// - a failing run is retried with jittered exponential backoff (schema/backoff) when its error is
//   retriable (isRetriable, schema/errors), up to `attempts` tries; a failure no retry mends waits for
//   the next slot;
// - each run reads rows newer than the view's watermark checkpoint minus an overlap (late rows), saves
//   the newest event time it applied, then publishes its upper bound as the view's watermark (the
//   instant the view is fresh up to; a failed run publishes nothing).
// test/conformance/scheduler.ts holds both implementations to it.
import type { FeatureRegistry, ResolvedView } from '../../schema/registry.js';
import type { BatchSourceDefinition, DocumentSourceDefinition } from '../../schema/types.js';
import { isRetriable } from '../../schema/errors.js';
import { backoffDelay } from '../../schema/backoff.js';
import type { OnlineStore } from '../../adapters/online/types.js';
import type { CheckpointStore, RowSource } from '../../adapters/sources/types.js';
import type { HistoryStore } from '../../adapters/history/types.js';
import { OptionCheck } from '../../adapters/common/options.js';
import { RowMaterializer } from '../rows/materializer.js';

export interface BatchRun {
  view: string;
  jobId: string;
  worker: string;
  /** The slot of the view's schedule this run is for; null for a run asked for apart from the schedule (a catch-up). */
  scheduledFor: number | null;
  /** 1 for the first try of a job, 2 for its first retry, ... */
  attempt: number;
  startedAt: number;
  finishedAt: number;
  rows: number;
  outcome: 'done' | 'skipped-already-running' | 'failed';
  error?: string;
  /** A failed run: whether its job is tried again after a backoff (retriable, tries left). */
  retrying?: boolean;
}

export interface SchedulerOptions {
  registry: FeatureRegistry;
  store: OnlineStore;
  checkpoints: CheckpointStore;
  history?: HistoryStore;
  /** Where each batch or document source definition is read from. */
  rows(def: BatchSourceDefinition | DocumentSourceDefinition): RowSource;
  /** Views to schedule; default every view read from a table or collection. */
  views?: readonly string[];
  /** Run interval of a view; default half its freshness SLA, so one late run still meets the SLA. */
  intervalMs?: (view: ResolvedView) => number;
  /** Late rows: each run re-reads this much before the watermark (default 5 minutes). */
  overlapMs?: number;
  /** Tries of one run, the first included (default 5). */
  attempts?: number;
  /** The first retry's backoff step (default 1 s); each later one doubles, up to a minute, jittered. */
  backoffMs?: number;
  /** The backoff's jitter source (default Math.random); tests pass a fixed one. */
  random?: () => number;
  /** How long a view's lease lasts without renewal; a dead worker's lease runs out after it (BullMQ). */
  leaseMs?: number;
  workerId?: string;
  /** Every this many runs, a view of a collection also looks for deleted documents (default 10). */
  reconcileEvery?: number;
  now?: () => number;
  onRun?: (run: BatchRun) => void;
  /** Called once a run holds its view's lease, before it reads anything. */
  onStart?: (run: { view: string; jobId: string; worker: string; startedAt: number }) => void;
  log?: (message: string) => void;
}

export interface Scheduler {
  readonly workerId: string;
  /** The row materializer of each scheduled view, by view name (its stats say what its runs did). */
  readonly materializers: ReadonlyMap<string, RowMaterializer>;
  /** Registers every view's schedule and asks for a run of each now (idempotent across BullMQ workers). */
  schedule(): Promise<void>;
  /** Starts taking runs, at most `concurrency` at once per view (default 2: one runs, the others find it leased). */
  start(concurrency?: number): Promise<void>;
  /** Removes the schedules (for tests and when a view is deleted). */
  unschedule(): Promise<void>;
  /** Stops taking runs and waits for the runs in progress. */
  close(): Promise<void>;
}

/** A view's lease for one run. */
export interface Lease {
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

/** One job of a view's queue: a slot of its schedule (or a catch-up), at one of its tries. */
export interface ViewJob {
  view: string;
  id: string;
  scheduledFor: number | null;
  /** Tries made before this one (0 on the first). */
  attemptsMade: number;
}

/** The job id of a schedule slot, BullMQ's form (`repeat:<scheduler id>:<slot>`), used by both implementations. */
export function slotJobId(view: string, slot: number): string {
  return `repeat:view:${view}:${slot}`;
}

/** The longest pause a Node timer takes (about 24.8 days); a longer one fires at once. */
export const maxTimerMs = 2 ** 31 - 1;

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** What both implementations share: the views, their intervals, retry rules, and the run itself. */
export class ViewRuns {
  readonly workerId: string;
  readonly materializers = new Map<string, RowMaterializer>();
  readonly views: readonly ResolvedView[];
  readonly attempts: number;
  readonly leaseMs: number;
  readonly now: () => number;
  private readonly backoffMs: number;
  private readonly overlapMs: number;
  private readonly reconcileEvery: number;
  private readonly intervals = new Map<string, number>();

  constructor(
    private readonly options: SchedulerOptions,
    defaultWorkerId: string,
  ) {
    this.workerId = options.workerId ?? defaultWorkerId;
    this.now = options.now ?? Date.now;
    const names = options.views ?? [...options.registry.views.values()].filter((v) => v.source.kind !== 'stream').map((v) => v.name);
    this.views = names.map((name) => options.registry.view(name));
    const check = new OptionCheck();
    this.attempts = check.integerIn('scheduler: attempts (tries of a run, the first included)', options.attempts, 1, 100, 5);
    this.backoffMs = check.integerIn('scheduler: backoffMs', options.backoffMs, 1, 3_600_000, 1000);
    this.overlapMs = check.integerIn('scheduler: overlapMs', options.overlapMs, 0, maxTimerMs, 5 * 60_000);
    this.leaseMs = check.integerIn('scheduler: leaseMs', options.leaseMs, 1000, 3_600_000, 15_000);
    this.reconcileEvery = check.integerIn('scheduler: reconcileEvery', options.reconcileEvery, 1, 1_000_000, 10);
    for (const view of this.views) {
      if (view.source.kind === 'stream') {
        check.refuse(`scheduler: view ${view.name} reads a stream; the scheduler runs views of tables and collections`);
        continue;
      }
      const interval = options.intervalMs ? options.intervalMs(view) : Math.min(maxTimerMs, Math.max(1000, Math.floor(view.freshnessMs / 2)));
      this.intervals.set(view.name, check.integerIn(`scheduler: intervalMs of view ${view.name}`, interval, 1, maxTimerMs));
    }
    check.done();
    for (const view of this.views) {
      if (view.source.kind === 'stream') continue;
      this.materializers.set(view.name, new RowMaterializer({ view, source: options.rows(view.source), store: options.store, history: options.history, now: options.now, log: options.log }));
    }
  }

  intervalOf(view: ResolvedView): number {
    return this.intervals.get(view.name) as number;
  }

  /** The pause before retry number `attemptsMade` (1 for the first retry). */
  retryDelay(attemptsMade: number): number {
    return backoffDelay(attemptsMade - 1, { initialMs: this.backoffMs, maxMs: Math.max(this.backoffMs, 60_000), ...(this.options.random ? { random: this.options.random } : {}) });
  }

  /** Whether a job that failed with `error` on try `attemptsMade + 1` is tried again. */
  willRetry(error: unknown, attemptsMade: number): boolean {
    return isRetriable(error) && attemptsMade + 1 < this.attempts;
  }

  /**
   * One run of a job: takes the view's lease (or ends skipped), reads from the watermark checkpoint
   * minus the overlap, saves the new watermark, and reports to onRun. A failure is reported, logged
   * and thrown again for the implementation to retry or not (willRetry).
   */
  async run(job: ViewJob, lease: Lease): Promise<BatchRun> {
    const view = this.options.registry.view(job.view);
    const startedAt = this.now();
    const base = { view: view.name, jobId: job.id, worker: this.workerId, scheduledFor: job.scheduledFor, attempt: job.attemptsMade + 1, startedAt };
    if (!(await lease.acquire())) {
      const run: BatchRun = { ...base, finishedAt: this.now(), rows: 0, outcome: 'skipped-already-running' };
      this.options.onRun?.(run);
      return run;
    }
    this.options.onStart?.({ view: view.name, jobId: job.id, worker: this.workerId, startedAt });
    try {
      const materializer = this.materializers.get(view.name) as RowMaterializer;
      const checkpoint = `watermark:${view.name}`;
      const saved = await this.options.checkpoints.get(checkpoint);
      const overlap = this.overlapMs;
      // Late rows: read again a little before the watermark; the store keeps the newer of two versions.
      materializer.watermark = saved === null ? null : Number(saved) - overlap;
      const rows = await materializer.runOnce();
      // Deletions: change feeds report them; polling finds them by listing keys now and then.
      const runs = materializer.stats.runs;
      if (view.source.kind === 'document' && (runs === 1 || runs % this.reconcileEvery === 0)) {
        const deleted = await materializer.reconcile();
        if (deleted > 0) this.options.log?.(`view ${view.name}: ${deleted} keys deleted at the source are now MISSING`);
      }
      if (materializer.watermark !== null) await this.options.checkpoints.set(checkpoint, String(Math.max(materializer.watermark, saved === null ? -Infinity : Number(saved))));
      // Only a run that went through publishes: a view whose runs fail turns STALE past its SLA.
      await materializer.publishWatermark();
      materializer.stats.lastError = null;
      const run: BatchRun = { ...base, finishedAt: this.now(), rows, outcome: 'done' };
      this.options.onRun?.(run);
      return run;
    } catch (error) {
      const text = message(error);
      const materializer = this.materializers.get(view.name);
      if (materializer) materializer.stats.lastError = text;
      const retrying = this.willRetry(error, job.attemptsMade);
      this.options.onRun?.({ ...base, finishedAt: this.now(), rows: 0, outcome: 'failed', error: text, retrying });
      const next = retrying ? 'retrying with backoff' : isRetriable(error) ? 'no tries left; the next run is at its schedule' : 'not retriable; the next run is at its schedule';
      this.options.log?.(`view ${view.name}: run failed (attempt ${job.attemptsMade + 1} of ${this.attempts}), ${next}: ${text}`);
      throw error;
    } finally {
      await lease.release();
    }
  }
}
