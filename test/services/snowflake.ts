// Snowflake's REST API from fakesnow (PyPI, DuckDB underneath), in its own venv. fakesnow answers
// SELECTs in Arrow, which the Node snowflake-sdk cannot read, so it runs behind
// test/services/fakesnow/server.py, which re-encodes results as the JSON rowsets the driver reads.
// Also exports the small driver helpers (connect, execute, destroy) that the tests share.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Binds, Connection } from 'snowflake-sdk';
import {
  killDetached,
  portFor,
  portOpen,
  repoRoot,
  ServiceError,
  spawnDetached,
  waitForSpawned,
  type Endpoints,
  type ServiceContext,
  type ServiceDefinition,
} from './harness.js';
import { currentVenv, ensureVenv, type VenvSpec } from './python.js';

// Set before the driver loads: its AWS SDK (used only for S3 stages) warns about Node 20 at import.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { default: snowflake } = await import('snowflake-sdk');

export type SnowflakeEndpoint = NonNullable<Endpoints['snowflake']>;
export type SnowflakeRow = Record<string, unknown>;

const service = 'snowflake';
const label = 'fakesnow';
const host = '127.0.0.1';
const supportDir = join(repoRoot, 'test', 'services', 'fakesnow');
const venvSpec: VenvSpec = { requirements: join(supportDir, 'requirements.txt'), constraints: join(supportDir, 'constraints.txt') };

function snowflakePort(): number {
  return portFor('FEATUREGRAPH_SNOWFLAKE_PORT', 18085);
}

function endpointFor(port: number): SnowflakeEndpoint {
  // account is explicit: with an IP as host the driver would otherwise derive it from the host.
  return { host, port, protocol: 'http', account: 'fakesnow' };
}

const venvDir = (ctx: ServiceContext) => join(ctx.dir, 'venv');

let loggingSilenced = false;

/**
 * Keeps the driver quiet: by default it writes snowflake.log into the working directory and echoes
 * to the console. Errors still reach stderr.
 */
export function silenceSnowflakeLogging(): void {
  if (loggingSilenced) return;
  loggingSilenced = true;
  const ignore = () => undefined;
  snowflake.configure({
    logLevel: 'ERROR',
    customLogger: { error: (message) => process.stderr.write(`[snowflake-sdk] ${message}\n`), warn: ignore, info: ignore, debug: ignore, trace: ignore },
  });
}

export interface ConnectOptions {
  database?: string;
  schema?: string;
  /** Per-request timeout in ms; the driver's default (90 s, with login retries) suits a real cloud. */
  timeoutMs?: number;
}

/** Logs in (any user and password are accepted) and resolves to the open connection. */
export async function connectSnowflake(endpoint: SnowflakeEndpoint, options: ConnectOptions = {}): Promise<Connection> {
  silenceSnowflakeLogging();
  const connection = snowflake.createConnection({
    ...endpoint,
    username: 'fg',
    password: 'fg',
    ...(options.database === undefined ? {} : { database: options.database }),
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs, sfRetryMaxLoginRetries: 1 }),
  });
  return new Promise((resolve, reject) => {
    connection.connect((error) => (error ? reject(error) : resolve(connection)));
  });
}

/** Runs one statement and resolves to all its rows. */
export function executeSql(connection: Connection, sqlText: string, binds?: Binds): Promise<SnowflakeRow[]> {
  return new Promise((resolve, reject) => {
    connection.execute({
      sqlText,
      ...(binds === undefined ? {} : { binds }),
      complete: (error, _statement, rows) => (error ? reject(error) : resolve((rows ?? []) as SnowflakeRow[])),
    });
  });
}

/** Ends the session; without it the driver's keep-alive sockets hold the process open. */
export function destroySnowflake(connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    connection.destroy(() => resolve());
  });
}

/**
 * A schema of its own in a shared database, for one test file: fakesnow has no DROP DATABASE, so each
 * run creates `<database>.<prefix>_<random>` and drops it at the end. `ready` resolves to the admin
 * session once the schema exists; `drop` drops it and ends the session.
 */
export function testSchema(endpoint: SnowflakeEndpoint, database: string, prefix: string): { schema: string; ready: Promise<Connection>; drop(): Promise<void> } {
  const schema = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12).toUpperCase()}`;
  const ready = (async () => {
    const admin = await connectSnowflake(endpoint);
    await executeSql(admin, `CREATE DATABASE IF NOT EXISTS ${database}`);
    await executeSql(admin, `CREATE SCHEMA IF NOT EXISTS ${database}.${schema}`);
    return admin;
  })();
  return {
    schema,
    ready,
    async drop() {
      const admin = await ready;
      await executeSql(admin, `DROP SCHEMA IF EXISTS ${database}.${schema} CASCADE`);
      await destroySnowflake(admin);
    },
  };
}

/** A real login and `SELECT 1` through the driver, with short timeouts: the harness polls this. */
async function selectOne(port: number): Promise<boolean> {
  if (!(await portOpen(port, host))) return false;
  let connection: Connection | undefined;
  try {
    connection = await connectSnowflake(endpointFor(port), { timeoutMs: 5000 });
    const rows = await executeSql(connection, 'SELECT 1 AS ONE');
    return rows[0]?.ONE === 1;
  } catch {
    return false;
  } finally {
    if (connection) await destroySnowflake(connection);
  }
}

const snowflakeService: ServiceDefinition<'snowflake'> = {
  name: 'snowflake',

  async install(ctx) {
    ensureVenv(service, ctx, venvDir(ctx), venvSpec);
  },

  async probe() {
    const port = snowflakePort();
    return (await selectOne(port)) ? endpointFor(port) : null;
  },

  async start(ctx) {
    const port = snowflakePort();
    const venv = currentVenv(service, venvDir(ctx), venvSpec);
    if (venv === null) throw new ServiceError(service, 'the fakesnow venv is missing or stale: install() must run first');
    // A server of ours that runs but does not answer would hold the port: replace it.
    await killDetached(ctx, label);
    const args = [join(supportDir, 'server.py'), '--host', host, '--port', String(port)];
    // FAKESNOW_DB_PATH: databases persist as DuckDB files under .cache instead of in memory.
    const env = { ...process.env, FAKESNOW_DB_PATH: join(ctx.dir, 'data'), PYTHONUNBUFFERED: '1' };
    const pid = spawnDetached(ctx, label, venv.python, args, { env });
    await waitForSpawned(service, ctx, label, pid, { server: 'fakesnow', what: `login and SELECT 1 on ${host}:${port}`, ready: () => selectOne(port), timeoutMs: 60_000 });
    return endpointFor(port);
  },

  async stop(ctx) {
    await killDetached(ctx, label);
  },
};

export default snowflakeService;
