// Every phase runs in a child process of its own under /usr/bin/time -v, so that each peak RSS is
// its own: a Node child (child.ts) for featuregraph's and the floor's phases, Python for Feast's.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { cacheDir, root, type ChildResult } from './common.js';

const childScript = join(root, 'bench', 'training-set', 'child.ts');

export interface Measured extends ChildResult {
  peak_rss_mb: number;
  /** How busy the shared machine was when the phase started (other work runs beside benchmarks). */
  loadavg_1m: number;
}

/** A variant's phases at one scale; `note` says why there is no run (skipped, failed). */
export interface VariantResult {
  setup: Measured | null;
  run: Measured | null;
  note?: string;
}

/** Runs a command under /usr/bin/time -v: its last stdout line (JSON) plus its peak RSS. */
export function measure(command: string, args: readonly string[]): Promise<Measured> {
  const timeFile = join(cacheDir, 'run', `time-${process.pid}.txt`);
  const load = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  return new Promise((resolvePromise, reject) => {
    const spawned = spawn('/usr/bin/time', ['-v', '-o', timeFile, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
    let out = '';
    let errTail = '';
    spawned.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    // The child's stderr still reaches ours; its tail is kept to say why a phase failed.
    spawned.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      process.stderr.write(chunk);
      errTail = (errTail + chunk).slice(-8192);
    });
    spawned.on('error', reject);
    spawned.on('exit', (code, signal) => {
      const report = existsSync(timeFile) ? readFileSync(timeFile, 'utf8') : '';
      rmSync(timeFile, { force: true });
      if (code !== 0) {
        const cause = /\b\w*(?:Error|Exception): [^\n]*/.exec(errTail)?.[0] ?? '';
        return reject(new Error(`${[command, ...args].join(' ')} failed (${signal ?? `exit code ${code}`}${cause ? `: ${cause.slice(0, 200)}` : ''})\n${report}`));
      }
      const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(report)?.[1] ?? NaN);
      const last = out.trim().split('\n').pop() as string;
      resolvePromise({ ...(JSON.parse(last) as ChildResult), peak_rss_mb: Math.round(kb / 102.4) / 10, loadavg_1m: load });
    });
  });
}

/** Runs one of child.ts's phases in a Node child of its own (with this process's flags: tsx). */
export function measurePhase(phase: string, ...args: string[]): Promise<Measured> {
  return measure(process.execPath, [...process.execArgv, childScript, phase, ...args]);
}

/** The gist of a child's failure: its exit status and peak RSS (its stderr went to ours). */
export function failure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const status = /failed \((.*)\)\n/.exec(message)?.[1] ?? message.split('\n')[0];
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(message)?.[1];
  return `${status}${kb ? `, peak RSS ${Math.round(Number(kb) / 1024)} MB` : ''}`;
}
