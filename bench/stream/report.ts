// What bench:stream prints: progress on stderr, one JSON line per result on stdout (the performance
// protocol of DESIGN.md), and the profiles' summaries.
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { round, type Summary } from './common.js';
import type { LoadRun } from './load.js';
import { formatProfile, summarizeProfile } from './profile.js';

export function log(message: string): void {
  process.stderr.write(`[bench:stream] ${message}\n`);
}

export const host = { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', platform: `${process.platform}-${process.arch}` };

export interface Headline {
  rps: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  ratio: number | null;
}

export function emit(variant: string, fields: Headline, metrics: Record<string, unknown>): void {
  // The load average says how busy the (shared) machine was: other benchmarks and tests may run beside this one.
  const load = loadavg().map((l) => round(l, 2));
  process.stdout.write(`${JSON.stringify({ bench: 'stream', variant, ...fields, metrics, ...host, loadavg: load })}\n`);
}

export const brief = (x: Summary) => ({ p50: round(x.p50), p99: round(x.p99), max: round(x.max), mean: round(x.mean) });

export const perSecond = (events: number, ms: number) => (events * 1000) / Math.max(1e-9, ms);

/** A freshness line: the load `run` achieved against `rate` and its probes' `latency` first, then the phase's own metrics. */
export function emitFreshness(variant: string, rate: number, run: LoadRun, latency: Summary, missed: number, metrics: Record<string, unknown>): void {
  const achieved = round(perSecond(run.events, run.loadMs), 0);
  emit(variant, { rps: achieved, p50_ms: round(latency.p50), p99_ms: round(latency.p99), ratio: null }, {
    target_events_per_s: rate,
    achieved_events_per_s: achieved,
    duration_s: round(run.loadMs / 1000, 2),
    probes: run.lastProbe - run.firstProbe + 1,
    probes_missed: missed,
    ...metrics,
  });
}

/** A CPU profile a worker wrote, and whose it is. */
export interface ProfileTaken {
  label: string;
  file: string;
}

/** Where each profiled worker's time went: a summary on stderr and a `profile` line each. */
export function reportProfiles(profiles: readonly ProfileTaken[]): void {
  for (const { label, file } of profiles) {
    if (!existsSync(file)) {
      log(`no profile at ${file}`);
      continue;
    }
    const summary = summarizeProfile(file, 25);
    log(`profile of the ${label}: ${file}\n${formatProfile(summary)}`);
    emit('profile', { rps: null, p50_ms: null, p99_ms: null, ratio: null }, { of: label, file, busy_ms: summary.busyMs, areas: summary.areas.slice(0, 12), top: summary.functions.slice(0, 15) });
  }
}
