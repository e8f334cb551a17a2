// The Snowflake client shared by the row source and the history store: connection settings (from config
// or the environment), the driver loaded once, and one session (connection) reused for every statement,
// replaced after a connection-level failure, its statements sent one at a time. Credentials never reach
// a message: every driver error is scrubbed of them (errors.ts).
import { connect as tcpConnect } from 'node:net';
import type { Readable } from 'node:stream';
import type * as SnowflakeSdk from 'snowflake-sdk';
import type { Connection, ConnectionOptions, RowStatement } from 'snowflake-sdk';
import { FeaturegraphError, type ErrorCode } from '../../../schema/errors.js';
import { OptionCheck } from '../../common/options.js';
import { redact } from '../../common/redact.js';
import { needsReconnect, SnowflakeError, wrapSnowflakeError } from './errors.js';

interface SnowflakeConnectionCommon {
  /** Account identifier (`myorg-myaccount`); with `host` set it is still required (fakesnow: `fakesnow`). */
  account: string;
  username: string;
  database: string;
  schema: string;
  warehouse?: string;
  role?: string;
  /** Defaults to `<account>.snowflakecomputing.com`; tests point it at 127.0.0.1. */
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
}

/** Exactly one way to authenticate: a password, or a key pair (PEM private key, optionally encrypted). */
export type SnowflakeConnectionSettings = SnowflakeConnectionCommon &
  ({ password: string; privateKey?: undefined; privateKeyPass?: undefined } | { privateKey: string; privateKeyPass?: string; password?: undefined });

type SnowflakeModule = typeof SnowflakeSdk;

const driverSecrets = new Set<string>();
let driverLog: ((message: string) => void) | null = null;
let driverPromise: Promise<SnowflakeModule> | null = null;

/**
 * Where the driver's own error messages go (default: nowhere; every failure reaches the caller as a typed
 * error). Messages are scrubbed of every secret a session was given before the sink sees them.
 */
export function setSnowflakeDriverLog(sink: ((message: string) => void) | null): void {
  driverLog = sink;
}

/** Loads the driver once, on first use: it pulls in AWS and Azure SDKs that a process without Snowflake need not load. */
function loadDriver(): Promise<SnowflakeModule> {
  driverPromise ??= (async () => {
    // Its AWS SDK (used only for stages) warns about Node 20 when it loads.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    // A CommonJS module: its exports object is the ES module's default export.
    const loaded = (await import('snowflake-sdk')) as SnowflakeModule & { default?: SnowflakeModule };
    const snowflake = loaded.default ?? loaded;
    const emit = (message: string) => driverLog?.(redact(message, [...driverSecrets]));
    const ignore = () => undefined;
    // A custom logger replaces the driver's default, which writes snowflake.log into the working directory.
    snowflake.configure({ logLevel: 'ERROR', customLogger: { error: emit, warn: ignore, info: ignore, debug: ignore, trace: ignore } });
    return snowflake;
  })();
  return driverPromise;
}

/**
 * Checks the connection settings into `check`; secrets are checked for presence only and never echoed.
 * `where` names the owner's setting ("snowflake source: connection").
 */
export function validateConnection(check: OptionCheck, where: string, settings: unknown): SnowflakeConnectionSettings {
  if (typeof settings !== 'object' || settings === null) {
    check.refuse(`${where} must be an object with account, username, password or privateKey, database, schema`);
    return settings as SnowflakeConnectionSettings;
  }
  const s = settings as Record<string, unknown>;
  for (const field of ['account', 'username', 'database', 'schema'] as const) check.nonEmptyString(`${where}.${field}`, s[field]);
  for (const field of ['warehouse', 'role', 'host'] as const) if (s[field] !== undefined) check.nonEmptyString(`${where}.${field}`, s[field]);
  if (s.port !== undefined) check.integerIn(`${where}.port`, s.port, 1, 65535);
  check.oneOf(`${where}.protocol`, s.protocol, ['http', 'https'], 'https');
  const hasPassword = s.password !== undefined;
  const hasKey = s.privateKey !== undefined;
  if (hasPassword === hasKey) check.refuse(`${where} needs exactly one of password or privateKey (got ${hasPassword ? 'both' : 'neither'})`);
  if (hasPassword && (typeof s.password !== 'string' || s.password === '')) check.refuse(`${where}.password must be a non-empty string`);
  if (hasKey && (typeof s.privateKey !== 'string' || !s.privateKey.includes('PRIVATE KEY'))) check.refuse(`${where}.privateKey must be a PEM private key ("-----BEGIN PRIVATE KEY-----...")`);
  if (s.privateKeyPass !== undefined && typeof s.privateKeyPass !== 'string') check.refuse(`${where}.privateKeyPass must be a string`);
  return settings as SnowflakeConnectionSettings;
}

