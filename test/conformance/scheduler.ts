// The scheduler conformance suite: every Scheduler (in-process, BullMQ on Redis) runs these same
// assertions through a creator that builds it over the suite's options and lets time pass its way:
// virtual time for the in-process one (its clock and timers are the harness's), real time for BullMQ,
// where a deadline only guards against a hang. No assertion depends on how fast the machine is: runs
// are checked by the slots they were for, by the order of their reports, and by backoffs as lower
// bounds (a retry never starts before its pause is over).
import { afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatureRepo } from '../../schema/load.js';
import type { FeatureRegistry } from '../../schema/registry.js';
import { FeaturegraphError } from '../../schema/errors.js';
import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import { MemoryCheckpointStore } from '../../adapters/checkpoints/index.js';
import { MemoryRows } from '../../adapters/sources/memory/rows.js';
import type { RowReadOptions, SourceRow } from '../../adapters/sources/types.js';
import type { BatchRun, Scheduler, SchedulerOptions } from '../../materializers/batch/scheduler.js';

export interface SchedulerHarness {
  /** A scheduler over the suite's options; the harness adds its own (queue, Redis, clock, timers). */
  create(options: SchedulerOptions): Scheduler;
  /** The clock the harness's schedulers read. */
  now(): number;
  /** Lets time pass until `check` holds; fails with `describe()` when it never does. */
  until(check: () => boolean, describe: () => string): Promise<void>;
  /**
   * The shortest interval the implementation schedules reliably (BullMQ: a second); the suite's runs
   * last a small part of it.
   */
  intervalMs: number;
  teardown(): Promise<void>;
}

const views = ['restaurant_prep', 'restaurant_profile', 'user_profile'];

/** Rows whose reads wait until the test opens the gate. */
class GatedRows extends MemoryRows {
  private open: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  readonly reads: number[] = [];
  release(): void {
    this.open();
  }
  override async *read(options: RowReadOptions): AsyncIterable<SourceRow[]> {
    this.reads.push(this.reads.length);
    await this.gate;
    yield* super.read(options);
  }
}

/** Rows that fail their first reads with the given errors, and remember what each read asked for. */
class ScriptedRows extends MemoryRows {
  readonly reads: RowReadOptions[] = [];
  constructor(
    name: string,
    private readonly failures: Error[] = [],
  ) {
    super(name);
  }
  override async *read(options: RowReadOptions): AsyncIterable<SourceRow[]> {
    this.reads.push(options);
    const failure = this.failures.shift();
    if (failure) throw failure;
    yield* super.read(options);
  }
}

const describeRuns = (runs: readonly BatchRun[]) => JSON.stringify(runs.map((r) => ({ view: r.view, job: r.jobId, attempt: r.attempt, outcome: r.outcome, at: r.startedAt })));

