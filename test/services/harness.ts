// The services harness: installs (cached under .cache/), starts and stops the real servers that
// integration tests talk to. Each service is one module exporting a ServiceDefinition; this file
// owns the shared plumbing (process spawning, pid files, readiness polling, the endpoints file).
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { createConnection } from 'node:net';
import { mkdirSync, openSync, readFileSync, realpathSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Its real path: the endpoints recorded in it (a venv's python) must outlive a checkout that reached
// the cache through a symlink, since every checkout sharing the cache reads them.
export const cacheRoot = realCache(resolve(process.env.FEATUREGRAPH_CACHE_DIR ?? join(repoRoot, '.cache')));

function realCache(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
export const servicesRoot = join(cacheRoot, 'services');
export const endpointsFile = join(servicesRoot, 'endpoints.json');

export type ServiceName = 'redis' | 'redis-cluster' | 'kafka' | 'mongodb' | 'snowflake' | 'feast' | 'prometheus' | 'jaeger';
export const allServices: readonly ServiceName[] = ['redis', 'redis-cluster', 'kafka', 'mongodb', 'snowflake', 'feast', 'prometheus', 'jaeger'];

export interface Endpoints {
  redis?: { url: string; host: string; port: number };
  'redis-cluster'?: { nodes: { host: string; port: number }[] };
  kafka?: { brokers: string[] };
  mongodb?: { url: string };
  snowflake?: { host: string; port: number; protocol: 'http'; account: string };
  feast?: { python: string; feast: string; venv: string };
  /**
   * rulesDir: rule files (*.yml, *.yaml) loaded on POST {url}/-/reload; targetsDir: file_sd target
   * groups (*.json) picked up within a second; promtool: the path of the matching promtool.
   */
  prometheus?: { url: string; rulesDir: string; targetsDir: string; promtool: string };
  /** OTLP receivers (the base URLs the OTEL_EXPORTER_OTLP_ENDPOINT variables take) and the query API. */
  jaeger?: { otlpHttp: string; otlpGrpc: string; queryUrl: string };
}

export interface ServiceContext {
  /** .cache/services/<name>: builds, data, logs and pid files of this service. */
  dir: string;
  ci: boolean;
  log(message: string): void;
}

export interface ServiceDefinition<N extends ServiceName = ServiceName> {
  name: N;
  /** Install what is missing (idempotent, cached under ctx.dir or cacheRoot/downloads). */
  install(ctx: ServiceContext): Promise<void>;
  /** The endpoint if the service is already up and answering, else null. */
  probe(ctx: ServiceContext): Promise<Endpoints[N] | null>;
  /** Start it detached, wait until it really answers, and return its endpoint. */
  start(ctx: ServiceContext): Promise<NonNullable<Endpoints[N]>>;
  /** Stop everything this service started; leaves no process behind. */
  stop(ctx: ServiceContext): Promise<void>;
}

export class ServiceError extends Error {
  constructor(readonly service: string, message: string, options?: { cause?: unknown }) {
    super(`${service}: ${message}`, options);
    this.name = 'ServiceError';
  }
}

export function contextFor(name: ServiceName): ServiceContext {
  const dir = join(servicesRoot, name);
  mkdirSync(dir, { recursive: true });
  return {
    dir,
    ci: process.env.CI === 'true',
    log: (message) => process.stderr.write(`[services:${name}] ${message}\n`),
  };
}

export function readEndpoints(): Endpoints {
  if (!existsSync(endpointsFile)) return {};
  return JSON.parse(readFileSync(endpointsFile, 'utf8')) as Endpoints;
}

export function writeEndpoint<N extends ServiceName>(name: N, endpoint: Endpoints[N] | undefined): void {
  mkdirSync(servicesRoot, { recursive: true });
  const all = readEndpoints();
  if (endpoint === undefined) delete all[name];
  else all[name] = endpoint;
  writeFileSync(endpointsFile, JSON.stringify(all, null, 2));
}

/** Runs a command to completion; throws with its output tail when it fails. */
export function run(service: string, command: string, args: string[], options: SpawnOptions & { quiet?: boolean } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options, stdio: 'pipe' });
  if (result.error) throw new ServiceError(service, `could not run ${command}: ${result.error.message}`, { cause: result.error });
  if (result.status !== 0) {
    const tail = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new ServiceError(service, `${command} ${args.join(' ')} exited with ${result.status}:\n${tail}`);
  }
  return String(result.stdout ?? '');
}

export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

let aptListsFresh = false;

/** Installs Debian packages (we are root, no stdin); refreshes the package lists once per process. */
export function aptInstall(service: string, packages: string[]): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptListsFresh) {
    run(service, 'apt-get', ['update'], { env });
    aptListsFresh = true;
  }
  run(service, 'apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env });
}