/**
 * Connection settings from the environment: FEATUREGRAPH_SNOWFLAKE_ACCOUNT, _USER, _PASSWORD or
 * _PRIVATE_KEY (PEM; `\n` escapes allowed) with optional _PRIVATE_KEY_PASSPHRASE, _DATABASE, _SCHEMA,
 * _WAREHOUSE, _ROLE, and _HOST with _PORT and _PROTOCOL for a non-default endpoint.
 */
export function snowflakeConnectionFromEnv(env: NodeJS.ProcessEnv = process.env): SnowflakeConnectionSettings {
  // Every variable is checked and one error names every problem, so a deployment is mended in one go.
  const check = new OptionCheck();
  const read = (name: string) => {
    const value = env[`FEATUREGRAPH_SNOWFLAKE_${name}`];
    return value === undefined || value === '' ? undefined : value;
  };
  const required = (name: string) => {
    const value = read(name);
    if (value === undefined) check.refuse(`FEATUREGRAPH_SNOWFLAKE_${name} is not set (the Snowflake source needs ACCOUNT, USER, PASSWORD or PRIVATE_KEY, DATABASE, SCHEMA)`);
    return value ?? '';
  };
  const host = read('HOST');
  const portText = host === undefined ? undefined : read('PORT');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) check.refuse(`FEATUREGRAPH_SNOWFLAKE_PORT must be a port number, got ${JSON.stringify(portText)}`);
  const protocol = host === undefined ? undefined : read('PROTOCOL');
  if (protocol !== undefined && protocol !== 'http' && protocol !== 'https') check.refuse(`FEATUREGRAPH_SNOWFLAKE_PROTOCOL must be http or https, got ${JSON.stringify(protocol)}`);
  const common: SnowflakeConnectionCommon = {
    account: required('ACCOUNT'),
    username: required('USER'),
    database: required('DATABASE'),
    schema: required('SCHEMA'),
    ...(read('WAREHOUSE') === undefined ? {} : { warehouse: read('WAREHOUSE') }),
    ...(read('ROLE') === undefined ? {} : { role: read('ROLE') }),
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { port }),
    ...(protocol === undefined || (protocol !== 'http' && protocol !== 'https') ? {} : { protocol }),
  };
  const privateKey = read('PRIVATE_KEY');
  const password = read('PASSWORD');
  if (privateKey === undefined && password === undefined) check.refuse('no password: set FEATUREGRAPH_SNOWFLAKE_PASSWORD (or FEATUREGRAPH_SNOWFLAKE_PRIVATE_KEY for key-pair authentication)');
  check.done();
  if (privateKey !== undefined) {
    const pass = read('PRIVATE_KEY_PASSPHRASE');
    return { ...common, privateKey: privateKey.replaceAll('\\n', '\n'), ...(pass === undefined ? {} : { privateKeyPass: pass }) };
  }
  return { ...common, password: password ?? '' };
}

/** The connection settings a config file may hold (never a secret): the gateway's sources.batch and history entries. */
export interface SnowflakeFileSettings {
  account?: string;
  user?: string;
  database?: string;
  schema?: string;
  warehouse?: string;
  role?: string;
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
}

/** Connection settings from a config entry, the environment filling in what it does not say; what the environment says wins, and secrets only ever come from it. */
export function snowflakeConnectionFromConfig(file: SnowflakeFileSettings, env: NodeJS.ProcessEnv = process.env): SnowflakeConnectionSettings {
  const fromFile: Record<string, string | undefined> = {
    ACCOUNT: file.account,
    USER: file.user,
    DATABASE: file.database,
    SCHEMA: file.schema,
    WAREHOUSE: file.warehouse,
    ROLE: file.role,
    HOST: file.host,
    PORT: file.port === undefined ? undefined : String(file.port),
    PROTOCOL: file.protocol,
  };
  const merged: NodeJS.ProcessEnv = { ...env };
  for (const [key, value] of Object.entries(fromFile)) if (value !== undefined && merged[`FEATUREGRAPH_SNOWFLAKE_${key}`] === undefined) merged[`FEATUREGRAPH_SNOWFLAKE_${key}`] = value;
  return snowflakeConnectionFromEnv(merged);
}

