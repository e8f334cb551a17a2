// The bench's child processes (bench/stream/worker.ts: a bare consumer, the materializer or the
// gateway), their messages, and their CPU profiles.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { root, topicEnv, workerEnv, type WorkerConfig, type WorkerMessage } from './common.js';
import { track } from '../common/children.js';
import { log } from './report.js';

const profileDir = join(root, '.cache', 'profiles', 'stream');

/** Where a worker writes the CPU profile of its measured part (the inspector's profiler, in the worker). */
export function profileFile(name: string, runId: string): string {
  mkdirSync(profileDir, { recursive: true });
  return join(profileDir, `${name}-${runId}.cpuprofile`);
}

type MessageOf<T extends WorkerMessage['type']> = Extract<WorkerMessage, { type: T }>;

export class Worker {
  readonly child: ChildProcess;
  progress = 0;
  private readonly inbox: WorkerMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly tailLines: string[] = [];
  private exited = false;
  readonly exit: Promise<void>;

  constructor(
    readonly label: string,
    config: WorkerConfig,
  ) {
    const env = { ...process.env, [workerEnv]: JSON.stringify(config), [topicEnv]: config.topic };
    this.child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'stream', 'worker.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    track(this.child);
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        this.tailLines.push(line);
        if (this.tailLines.length > 30) this.tailLines.shift();
        process.stderr.write(`[${label}] ${line}\n`);
      }
    };
    this.child.stdout?.on('data', forward);
    this.child.stderr?.on('data', forward);
    this.child.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') this.progress = message.events;
      else this.inbox.push(message);
      for (const wake of this.waiters) wake();
    });
    this.exit = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.exited = true;
        for (const wake of this.waiters) wake();
        resolve();
      });
    });
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  private tail(): string {
    return this.tailLines.slice(-15).join('\n');
  }

  /** The next message of this type (messages of other types stay queued); rejects on error, exit or timeout. */
  async next<T extends WorkerMessage['type']>(type: T, timeoutMs: number): Promise<MessageOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const failure = this.inbox.find((m): m is MessageOf<'error'> => m.type === 'error');
      if (failure) throw new Error(`${this.label} failed: ${failure.message}`);
      const index = this.inbox.findIndex((m) => m.type === type);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as MessageOf<T>;
      if (this.exited) throw new Error(`${this.label} exited (code ${this.child.exitCode}, signal ${this.child.signalCode}) before sending "${type}":\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: no "${type}" within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 1000));
        const waiters = this.waiters;
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }

  /** Waits until the worker reports at least `events` (progress messages come every 100 ms). */
  async progressAtLeast(events: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.progress < events) {
      if (this.exited) throw new Error(`${this.label} exited at ${this.progress} of ${events} events:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.label}: only ${this.progress} of ${events} events within ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Asks it to stop (it disconnects cleanly); kills it after the grace. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.exited) return;
    if (this.child.connected) this.child.send({ type: 'stop' });
    const timer = setTimeout(() => {
      log(`${this.label} did not stop within ${graceMs} ms: killing it`);
      this.child.kill('SIGKILL');
    }, graceMs);
    await this.exit;
    clearTimeout(timer);
  }
}
