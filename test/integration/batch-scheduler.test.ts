// Two batch workers share the views' schedules through BullMQ: every view runs on its schedule, never
// twice at once, and when one worker is killed mid-run its job is taken over by the other. Nothing here
// depends on how fast the machine is: the test waits for runs to happen (deadlines only guard against
// a hang), kills a worker in a run that cannot end by itself, and checks the schedule by the instants
// BullMQ scheduled runs for, not by when a busy machine got to them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { requireEndpoint } from '../services/endpoints.js';
import { loadFeatureRepo } from '../../schema/load.js';
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import { RedisCheckpointStore } from '../../adapters/checkpoints/index.js';
import { MemoryRows } from '../../adapters/sources/memory/rows.js';
import type { RowReadOptions, SourceRow } from '../../adapters/sources/types.js';
import { BullmqScheduler } from '../../materializers/batch/bullmq-scheduler.js';
import type { BatchRun } from '../../materializers/batch/scheduler.js';
import { StopWaiting, waitUntil } from '../fixtures/wait.js';

interface Entry {
  type: 'start' | 'end' | 'held';
  view: string;
  jobId: string;
  worker: string;
  at: number;
  outcome?: string;
  source?: string;
}

const intervalMs = 1000;
const views = ['restaurant_prep', 'restaurant_profile', 'user_profile'];
const viewOfSource: Record<string, string> = { restaurant_prep_stats: 'restaurant_prep', restaurants: 'restaurant_profile', users: 'user_profile' };
/** Generous: only a hang (a view that stopped being scheduled, a job never taken over) reaches it. */
const hangGuardMs = 120_000;

function startWorker(url: string, queue: string, id: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/batch-worker.ts', url, queue, id, '600'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker ${id} exited with ${code}`)));
  });
}

/** The instant BullMQ scheduled a run of the view's job scheduler for (its job id names it); null for a catch-up run. */
function dueAt(jobId: string): number | null {
  const match = /^repeat:view:[^:]+:(\d+)$/.exec(jobId);
  return match ? Number(match[1]) : null;
}