/** Spawns a long-running process detached from us, logging to <dir>/<label>.log, pid in <dir>/<label>.pid. */
export function spawnDetached(ctx: ServiceContext, label: string, command: string, args: string[], options: SpawnOptions = {}): number {
  const logPath = join(ctx.dir, `${label}.log`);
  const out = openSync(logPath, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out], ...options });
  if (child.pid === undefined) throw new ServiceError(ctx.dir, `could not start ${command}`);
  child.unref();
  writeFileSync(join(ctx.dir, `${label}.pid`), String(child.pid));
  writeFileSync(join(ctx.dir, `${label}.start`), procStat(child.pid)?.startTime ?? '');
  return child.pid;
}

/**
 * True while the process runs. A zombie counts as gone: pid 1 on these machines reaps orphans only
 * about once a second, and until then kill(pid, 0) still succeeds on a process that has exited.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return procStat(pid)?.state !== 'Z';
}

/** State and start time (clock ticks since boot) from /proc/<pid>/stat, or null when unreadable. */
function procStat(pid: number): { state: string; startTime: string } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
}

/**
 * The pid recorded under <label> if that very process still runs, else null. Pid files outlive
 * reboots in .cache/, and a recycled pid must never be taken (or killed) as ours: the start time
 * recorded beside the pid tells them apart.
 */
export function livePid(ctx: ServiceContext, label: string): number | null {
  const pidFile = join(ctx.dir, `${label}.pid`);
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
  const startFile = join(ctx.dir, `${label}.start`);
  if (existsSync(startFile) && readFileSync(startFile, 'utf8') !== procStat(pid)?.startTime) return null;
  return pid;
}

/** Thrown from a waitFor check to stop polling at once, e.g. when the process waited on has died. */
export class StopWaiting extends ServiceError {
  override name = 'StopWaiting';
}

/** Kills the process group started under <label> (SIGTERM, then SIGKILL) and waits until it is gone. */
export async function killDetached(ctx: ServiceContext, label: string, graceMs = 5000): Promise<void> {
  const pidFile = join(ctx.dir, `${label}.pid`);
  if (!existsSync(pidFile)) return;
  const pid = livePid(ctx, label);
  if (pid !== null) {
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        try {
          process.kill(pid, sig);
        } catch {
          /* already gone */
        }
      }
    };
    signal('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) signal('SIGKILL');
    while (isAlive(pid)) await sleep(50);
    // Until pid 1 reaps it, the dead process still shows in `ps` as <defunct>: give it a moment.
    const reapDeadline = Date.now() + 3000;
    while (existsSync(`/proc/${pid}`) && Date.now() < reapDeadline) await sleep(100);
  }
  rmSync(pidFile, { force: true });
  rmSync(join(ctx.dir, `${label}.start`), { force: true });
}

export function logTail(ctx: ServiceContext, label: string, lines = 20): string {
  const logPath = join(ctx.dir, `${label}.log`);
  if (!existsSync(logPath)) return '(no log)';
  return readFileSync(logPath, 'utf8').trim().split('\n').slice(-lines).join('\n');
}

/** GETs (or sends `init` to) `url`; the response when its status is 2xx, else null (never throws). */
export async function httpOk(url: string, init: RequestInit = {}, timeoutMs = 2000): Promise<Response | null> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    if (response.ok) return response;
    await response.body?.cancel();
    return null;
  } catch {
    return null;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = createConnection({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolveOpen(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` until it returns a value; throws naming the service and what it waited for. */
export async function waitFor<T>(service: string, what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, onTimeout?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== null && value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof StopWaiting) throw error;
      lastError = error;
    }
    await sleep(200);
  }
  const detail = onTimeout ? `\n${onTimeout()}` : '';
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new ServiceError(service, `timed out after ${timeoutMs} ms waiting for ${what}${cause}${detail}`);
}

/** What waitForSpawned waits for, and how it names the server it waits on. */
export interface SpawnedReadiness<T> {
  /** The server as messages name it: "FerretDB", "the broker". */
  server: string;
  /** What is waited for: "ping on 127.0.0.1:27117". */
  what: string;
  ready: () => Promise<T | null | undefined | false>;
  timeoutMs: number;
  /** Lines of the server's log that a failure quotes (default 20). */
  logLines?: number;
}

/**
 * Polls `ready` for a server just started with spawnDetached under `label`: gives up at once when
 * the process exits, and quotes the end of its log then and on a timeout.
 */
export async function waitForSpawned<T>(service: string, ctx: ServiceContext, label: string, pid: number, wait: SpawnedReadiness<T>): Promise<T> {
  const tail = () => logTail(ctx, label, wait.logLines);
  return waitFor(
    service,
    wait.what,
    async () => {
      if (!isAlive(pid)) throw new StopWaiting(service, `${wait.server} exited:\n${tail()}`);
      return wait.ready();
    },
    wait.timeoutMs,
    tail,
  );
}

/** Port of a service, overridable by env FEATUREGRAPH_<NAME>_PORT so that two checkouts can coexist. */
export function portFor(envName: string, fallback: number): number {
  const raw = process.env[envName];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`${envName} must be a TCP port number, got ${JSON.stringify(raw)}`);
  return port;
}
