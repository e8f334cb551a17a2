// Batch views on their freshness schedule, through a BullMQ queue on Redis: any number of workers
// share the runs, a view never runs twice at once (a per-view lease), a failing source is retried with
// backoff, and the runs of a killed worker are taken over (BullMQ's stalled-job recovery).
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { FeatureRegistry, ResolvedView } from '../../schema/registry.js';
import type { BatchSourceDefinition, DocumentSourceDefinition } from '../../schema/types.js';
import type { OnlineStore } from '../../adapters/online/types.js';
import type { CheckpointStore, RowSource } from '../../adapters/sources/types.js';
import type { HistoryStore } from '../../adapters/history/types.js';
import { RowMaterializer } from '../rows/materializer.js';

export interface BatchRun {
  view: string;
  jobId: string;
  worker: string;
  startedAt: number;
  finishedAt: number;
  rows: number;
  outcome: 'done' | 'skipped-already-running' | 'failed';
  error?: string;
}

export interface BatchSchedulerOptions {
  registry: FeatureRegistry;
  store: OnlineStore;
  checkpoints: CheckpointStore;
  history?: HistoryStore;
  /** Where each batch or document source definition is read from. */
  rows(def: BatchSourceDefinition | DocumentSourceDefinition): RowSource;
  /** Redis for the queue (a standalone URL: BullMQ keeps a queue's keys together). */
  redisUrl: string;
  /** Prefix of the queues: one queue per view, so a worker only ever takes runs of the views it serves. */
  queueName?: string;
  /** Views to schedule; default every view read from a table or collection. */
  views?: readonly string[];
  /** Run interval of a view; default half its freshness SLA, so one late run still meets the SLA. */
  intervalMs?: (view: ResolvedView) => number;
  /** Late rows: each run re-reads this much before the watermark (default 5 minutes). */
  overlapMs?: number;
  attempts?: number;
  backoffMs?: number;
  /** How long a view's lease lasts without renewal; a dead worker's lease runs out after it. */
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

const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
/** Takes a lease over from an earlier attempt of the same job (whose worker died: BullMQ found it stalled). */
const takeOverScript = `local held = redis.call('GET', KEYS[1]) if held and string.sub(held, -string.len(ARGV[1])) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0`;
const renewScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

export class BatchScheduler {
  readonly workerId: string;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly leases: Redis;
  private readonly materializers = new Map<string, RowMaterializer>();
  private readonly queueName: string;

  constructor(private readonly options: BatchSchedulerOptions) {
    this.workerId = options.workerId ?? `${process.pid}-${randomUUID().slice(0, 8)}`;
    this.queueName = options.queueName ?? 'featuregraph-batch';
    for (const view of this.views()) this.queues.set(view.name, new Queue(this.queueOf(view.name), { connection: { url: options.redisUrl, maxRetriesPerRequest: null } }));
    this.leases = new Redis(options.redisUrl, { maxRetriesPerRequest: 2 });
    this.leases.on('error', () => {});
  }

  private queueOf(view: string): string {
    return `${this.queueName}-${view}`;
  }

  private queue(view: string): Queue {
    return this.queues.get(view) as Queue;
  }

  private views(): ResolvedView[] {
    const names = this.options.views ?? [...this.options.registry.views.values()].filter((v) => v.source.kind !== 'stream').map((v) => v.name);
    return names.map((name) => this.options.registry.view(name));
  }

  private intervalOf(view: ResolvedView): number {
    return this.options.intervalMs?.(view) ?? Math.max(1000, Math.floor(view.freshnessMs / 2));
  }

  /**
   * Registers every view's schedule (idempotent: each worker may call it at start), and asks for one
   * catch-up run per view now, so that a restart does not wait a whole interval (workers starting in
   * the same minute share that run: its job id names the minute).
   */
  async schedule(): Promise<void> {
    const minute = Math.floor((this.options.now ?? Date.now)() / 60_000);
    for (const view of this.views()) {
      await this.queue(view.name).add('materialize', { view: view.name }, { jobId: `catch-up:${view.name}:${minute}`, attempts: this.options.attempts ?? 5, backoff: { type: 'exponential', delay: this.options.backoffMs ?? 1000 }, removeOnComplete: 1000, removeOnFail: 1000 });
      await this.queue(view.name).upsertJobScheduler(
        `view:${view.name}`,
        { every: this.intervalOf(view) },
        { name: 'materialize', data: { view: view.name }, opts: { attempts: this.options.attempts ?? 5, backoff: { type: 'exponential', delay: this.options.backoffMs ?? 1000 }, removeOnComplete: 1000, removeOnFail: 1000 } },
      );
    }
  }

