// The Scheduler on a BullMQ queue in Redis (`featuregraph materialize`): any number of workers share
// the runs, the view's lease is a Redis key renewed while its run lasts, retries are BullMQ's own
// (with the shared backoff), and the runs of a killed worker are taken over (BullMQ's stalled-job
// recovery, then the lease takeover below).
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { ViewRuns, type BatchRun, type Lease, type Scheduler, type SchedulerOptions } from './scheduler.js';
import { isRetriable } from '../../schema/errors.js';
import type { RowMaterializer } from '../rows/materializer.js';

export interface BullmqSchedulerOptions extends SchedulerOptions {
  /** Redis for the queue (a standalone URL: BullMQ keeps a queue's keys together). */
  redisUrl: string;
  /** Prefix of the queues: one queue per view, so a worker only ever takes runs of the views it serves. */
  queueName?: string;
}

const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
/** Takes a lease over from an earlier attempt of the same job (whose worker died: BullMQ found it stalled). */
const takeOverScript = `local held = redis.call('GET', KEYS[1]) if held and string.sub(held, -string.len(ARGV[1])) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0`;
const renewScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** The backoff type of every job: BullMQ then asks the worker's backoffStrategy, the shared one. */
const backoff = { type: 'view-run' };
const slotPattern = /^repeat:view:[^:]+:(\d+)$/;

export class BullmqScheduler implements Scheduler {
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly leases: Redis;
  private readonly queueName: string;
  private readonly runs: ViewRuns;

  constructor(private readonly options: BullmqSchedulerOptions) {
    this.runs = new ViewRuns(options, `${process.pid}-${randomUUID().slice(0, 8)}`);
    this.queueName = options.queueName ?? 'featuregraph-batch';
    for (const view of this.runs.views) this.queues.set(view.name, new Queue(this.queueOf(view.name), { connection: { url: options.redisUrl, maxRetriesPerRequest: null } }));
    this.leases = new Redis(options.redisUrl, { maxRetriesPerRequest: 2 });
    this.leases.on('error', () => {});
  }

  get workerId(): string {
    return this.runs.workerId;
  }

  get materializers(): ReadonlyMap<string, RowMaterializer> {
    return this.runs.materializers;
  }

  private queueOf(view: string): string {
    return `${this.queueName}-${view}`;
  }

  private queue(view: string): Queue {
    return this.queues.get(view) as Queue;
  }

  /**
   * Registers every view's schedule (idempotent: each worker may call it at start), and asks for one
   * catch-up run per view now: a schedule that already exists in Redis keeps its next slot, which a
   * restarted worker would otherwise wait for (workers starting in the same minute share that run:
   * its job id names the minute).
   */
  async schedule(): Promise<void> {
    const minute = Math.floor(this.runs.now() / 60_000);
    const opts = { attempts: this.runs.attempts, backoff, removeOnComplete: 1000, removeOnFail: 1000 };
    for (const view of this.runs.views) {
      await this.queue(view.name).add('materialize', { view: view.name }, { ...opts, jobId: `catch-up:${view.name}:${minute}` });
      await this.queue(view.name).upsertJobScheduler(`view:${view.name}`, { every: this.runs.intervalOf(view) }, { name: 'materialize', data: { view: view.name }, opts });
    }
  }

  async start(concurrency = 2): Promise<void> {
    const leaseMs = this.runs.leaseMs;
    for (const view of this.runs.views) {
      const worker = new Worker(this.queueOf(view.name), (job: Job<{ view: string }>) => this.process(job, leaseMs), {
        connection: { url: this.options.redisUrl, maxRetriesPerRequest: null },
        concurrency,
        // A killed worker's job is handed to another one after about this long.
        lockDuration: leaseMs,
        stalledInterval: Math.max(1000, Math.floor(leaseMs / 2)),
        maxStalledCount: 3,
        settings: { backoffStrategy: (attemptsMade: number) => this.runs.retryDelay(attemptsMade) },
      });
      worker.on('error', (error) => this.options.log?.(`batch worker for ${view.name}: ${error.message}`));
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  private lease(view: string, jobId: string, leaseMs: number): Lease {
    // One lease per queue and view: another deployment's queue on the same Redis (its job ids can be
    // the same, e.g. catch-up runs of the same minute) must not take over or release this one's.
    const key = `fg:lease:${this.queueName}:view:${view}`;
    const token = `${this.workerId}:${jobId}`;
    let renew: NodeJS.Timeout | undefined;
    return {
      acquire: async () => {
        const acquired =
          (await this.leases.set(key, token, 'PX', leaseMs, 'NX')) === 'OK' ||
          // The lease may be this very job's, from a worker that died running it: BullMQ hands a job to a
          // new worker only once the old one stopped renewing its lock, so the run is ours to take over.
          (await this.leases.eval(takeOverScript, 1, key, `:${jobId}`, token, String(leaseMs))) === 1;
        if (acquired) renew = setInterval(() => void this.leases.eval(renewScript, 1, key, token, String(leaseMs)).catch(() => undefined), Math.floor(leaseMs / 3));
        return acquired;
      },
      release: async () => {
        clearInterval(renew);
        await this.leases.eval(releaseScript, 1, key, token).catch(() => undefined);
      },
    };
  }

  private async process(job: Job<{ view: string }>, leaseMs: number): Promise<BatchRun> {
    const id = String(job.id);
    const slot = slotPattern.exec(id);
    try {
      return await this.runs.run({ view: job.data.view, id, scheduledFor: slot ? Number(slot[1]) : null, attemptsMade: job.attemptsMade }, this.lease(job.data.view, id, leaseMs));
    } catch (error) {
      // BullMQ retries whatever a processor throws, but this one: a failure no retry mends waits for the next slot.
      if (!isRetriable(error)) throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  async unschedule(): Promise<void> {
    for (const view of this.runs.views) await this.queue(view.name).removeJobScheduler(`view:${view.name}`);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.leases.disconnect();
  }
}
