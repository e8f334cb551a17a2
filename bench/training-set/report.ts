// The training-set bench's JSON lines: one per variant and phase, with ratios over Feast's and the
// floor's rows/s at the same scale, and each output checked against the floor's cell by cell.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { FLOATS, INTS, root, sqlString, withDuckDb, type Scale } from './common.js';
import type { Measured, VariantResult } from './measure.js';
import type { TrainingSetOptions } from './options.js';

export type Variant = 'feast' | 'floor' | 'featuregraph';

/** What every line says it ran on, and which code (`-dirty`: uncommitted changes where it matters). */
export function machine(): Record<string, string | number> {
  const commit = (() => {
    try {
      const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
      const dirty = execFileSync('git', ['status', '--porcelain', '--', 'adapters/history', 'bench/training-set'], { cwd: root, encoding: 'utf8' }).trim() !== '';
      return dirty ? `${sha}-dirty` : sha;
    } catch {
      return 'unknown';
    }
  })();
  return { node: process.version, cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', commit };
}

/** Cells that differ from the floor's output, over rows present in both (keyed by key and asOf). */
async function differences(out: string, floorOut: string): Promise<{ compared: number; differing: number }> {
  return withDuckDb(':memory:', async (db) => {
    const differ = [...FLOATS, ...INTS].map((f) => `a.${f} IS DISTINCT FROM b.${f}`).join(' OR ');
    const reader = await db.runAndReadAll(
      `SELECT count(*)::INTEGER, count(*) FILTER (WHERE ${differ})::INTEGER FROM read_parquet(${sqlString(out)}) a JOIN read_parquet(${sqlString(floorOut)}) b ON a.key = b.key AND a.as_of = b.as_of`,
    );
    const [compared, differing] = reader.getRowsJS()[0] as number[];
    return { compared: compared as number, differing: differing as number };
  });
}

/** Prints the lines of one scale: Feast's, the floor's, featuregraph's; `outs` are their training sets. */
export async function printResults(scale: Scale, results: Record<Variant, VariantResult>, outs: Record<Variant, string>, options: TrainingSetOptions, info: Record<string, string | number>): Promise<void> {
  const line = (variant: Variant, phase: 'setup' | 'run', m: Measured, extra: Record<string, unknown> = {}) => ({
    bench: 'training-set',
    variant,
    phase,
    mode: 'EVENT_TIME',
    rows: phase === 'setup' ? scale.history : scale.rows,
    rows_out: m.rows,
    history_rows: scale.history,
    entities: scale.entities,
    features: 10,
    seconds: Math.round(m.seconds * 100) / 100,
    rows_per_s: Math.round((phase === 'setup' ? scale.history : scale.rows) / m.seconds),
    peak_rss_mb: m.peak_rss_mb,
    loadavg_1m: m.loadavg_1m,
    ...(variant === 'featuregraph' ? { store_memory_limit: options.storeMemoryLimit, append_batch: options.appendBatch } : {}),
    ...extra,
  });
  const rate = (variant: Variant) => {
    const run = results[variant].run;
    return run ? scale.rows / run.seconds : null;
  };
  const ratio = (variant: Variant, base: Variant) => {
    const a = rate(variant);
    const b = rate(base);
    return a !== null && b !== null ? Math.round((a / b) * 1000) / 1000 : null;
  };
  for (const variant of ['feast', 'floor', 'featuregraph'] as const) {
    const r = results[variant];
    if (r.setup) console.log(JSON.stringify({ ...line(variant, 'setup', r.setup), ...info }));
    if (r.run) {
      const check = variant === 'floor' ? null : await differences(outs[variant], outs.floor);
      console.log(
        JSON.stringify({
          ...line(variant, 'run', r.run, {
            ratio: ratio(variant, 'feast'),
            ratio_vs_floor: ratio(variant, 'floor'),
            ...(check ? { compared_with_floor: check.compared, rows_differing_from_floor: check.differing } : {}),
          }),
          ...info,
        }),
      );
    } else {
      console.log(JSON.stringify({ bench: 'training-set', variant, phase: 'run', rows: scale.rows, history_rows: scale.history, entities: scale.entities, skipped: r.note, ...info }));
    }
  }
}