  /** Starts taking runs from the queue. */
  async start(concurrency = 2): Promise<void> {
    const leaseMs = this.options.leaseMs ?? 15_000;
    for (const view of this.views()) {
      const worker = new Worker(this.queueOf(view.name), (job: Job<{ view: string }>) => this.process(job, leaseMs), {
        connection: { url: this.options.redisUrl, maxRetriesPerRequest: null },
        concurrency,
        // A killed worker's job is handed to another one after about this long.
        lockDuration: leaseMs,
        stalledInterval: Math.max(1000, Math.floor(leaseMs / 2)),
        maxStalledCount: 3,
      });
      worker.on('error', (error) => this.options.log?.(`batch worker for ${view.name}: ${error.message}`));
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  private materializer(view: ResolvedView): RowMaterializer {
    let materializer = this.materializers.get(view.name);
    if (!materializer) {
      materializer = new RowMaterializer({ view, source: this.options.rows(view.source as BatchSourceDefinition | DocumentSourceDefinition), store: this.options.store, history: this.options.history, now: this.options.now });
      this.materializers.set(view.name, materializer);
    }
    return materializer;
  }

  private async process(job: Job<{ view: string }>, leaseMs: number): Promise<BatchRun> {
    const view = this.options.registry.view(job.data.view);
    const now = this.options.now ?? Date.now;
    const startedAt = now();
    // One lease per queue and view: another deployment's queue on the same Redis (its job ids can be
    // the same, e.g. catch-up runs of the same minute) must not take over or release this one's.
    const leaseKey = `fg:lease:${this.queueName}:view:${view.name}`;
    const token = `${this.workerId}:${job.id}`;
    const acquired =
      (await this.leases.set(leaseKey, token, 'PX', leaseMs, 'NX')) === 'OK' ||
      // The lease may be this very job's, from a worker that died running it: BullMQ hands a job to a
      // new worker only once the old one stopped renewing its lock, so the run is ours to take over.
      (await this.leases.eval(takeOverScript, 1, leaseKey, `:${job.id}`, token, String(leaseMs))) === 1;
    if (!acquired) {
      // Another run of the view is in progress and reads everything up to now: this tick has nothing to add.
      const run: BatchRun = { view: view.name, jobId: String(job.id), worker: this.workerId, startedAt, finishedAt: now(), rows: 0, outcome: 'skipped-already-running' };
      this.options.onRun?.(run);
      return run;
    }
    this.options.onStart?.({ view: view.name, jobId: String(job.id), worker: this.workerId, startedAt });
    const renew = setInterval(() => void this.leases.eval(renewScript, 1, leaseKey, token, String(leaseMs)).catch(() => undefined), Math.floor(leaseMs / 3));
    try {
      const materializer = this.materializer(view);
      const checkpoint = `watermark:${view.name}`;
      const saved = await this.options.checkpoints.get(checkpoint);
      const overlap = this.options.overlapMs ?? 5 * 60_000;
      // Late rows: read again a little before the watermark; the store keeps the newer of two versions.
      materializer.watermark = saved === null ? null : Number(saved) - overlap;
      const rows = await materializer.runOnce();
      // Deletions: change feeds report them; polling finds them by listing keys now and then.
      const runs = materializer.stats.runs;
      if (view.source.kind === 'document' && (runs === 1 || runs % (this.options.reconcileEvery ?? 10) === 0)) {
        const deleted = await materializer.reconcile();
        if (deleted > 0) this.options.log?.(`view ${view.name}: ${deleted} keys deleted at the source are now MISSING`);
      }
      if (materializer.watermark !== null) await this.options.checkpoints.set(checkpoint, String(Math.max(materializer.watermark, saved === null ? -Infinity : Number(saved))));
      const run: BatchRun = { view: view.name, jobId: String(job.id), worker: this.workerId, startedAt, finishedAt: now(), rows, outcome: 'done' };
      this.options.onRun?.(run);
      return run;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.onRun?.({ view: view.name, jobId: String(job.id), worker: this.workerId, startedAt, finishedAt: now(), rows: 0, outcome: 'failed', error: message });
      this.options.log?.(`view ${view.name}: run failed (attempt ${job.attemptsMade + 1}), retrying with backoff: ${message}`);
      throw error;
    } finally {
      clearInterval(renew);
      await this.leases.eval(releaseScript, 1, leaseKey, token).catch(() => undefined);
    }
  }

  /** Removes the schedules (for tests and when a view is deleted). */
  async unschedule(): Promise<void> {
    for (const view of this.views()) await this.queue(view.name).removeJobScheduler(`view:${view.name}`);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.leases.disconnect();
  }
}