/** Resolves when a TCP connection to host:port opens, rejects when it is refused or times out. */
function reachable(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

/** A statement and its bound values (positional `?`). */
export interface SnowflakeStatement {
  sqlText: string;
  binds: (string | number | boolean | null)[];
}

export interface SnowflakeSessionOptions {
  settings: SnowflakeConnectionSettings;
  /** Starts every message, e.g. `snowflake source "orders"`. */
  subject: string;
  /** The code of "the server cannot be used now" failures (the owner's kind of unavailability). */
  unavailableCode: Extract<ErrorCode, 'SOURCE_UNAVAILABLE' | 'HISTORY_STORE_UNAVAILABLE'>;
  /** Bound on reaching the server: the TCP check before each statement and each login request. */
  connectTimeoutMs: number;
  /** Login attempts after the first one fails. */
  loginRetries: number;
  /** The driver's per-request timeout (undefined: the driver's own, 90 s). */
  requestTimeoutMs?: number;
}

export interface SnowflakeSessionStats {
  /** Successful logins; one per session owner unless a failure forced a new session. */
  logins: number;
  statements: number;
}

/** One Snowflake session, logged in on first use and again after a connection-level failure. */
export class SnowflakeSession {
  readonly stats: SnowflakeSessionStats = { logins: 0, statements: 0 };
  private readonly options: SnowflakeSessionOptions;
  private readonly secrets: string[];
  private readonly endpoint: { host: string; port: number };
  private session: Promise<Connection> | null = null;
  private closed = false;
  /** Settles when the statement submitted last has its first answer; see submit(). */
  private submitted: Promise<void> = Promise.resolve();

  constructor(options: SnowflakeSessionOptions) {
    this.options = options;
    const s = options.settings;
    this.secrets = [s.password, s.privateKey, s.privateKeyPass].filter((v): v is string => typeof v === 'string' && v !== '');
    const protocol = s.protocol ?? 'https';
    this.endpoint = { host: s.host ?? `${s.account}.snowflakecomputing.com`, port: s.port ?? (protocol === 'http' ? 80 : 443) };
  }

  /** Wraps a driver error (scrubbed, classified); a dead session is dropped so that the next statement logs in again. */
  fail(action: string, error: unknown): SnowflakeError {
    const wrapped = wrapSnowflakeError(this.options.subject, action, error, this.secrets, this.options.unavailableCode);
    if (needsReconnect(error)) void this.dropSession();
    return wrapped;
  }

  /** Runs one statement and resolves to all its rows, as arrays in select order. For small results. */
  async execute(action: string, statement: SnowflakeStatement): Promise<unknown[][]> {
    const rows: unknown[][] = [];
    for await (const batch of this.stream(action, statement, 10_000)) rows.push(...batch);
    return rows;
  }

  /** The type of a statement's first column (the driver's name: fixed, timestamp_ntz, ...), e.g. of a `LIMIT 0` probe. */
  async firstColumnType(action: string, sqlText: string, what = 'column type'): Promise<string> {
    const connection = await this.connection(action);
    this.stats.statements++;
    return new Promise<string>((resolve, reject) => {
      void this.submit((answered) =>
        connection.execute({
          sqlText,
          complete: (error, statement) => {
            answered();
            if (error) return reject(this.fail(`${action} (${what})`, error));
            const column = (statement as RowStatement).getColumns()?.[0];
            resolve(column ? column.getType() : 'unknown');
          },
        }),
      ).catch(reject);
    });
  }

  /**
   * Streams a statement's rows (as arrays, in select order) in batches of at most batchSize. The rows
   * are pulled one by one with async iteration: while the caller works on a batch nothing is pulled, the
   * driver's stream fills its small buffer (rowStreamHighWaterMark) and stops fetching result chunks.
   */
  async *stream(action: string, statement: SnowflakeStatement, batchSize: number): AsyncGenerator<unknown[][]> {
    const connection = await this.connection(action);
    this.stats.statements++;
    let rows: Readable;
    try {
      let release = () => undefined as void;
      const running = await this.submit((answered) => {
        release = answered;
        return connection.execute({
          sqlText: statement.sqlText,
          binds: statement.binds,
          streamResult: true,
          rowMode: 'array',
          // Errors arrive on the row stream as well; here the answer only releases the next statement.
          complete: () => answered(),
        }) as RowStatement;
      });
      rows = running.streamRows();
      // The driver answers before the first row; should it not, the stream's end still releases the next.
      rows.once('close', release);
    } catch (error) {
      throw this.fail(action, error);
    }
    let batch: unknown[][] = [];
    try {
      const iterator = rows[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<unknown>;
        try {
          next = await iterator.next();
        } catch (error) {
          throw this.fail(action, error);
        }
        if (next.done) break;
        batch.push(next.value as unknown[]);
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      // A caller that stops early (break) ends the statement's stream, so no more chunks are fetched.
      rows.destroy();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.dropSession();
  }

  private closedError(): FeaturegraphError {
    return new FeaturegraphError(this.options.unavailableCode, `${this.options.subject} is closed`);
  }

  /**
   * Checks that the server accepts connections (a TCP handshake, no statement: a health probe must not
   * queue behind a long statement of this session, nor cost warehouse time).
   */
  async checkReachable(action: string): Promise<void> {
    if (this.closed) throw this.closedError();
    const { host, port } = this.endpoint;
    try {
      await reachable(host, port, this.options.connectTimeoutMs);
    } catch (error) {
      void this.dropSession();
      const reason = (error as { code?: unknown }).code ?? (error as Error).message;
      throw new SnowflakeError(this.options.unavailableCode, `${this.options.subject}: ${action} failed: cannot reach ${host}:${port} (${String(reason)})`, { retriable: true, cause: error });
    }
  }

  /** The shared session; logs in on first use and after a connection-level failure. */
  private async connection(action: string): Promise<Connection> {
    // The driver retries an unanswered query for over a minute; checking that the server accepts
    // connections first makes an outage fail in milliseconds instead (a TCP handshake per statement).
    await this.checkReachable(action);
    if (this.session === null) {
      const pending = this.login();
      this.session = pending;
      pending.catch(() => {
        if (this.session === pending) this.session = null;
      });
    }
    try {
      return await this.session;
    } catch (error) {
      throw this.fail(`${action} (login)`, error);
    }
  }

  private async login(): Promise<Connection> {
    const snowflake = await loadDriver();
    for (const secret of this.secrets) driverSecrets.add(secret);
    const s = this.options.settings;
    const options: ConnectionOptions = {
      account: s.account,
      username: s.username,
      database: s.database,
      schema: s.schema,
      ...(s.warehouse === undefined ? {} : { warehouse: s.warehouse }),
      ...(s.role === undefined ? {} : { role: s.role }),
      ...(s.host === undefined ? {} : { host: s.host }),
      ...(s.port === undefined ? {} : { port: s.port }),
      ...(s.protocol === undefined ? {} : { protocol: s.protocol }),
      ...(s.password !== undefined
        ? { password: s.password }
        : { authenticator: 'SNOWFLAKE_JWT', privateKey: s.privateKey, ...(s.privateKeyPass === undefined ? {} : { privateKeyPass: s.privateKeyPass }) }),
      // The driver's own retry of a login request, inside the connect call; waiting for a server that is
      // down goes by schema/backoff.ts (gateway/history.ts) or the scheduler's retries.
      sfRetryMaxLoginRetries: this.options.loginRetries,
      ...(this.options.requestTimeoutMs === undefined ? {} : { timeout: this.options.requestTimeoutMs }),
    };
    const connection = snowflake.createConnection(options);
    await new Promise<void>((resolve, reject) => {
      connection.connect((error?: unknown) => (error ? reject(error) : resolve()));
    });
    if (this.closed) {
      await destroy(connection);
      throw this.closedError();
    }
    this.stats.logins++;
    return connection;
  }

  private async dropSession(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session === null) return;
    const connection = await session.catch(() => null);
    if (connection) await destroy(connection);
  }

  /**
   * Sends statements of this session one at a time: each waits until the one before has its first
   * answer (its result, or the first page of a large one), not until its rows are consumed. fakesnow
   * refuses a second call on a busy session ("connection is busy", 002002); Snowflake would accept it,
   * and a session rarely has two statements in flight anyway.
   */
  private async submit<T>(send: (answered: () => void) => T): Promise<T> {
    const previous = this.submitted;
    let answered!: () => void;
    this.submitted = new Promise<void>((resolve) => {
      answered = resolve;
    });
    await previous;
    try {
      return send(answered);
    } catch (error) {
      answered();
      throw error;
    }
  }
}

function destroy(connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    try {
      connection.destroy(() => resolve());
    } catch {
      resolve();
    }
  });
}
