// Feast, the peer the benchmarks compare with, installed from PyPI into its own venv. It is not a
// server of the harness: "up" means the venv holds a working `feast`; benchmarks start `feast serve`
// themselves against the online store they choose. The endpoint gives the paths to run it with.
import { join } from 'node:path';
import { repoRoot, run, ServiceError, type Endpoints, type ServiceContext, type ServiceDefinition } from './harness.js';
import { currentVenv, ensureVenv, type PythonEnv, type VenvSpec } from './python.js';

export type FeastEndpoint = NonNullable<Endpoints['feast']>;

const service = 'feast';
const supportDir = join(repoRoot, 'test', 'services', 'feast');
const venvSpec: VenvSpec = { requirements: join(supportDir, 'requirements.txt'), constraints: join(supportDir, 'constraints.txt') };

const venvDir = (ctx: ServiceContext) => join(ctx.dir, 'venv');

function endpointFor(env: PythonEnv): FeastEndpoint {
  return { python: env.python, feast: env.bin('feast'), venv: env.venv };
}

/** The installed Feast version, e.g. "0.67.0"; throws when the CLI does not run. */
function feastVersion(env: PythonEnv): string {
  const output = run(service, env.bin('feast'), ['version']);
  // The CLI prints `Feast SDK Version: "0.67.0"`, coloured when it thinks it has a terminal.
  const version = /"([^"]+)"/.exec(output)?.[1];
  if (version === undefined) throw new ServiceError(service, `unexpected output of feast version: ${output.trim()}`);
  return version;
}

function workingFeast(ctx: ServiceContext): FeastEndpoint | null {
  const env = currentVenv(service, venvDir(ctx), venvSpec);
  if (env === null) return null;
  try {
    feastVersion(env);
    return endpointFor(env);
  } catch {
    return null;
  }
}

const feast: ServiceDefinition<'feast'> = {
  name: 'feast',

  async install(ctx) {
    ensureVenv(service, ctx, venvDir(ctx), venvSpec);
  },

  async probe(ctx) {
    return workingFeast(ctx);
  },

  async start(ctx) {
    const env = ensureVenv(service, ctx, venvDir(ctx), venvSpec);
    ctx.log(`feast ${feastVersion(env)} ready in ${env.venv}`);
    return endpointFor(env);
  },

  // Nothing runs between benchmarks: whoever starts `feast serve` stops it.
  async stop() {},
};

export default feast;
