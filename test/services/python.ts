// Project-local Python environments for the services that come from PyPI (fakesnow, Feast): one venv
// per service under .cache/services/<name>/venv, pip's download cache under .cache/downloads/pip,
// and an install stamp so that `up` runs pip only when a requirements or constraints file changed.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { aptInstall, cacheRoot, commandExists, run, type ServiceContext } from './harness.js';
import { inputsHash, stampMatches, writeStamp } from './stamp.js';

export interface PythonEnv {
  venv: string;
  python: string;
  /** Path of a console script installed in the venv, e.g. bin('feast'). */
  bin(name: string): string;
}

export interface VenvSpec {
  /** Top-level pins, e.g. `fakesnow[server]==0.12.1`. */
  requirements: string;
  /** The full resolved set (pip freeze) that the requirements were tested with. */
  constraints: string;
}

function pythonEnvAt(venv: string): PythonEnv {
  return { venv, python: join(venv, 'bin', 'python'), bin: (name) => join(venv, 'bin', name) };
}

/** A python3 that can create venvs; Debian splits `venv` and `ensurepip` into python3-venv. */
function basePython(service: string, ctx: ServiceContext): string {
  const canMakeVenvs = () => {
    try {
      run(service, 'python3', ['-c', 'import ensurepip, venv']);
      return true;
    } catch {
      return false;
    }
  };
  if (!commandExists('python3') || !canMakeVenvs()) {
    ctx.log('installing python3 and python3-venv from Debian packages');
    aptInstall(service, ['python3', 'python3-venv']);
  }
  return 'python3';
}

/**
 * pip's cache goes under .cache too. On this workplace's registry it stays nearly empty (responses
 * carry no caching headers), so what makes reruns fast is the stamp, not the cache.
 */
function pipEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PIP_CACHE_DIR: join(cacheRoot, 'downloads', 'pip'),
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_INPUT: '1',
  };
}

function stampPath(venv: string): string {
  return join(venv, '.featuregraph-inputs');
}

/** The stamp's hash: the pins, plus the base interpreter's version (a venv breaks when it changes). */
function venvInputsHash(service: string, python: string, spec: VenvSpec): string {
  return inputsHash([spec.requirements, spec.constraints], [run(service, python, ['--version'])]);
}

/** Creates or updates the venv at `venv` so that it holds exactly what `spec` pins. */
export function ensureVenv(service: string, ctx: ServiceContext, venv: string, spec: VenvSpec): PythonEnv {
  const env = pythonEnvAt(venv);
  const python = basePython(service, ctx);
  const hash = venvInputsHash(service, python, spec);
  if (existsSync(env.python) && stampMatches(stampPath(venv), hash)) return env;

  ctx.log(`installing the Python packages of ${service} into ${venv} (under a minute with a fast registry)`);
  // --clear: a venv left by another interpreter version or a broken install is rebuilt from scratch.
  run(service, python, ['-m', 'venv', '--clear', venv]);
  run(service, env.python, ['-m', 'pip', 'install', '--quiet', '-r', spec.requirements, '-c', spec.constraints], { env: pipEnv() });
  writeStamp(stampPath(venv), hash);
  return env;
}

/**
 * The venv at `venv` if it is installed and current for `spec`, else null; installs nothing. A stale
 * venv counts as missing so that `up` reinstalls it after a pin changed.
 */
export function currentVenv(service: string, venv: string, spec: VenvSpec): PythonEnv | null {
  const env = pythonEnvAt(venv);
  if (!existsSync(env.python) || !commandExists('python3')) return null;
  return stampMatches(stampPath(venv), venvInputsHash(service, 'python3', spec)) ? env : null;
}