test('two workers: runs on schedule, never twice at once, a killed worker’s run is taken over', async (t) => {
  const { url } = requireEndpoint('redis');
  const queue = `fg-test-${randomUUID().slice(0, 8)}`;
  const redis = new Redis(url);
  const workers: ChildProcess[] = [];
  const read = async () => (await redis.lrange(`test:runs:${queue}`, 0, -1)).map((e) => JSON.parse(e) as Entry);
  const done = (entries: Entry[], view: string, worker?: string, after = -Infinity) =>
    entries.filter((e) => e.type === 'end' && e.view === view && e.outcome === 'done' && (worker === undefined || e.worker === worker) && e.at > after);
  const summary = async () => {
    const entries = await read();
    return views.map((v) => `${v}: ${done(entries, v, 'A').length} done by A, ${done(entries, v, 'B').length} by B`).join('; ');
  };
  try {
    workers.push(await startWorker(url, queue, 'A'), await startWorker(url, queue, 'B'));
    const alive = (id: string, child: ChildProcess | undefined) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) throw new StopWaiting(`worker ${id} exited`);
    };
    // Both workers take runs of every view before A is stopped.
    await waitUntil(
      async () => {
        alive('A', workers[0]);
        alive('B', workers[1]);
        const entries = await read();
        return views.every((v) => done(entries, v).length >= 2) && ['A', 'B'].every((w) => views.some((v) => done(entries, v, w).length > 0));
      },
      hangGuardMs,
      async () => `every view done twice, by both workers: ${await summary()}`,
      50,
    );
    // A's next read never returns: A is in that run whenever the kill lands.
    await redis.set(`test:hold:${queue}:A`, '1');
    let victim: Entry | undefined;
    await waitUntil(
      async () => {
        alive('A', workers[0]);
        const entries = await read();
        const held = entries.find((e) => e.type === 'held' && e.worker === 'A');
        const view = held ? viewOfSource[held.source ?? ''] : undefined;
        victim = entries.find((s) => s.type === 'start' && s.worker === 'A' && s.view === view && !entries.some((e) => e.type === 'end' && e.jobId === s.jobId && e.worker === 'A'));
        return victim !== undefined;
      },
      hangGuardMs,
      async () => `worker A held in a run: ${JSON.stringify((await read()).filter((e) => e.worker === 'A').slice(-6))}`,
      50,
    );
    assert.ok(victim);
    const killedAt = Date.now();
    workers[0]?.kill('SIGKILL');
    // B takes the job over once the dead worker's lease runs out, and the schedule goes on.
    await waitUntil(
      async () => {
        alive('B', workers[1]);
        const entries = await read();
        return entries.some((e) => e.type === 'end' && e.worker === 'B' && e.jobId === victim?.jobId) && views.every((v) => done(entries, v, 'B', killedAt).length >= 3);
      },
      hangGuardMs,
      async () => `B took over ${victim?.jobId} (${JSON.stringify((await read()).filter((e) => e.jobId === victim?.jobId))}) and ran every view three times after the kill: ${await summary()}`,
      100,
    );
    const entries = await read();

    for (const view of views) {
      const starts = entries.filter((e) => e.type === 'start' && e.view === view).sort((a, b) => a.at - b.at);
      // Never twice at once: each run (start..end, or start..kill+lease for the killed one) ends before the next starts.
      for (let i = 1; i < starts.length; i++) {
        const prev = starts[i - 1] as Entry;
        const end = entries.find((e) => e.type === 'end' && e.jobId === prev.jobId && e.worker === prev.worker && e.at >= prev.at)?.at ?? killedAt;
        assert.ok((starts[i] as Entry).at >= end, `${view}: a run started at ${(starts[i] as Entry).at} before the previous ended at ${end}`);
      }
      // On schedule: every tick BullMQ created for the view is due on one grid of the view's interval,
      // and consecutive ticks were one interval apart (a machine too slow to take a tick in time makes
      // BullMQ skip to the next slot of the same grid, so gaps of whole intervals are allowed).
      const due = [...new Set(entries.filter((e) => e.view === view && e.type !== 'held').map((e) => dueAt(e.jobId)).filter((d): d is number => d !== null))].sort((a, b) => a - b);
      assert.ok(due.length >= 3, `${view}: scheduled runs ${JSON.stringify(due)}`);
      const gaps = due.slice(1).map((d, i) => d - (due[i] as number));
      assert.ok(gaps.every((g) => g > 0 && g % intervalMs === 0), `${view}: scheduled instants ${JSON.stringify(due)} are not on a ${intervalMs} ms grid`);
      assert.equal(Math.min(...gaps), intervalMs, `${view}: no two ticks one interval apart: ${JSON.stringify(gaps)}`);
      const lateness = starts.map((s) => dueAt(s.jobId)).map((d, i) => (d === null ? null : (starts[i] as Entry).at - d)).filter((l): l is number => l !== null).sort((a, b) => a - b);
      t.diagnostic(`${view}: ${done(entries, view).length} runs; start after the scheduled instant: median ${lateness[Math.floor(lateness.length / 2)]} ms, max ${lateness.at(-1)} ms; longest gap between scheduled runs ${Math.max(...gaps)} ms`);
    }
    const doneBy = new Set(entries.filter((e) => e.type === 'end' && e.outcome === 'done').map((e) => e.worker));
    assert.deepEqual([...doneBy].sort(), ['A', 'B'], 'both workers took runs');
    // Picked up: B took the killed job once A's lock ran out. B runs it, or finds a newer run of the
    // same view in progress (which reads everything up to now) and lets that run cover it.
    const takenOver = entries.find((e) => e.type === 'end' && e.worker === 'B' && e.jobId === victim?.jobId);
    assert.ok(takenOver, `the job A was killed in (${victim.jobId}) was picked up by B; its records: ${JSON.stringify(entries.filter((e) => e.jobId === victim?.jobId))}`);
    assert.ok(done(entries, victim.view, 'B', killedAt).length > 0, `${victim.view} ran again after the kill`);
    t.diagnostic(`runs: ${entries.filter((e) => e.type === 'end' && e.outcome === 'done').length}, skipped while leased: ${entries.filter((e) => e.outcome === 'skipped-already-running').length}; killed job taken over ${takenOver.at - killedAt} ms after the kill`);
  } finally {
    for (const w of workers) w.kill('SIGKILL');
    const keys = await redis.keys(`bull:${queue}-*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.del(`test:runs:${queue}`, `test:hold:${queue}:A`);
    redis.disconnect();
  }
});

/** Rows whose reads wait until the test opens the gate. */
class GatedRows extends MemoryRows {
  constructor(name: string, private readonly gate: Promise<void>) {
    super(name);
  }
  override async *read(options: RowReadOptions): AsyncIterable<SourceRow[]> {
    await this.gate;
    yield* super.read(options);
  }
}

test('a scheduler of another queue on the same Redis cannot break a view’s lease: no two runs of a queue’s view at once', async () => {
  const { url } = requireEndpoint('redis');
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const id = randomUUID().slice(0, 8);
  const store = new RedisOnlineStore({ mode: 'standalone', url, keyPrefix: `test:lease-${id}:`, commandTimeoutMs: 2000 });
  await store.connect();
  let open = () => undefined as void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const runs: BatchRun[] = [];
  const started: string[] = [];
  const checkpoints: RedisCheckpointStore[] = [];
  // One instant for both: their catch-up runs then have the same job id, as two deployments starting in the same minute.
  const now = Date.now();
  const scheduler = (name: string, rows: MemoryRows, every: number, concurrency: number) => {
    const s = new BullmqScheduler({
      registry,
      store,
      checkpoints: checkpoints[checkpoints.push(new RedisCheckpointStore(url, `test:lease-${id}:${name}:checkpoint:`)) - 1] as RedisCheckpointStore,
      rows: () => rows,
      redisUrl: url,
      queueName: `fg-test-lease-${id}-${name}`,
      views: ['restaurant_prep'],
      intervalMs: () => every,
      leaseMs: 60_000,
      workerId: name,
      now: () => now,
      onStart: () => started.push(name),
      onRun: (run) => runs.push(run),
    });
    return { scheduler: s, start: async () => (await s.schedule(), await s.start(concurrency)) };
  };
  // The first queue's first run cannot end until the gate opens; its later ticks must wait for it.
  const first = scheduler('first', new GatedRows('restaurant_prep_stats', gate), 1000, 2);
  const second = scheduler('second', new MemoryRows('restaurant_prep_stats'), 3_600_000, 1);
  const skippedByFirst = () => runs.filter((r) => r.worker === 'first' && r.outcome === 'skipped-already-running').length;
  try {
    await first.start();
    await waitUntil(() => started.includes('first'), hangGuardMs, () => 'the first queue’s run started');
    await second.start();
    await waitUntil(() => runs.filter((r) => r.worker === 'second').length >= 2, hangGuardMs, () => `the second queue’s catch-up and first tick ended: ${JSON.stringify(runs)}`);
    assert.deepEqual(runs.filter((r) => r.worker === 'second').map((r) => r.outcome), ['done', 'done'], 'the other queue’s runs are its own');
    // Ticks of the first queue after the second one's runs still find the first run in progress.
    const skippedBefore = skippedByFirst();
    await waitUntil(() => skippedByFirst() >= skippedBefore + 2 || started.filter((s) => s === 'first').length > 1, hangGuardMs, () => `two more ticks of the first queue: ${JSON.stringify(runs)}`);
    assert.equal(started.filter((s) => s === 'first').length, 1, `a second run of the first queue’s view started while its first run was in progress: ${JSON.stringify(runs)}`);
    open();
    await waitUntil(() => runs.some((r) => r.worker === 'first' && r.outcome === 'done'), hangGuardMs, () => 'the first queue’s run ended');
  } finally {
    open();
    for (const s of [first.scheduler, second.scheduler]) {
      await s.unschedule();
      await s.close();
    }
    const redis = new Redis(url);
    const keys = [...(await redis.keys(`*fg-test-lease-${id}*`)), ...(await redis.keys(`test:lease-${id}:*`))];
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await Promise.all(checkpoints.map((c) => c.close()));
    await store.close();
  }
});
