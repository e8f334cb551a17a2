// Feast, the baseline (DESIGN: Feast for peers): get_historical_features(...).to_df() over a FileSource
// (the file offline store: dask), written to Parquet, in the Feast venv (feast_run.py). The FileSource
// copy and FeatureStore.apply are its setup.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readEndpoints } from '../../test/services/harness.js';
import { DAY, log, root, type Scale } from './common.js';
import type { Data } from './data.js';
import { failure, measure, type VariantResult } from './measure.js';
import type { TrainingSetOptions } from './options.js';

const feastScript = join(root, 'bench', 'training-set', 'feast_run.py');

/** The Feast venv's Python, installed with test/services/up feast if it is not there; null if that failed. */
export function feastPython(): string | null {
  const python = readEndpoints().feast?.python;
  if (python && existsSync(python)) return python;
  log('Feast is not installed: starting test/services/up feast');
  try {
    execFileSync(join(root, 'test', 'services', 'up'), ['feast'], { cwd: root, stdio: ['ignore', 2, 2] });
  } catch {
    return null;
  }
  return readEndpoints().feast?.python ?? null;
}

/** Setup and run at one scale, each measured in its own Python process, unless Feast is missing or the scale above --feast-max-history. */
export async function runFeast(python: string | null, scale: Scale, work: string, data: Data, out: string, options: TrainingSetOptions): Promise<VariantResult> {
  if (python === null) return { setup: null, run: null, note: 'Feast is not installed (test/services/up feast failed)' };
  if (scale.history > options.feastMaxHistory) return { setup: null, run: null, note: `skipped above --feast-max-history ${options.feastMaxHistory}` };
  log('feast: FileSource copy and apply');
  const repo = join(work, 'feast-repo');
  try {
    const setup = await measure(python, [feastScript, 'setup', repo, data.history, String(options.ttlDays * DAY)]);
    log(`feast: get_historical_features (${setup.seconds.toFixed(1)} s of setup)`);
    const run = await measure(python, [feastScript, 'run', repo, data.rows, out]);
    return { setup, run };
  } catch (error) {
    return { setup: null, run: null, note: `failed: ${failure(error)}` };
  }
}