export function schedulerConformance(name: string, create: () => Promise<SchedulerHarness>): void {
  describe(`scheduler conformance: ${name}`, () => {
    let registry: FeatureRegistry;
    let harness: SchedulerHarness;
    let running: Scheduler | null = null;
    before(async () => {
      registry = await loadFeatureRepo('examples/food-delivery/features');
    });
    beforeEach(async () => {
      harness = await create();
    });
    afterEach(async () => {
      if (running) {
        await running.unschedule();
        await running.close();
      }
      running = null;
      await harness.teardown();
    });

    /** Starts a scheduler over `rows` (by source name); runs are recorded in order. */
    const start = async (rows: Record<string, MemoryRows>, options: Partial<SchedulerOptions> = {}, concurrency = 2) => {
      const runs: BatchRun[] = [];
      const started: string[] = [];
      const checkpoints = options.checkpoints ?? new MemoryCheckpointStore();
      const scheduler = harness.create({
        registry,
        store: new MemoryOnlineStore({ now: () => harness.now() }),
        checkpoints,
        rows: (def) => rows[def.name] ?? new MemoryRows(def.name),
        intervalMs: () => harness.intervalMs,
        now: () => harness.now(),
        ...options,
        onRun: (run) => runs.push(run),
        onStart: (run) => started.push(run.jobId),
      });
      const scheduledAt = harness.now();
      await scheduler.schedule();
      await scheduler.start(concurrency);
      running = scheduler;
      return { scheduler, runs, started, scheduledAt, checkpoints };
    };

    test('each view runs at start, then once per interval on one grid', async () => {
      const s = await start({}, { views });
      const done = (view: string) => s.runs.filter((r) => r.view === view && r.outcome === 'done');
      await harness.until(
        () => views.every((v) => done(v).filter((r) => r.scheduledFor !== null).length >= 3),
        () => `three scheduled runs of every view: ${describeRuns(s.runs)}`,
      );
      const interval = harness.intervalMs;
      for (const view of views) {
        const first = done(view)[0] as BatchRun;
        assert.ok(first.scheduledFor === null || first.scheduledFor < s.scheduledAt + interval, `${view}: the first run is the one at start: ${describeRuns(done(view))}`);
        const slots = [...new Set(done(view).map((r) => r.scheduledFor).filter((d): d is number => d !== null))].sort((a, b) => a - b);
        const gaps = slots.slice(1).map((d, i) => d - (slots[i] as number));
        assert.ok(gaps.every((g) => g > 0 && g % interval === 0), `${view}: slots ${JSON.stringify(slots)} are not on a ${interval} ms grid`);
        assert.equal(Math.min(...gaps), interval, `${view}: no two slots one interval apart: ${JSON.stringify(gaps)}`);
      }
      assert.equal(s.scheduler.materializers.size, views.length);
      for (const view of views) assert.ok((s.scheduler.materializers.get(view)?.stats.runs ?? 0) >= 3, `${view}: its materializer counts its runs`);
    });

    test('a view never runs twice at once: runs that find its run in progress end skipped', async (t) => {
      const gated = new GatedRows('restaurant_prep_stats');
      gated.upsert({ key: 'r1', eventTime: harness.now(), values: { AVG_PREP_SECONDS_7D: 600 } });
      const s = await start({ restaurant_prep_stats: gated }, { views: ['restaurant_prep'] });
      // Whatever happens, the held read ends, so that closing the scheduler (which waits for its runs) ends.
      t.after(() => gated.release());
      const skipped = () => s.runs.filter((r) => r.outcome === 'skipped-already-running').length;
      await harness.until(() => skipped() >= 2, () => `two runs found the view leased: ${describeRuns(s.runs)}`);
      assert.equal(s.started.length, 1, `one run holds the lease: ${JSON.stringify(s.started)}`);
      assert.equal(gated.reads.length, 1, 'only the run holding the lease read the source');
      gated.release();
      await harness.until(() => s.runs.filter((r) => r.outcome === 'done').length >= 2, () => `the held run ended, and a later one ran: ${describeRuns(s.runs)}`);
      // Reports in order: no run started between another's start and its end.
      const firstDone = s.runs.findIndex((r) => r.outcome === 'done');
      assert.equal(s.runs[firstDone]?.jobId, s.started[0], 'the first run to end done is the one that held the lease');
    });

    test('a retriable failure is tried again, each retry after its backoff', async () => {
      const unavailable = () => new FeaturegraphError('SOURCE_UNAVAILABLE', 'source restaurant_prep_stats: connection reset', { retriable: true });
      const rows = new ScriptedRows('restaurant_prep_stats', [unavailable(), unavailable()]);
      const backoffMs = Math.max(50, Math.floor(harness.intervalMs / 10));
      const s = await start({ restaurant_prep_stats: rows }, { views: ['restaurant_prep'], intervalMs: () => 3_600_000, attempts: 5, backoffMs, random: () => 0.5 });
      const retried = (f: BatchRun) => s.runs.some((r) => r.jobId === f.jobId && r.attempt === f.attempt + 1);
      await harness.until(
        () => s.runs.some((r) => r.outcome === 'done') && s.runs.filter((r) => r.outcome === 'failed').every(retried),
        () => `a run went through after the failures, and every failed job was tried again: ${describeRuns(s.runs)}`,
      );
      const failed = s.runs.filter((r) => r.outcome === 'failed');
      assert.equal(failed.length, 2, describeRuns(s.runs));
      assert.ok(failed.every((r) => r.retrying === true && r.error === 'source restaurant_prep_stats: connection reset'), describeRuns(failed));
      // Every failed job was tried again, each try after the pause its attempt calls for (backoffMs, doubling).
      for (const f of failed) {
        const next = s.runs.find((r) => r.jobId === f.jobId && r.attempt === f.attempt + 1);
        assert.ok(next, `job ${f.jobId} was tried again after attempt ${f.attempt}: ${describeRuns(s.runs)}`);
        assert.ok(next.startedAt - f.finishedAt >= backoffMs * 2 ** (f.attempt - 1), `job ${f.jobId}: attempt ${next.attempt} began ${next.startedAt - f.finishedAt} ms after the failure, before its backoff of ${backoffMs * 2 ** (f.attempt - 1)} ms`);
      }
      assert.ok(s.runs.some((r) => r.attempt >= 2 && r.outcome !== 'skipped-already-running'), 'a job ran on a later try');
    });

    test('a failure no retry mends is not tried again; the next slot runs', async () => {
      const refused = new FeaturegraphError('INVALID_CONFIG', 'source restaurant_prep_stats: no such table', { retriable: false });
      const rows = new ScriptedRows('restaurant_prep_stats', [refused]);
      const s = await start({ restaurant_prep_stats: rows }, { views: ['restaurant_prep'], attempts: 5, backoffMs: 10 }, 1);
      await harness.until(() => s.runs.some((r) => r.outcome === 'failed') && s.runs.filter((r) => r.outcome === 'done' && r.scheduledFor !== null).length >= 2, () => `a failure, then two slots done: ${describeRuns(s.runs)}`);
      const failed = s.runs.filter((r) => r.outcome === 'failed');
      assert.equal(failed.length, 1);
      assert.equal(failed[0]?.retrying, false);
      assert.deepEqual(s.runs.filter((r) => r.jobId === failed[0]?.jobId && r.attempt > 1), [], `the refused job was not tried again: ${describeRuns(s.runs)}`);
    });

    test('runs read from the watermark checkpoint minus the overlap, and save the newest event time', async () => {
      const W = harness.now();
      const overlapMs = 10 * 60_000;
      const rows = new ScriptedRows('restaurant_prep_stats');
      const checkpoints = new MemoryCheckpointStore();
      await checkpoints.set('watermark:restaurant_prep', String(W - 30 * 60_000));
      // Before the overlap (read by an earlier run), inside it (a late row), after the watermark.
      rows.upsert({ key: 'r1', eventTime: W - 45 * 60_000, values: { AVG_PREP_SECONDS_7D: 1 } });
      rows.upsert({ key: 'r2', eventTime: W - 35 * 60_000, values: { AVG_PREP_SECONDS_7D: 2 } });
      rows.upsert({ key: 'r3', eventTime: W - 20 * 60_000, values: { AVG_PREP_SECONDS_7D: 3 } });
      const s = await start({ restaurant_prep_stats: rows }, { views: ['restaurant_prep'], overlapMs, checkpoints }, 1);
      await harness.until(() => s.runs.filter((r) => r.outcome === 'done').length >= 2, () => `two runs: ${describeRuns(s.runs)}`);
      assert.equal(rows.reads[0]?.since, W - 30 * 60_000 - overlapMs);
      assert.equal(s.runs.find((r) => r.outcome === 'done')?.rows, 2, 'the late row and the new one');
      assert.equal(rows.reads[1]?.since, W - 20 * 60_000 - overlapMs, 'the next run reads from the saved watermark, minus the overlap');
      assert.equal(await checkpoints.get('watermark:restaurant_prep'), String(W - 20 * 60_000));
    });
  });
}

