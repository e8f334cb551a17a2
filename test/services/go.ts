// Go builds for the services that come as Go modules (FerretDB, Jaeger): the machine's Go toolchain,
// module downloads and build cache under .cache/downloads, and an install stamp so that `up`
// rebuilds only when the module files or the toolchain changed.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cacheRoot, run, ServiceError, type ServiceContext } from './harness.js';
import { inputsHash, stampMatches, writeStamp } from './stamp.js';

/** The Go toolchain: PATH first, then the usual tarball location (not always on PATH for services). */
function goCommand(service: string): string {
  for (const candidate of ['go', '/usr/local/go/bin/go']) {
    try {
      run(service, candidate, ['version']);
      return candidate;
    } catch {
      /* try the next one */
    }
  }
  // Debian's golang-go (1.19 on bookworm) is too old for these modules' go.mod, so installing it would not help.
  throw new ServiceError(service, 'no Go toolchain (>= 1.24) found on PATH or in /usr/local/go');
}

/** Keeps module downloads and build cache in the git-ignored .cache so that rebuilds are offline. */
function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOMODCACHE: join(cacheRoot, 'downloads', 'gomod'),
    GOCACHE: join(cacheRoot, 'downloads', 'gocache'),
    GOFLAGS: '-mod=mod',
  };
}

export interface GoBuild {
  /** The module folder the build runs in (test/services/<name>). */
  moduleDir: string;
  /** Files of that folder the binary is built from: a change to any of them rebuilds it. */
  inputs: readonly string[];
  /** Where the binary goes, under the service's cache folder. */
  binary: string;
  /** `go build` arguments after `-o <binary>`: flags, then the package. */
  buildArgs: readonly string[];
  /** Extra environment, e.g. CGO_ENABLED. */
  env?: NodeJS.ProcessEnv;
  /** Logged before a build: what is built and roughly how long it takes. */
  announce: string;
}

/** Builds the binary unless the one in the cache was built from the same inputs and toolchain. */
export function buildGoBinary(service: string, ctx: ServiceContext, build: GoBuild): void {
  const go = goCommand(service);
  const hash = inputsHash(build.inputs, [run(service, go, ['version'])]);
  const stamp = `${build.binary}.inputs`;
  if (existsSync(build.binary) && stampMatches(stamp, hash)) return;
  ctx.log(build.announce);
  mkdirSync(dirname(build.binary), { recursive: true });
  run(service, go, ['build', '-o', build.binary, ...build.buildArgs], { cwd: build.moduleDir, env: { ...goEnv(), ...build.env } });
  writeStamp(stamp, hash);
}
