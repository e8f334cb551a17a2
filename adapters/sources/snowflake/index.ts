// The row source on a Snowflake table or query (snowflake-sdk), read incrementally by event time:
// rows with eventTime in (since, until], ordered by event time, streamed from the driver and handed
// over in bounded batches. One connection (session) is reused for every statement and replaced after a
// connection-level failure. Credentials come from config or the environment and never reach a message.
import { connect as tcpConnect } from 'node:net';
import type { Readable } from 'node:stream';
import type * as SnowflakeSdk from 'snowflake-sdk';
import type { Connection, ConnectionOptions, RowStatement } from 'snowflake-sdk';
import { ConfigError, FeaturegraphError } from '../../../schema/errors.js';
import type { BatchSourceDefinition } from '../../../schema/types.js';
import type { RowReadOptions, RowSource, SourceRow } from '../types.js';
import { needsReconnect, redact, SnowflakeSourceError, wrapDriverError } from './errors.js';
import {
  eventTimeKindOf,
  keysStatement,
  normalizeValue,
  probeStatement,
  quoteTableName,
  readStatement,
  subquery,
  toEpochMs,
  validateIdentifier,
  type EventTimeKind,
  type ReadStatement,
} from './sql.js';

export { SnowflakeSourceError } from './errors.js';

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

export interface SnowflakeRowSourceOptions {
  connection: SnowflakeConnectionSettings;
  definition: BatchSourceDefinition;
  /** Rows per batch handed to the caller (default 1000, at most 100,000). */
  batchSize?: number;
  /** Unit of a numeric event-time column (epoch); timestamp and date columns need none. Default milliseconds. */
  epochUnit?: 'milliseconds' | 'seconds';
  /**
   * Bound on reaching the server: the TCP check before each statement and each login request
   * (default 5000 ms). The driver itself retries a query for over a minute when the server is gone.
   */
  connectTimeoutMs?: number;
  /** Login attempts after the first one fails (default 1). */
  loginRetries?: number;
  /** The driver's per-request timeout (default 90,000 ms, the driver's own). */
  requestTimeoutMs?: number;
}

export interface SnowflakeSourceStats {
  /** Successful logins; one per source unless a failure forced a new session. */
  logins: number;
  statements: number;
  /** Rows without a key: they name no entity and are left out. */
  skippedRows: number;
}

type SnowflakeModule = typeof SnowflakeSdk;

const driverSecrets = new Set<string>();
let driverLog: ((message: string) => void) | null = null;
let driverPromise: Promise<SnowflakeModule> | null = null;

/**
 * Where the driver's own error messages go (default: nowhere; every failure reaches the caller as a typed
 * error). Messages are scrubbed of every secret a source was given before the sink sees them.
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

function nonEmptyString(where: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`${where} must be a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

function integerIn(where: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${where} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks the connection settings; secrets are checked for presence only and never echoed. */
function validateConnection(settings: unknown): SnowflakeConnectionSettings {
  const where = 'snowflake source: connection';
  if (typeof settings !== 'object' || settings === null) throw new ConfigError(`${where} must be an object with account, username, password or privateKey, database, schema`);
  const s = settings as Record<string, unknown>;
  for (const field of ['account', 'username', 'database', 'schema'] as const) nonEmptyString(`${where}.${field}`, s[field]);
  for (const field of ['warehouse', 'role', 'host'] as const) if (s[field] !== undefined) nonEmptyString(`${where}.${field}`, s[field]);
  if (s.port !== undefined) integerIn(`${where}.port`, s.port, 1, 65535, 0);
  if (s.protocol !== undefined && s.protocol !== 'http' && s.protocol !== 'https') throw new ConfigError(`${where}.protocol must be "http" or "https", got ${JSON.stringify(s.protocol)}`);
  const hasPassword = s.password !== undefined;
  const hasKey = s.privateKey !== undefined;
  if (hasPassword === hasKey) throw new ConfigError(`${where} needs exactly one of password or privateKey (got ${hasPassword ? 'both' : 'neither'})`);
  if (hasPassword && (typeof s.password !== 'string' || s.password === '')) throw new ConfigError(`${where}.password must be a non-empty string`);
  if (hasKey && (typeof s.privateKey !== 'string' || !s.privateKey.includes('PRIVATE KEY'))) throw new ConfigError(`${where}.privateKey must be a PEM private key ("-----BEGIN PRIVATE KEY-----...")`);
  if (s.privateKeyPass !== undefined && typeof s.privateKeyPass !== 'string') throw new ConfigError(`${where}.privateKeyPass must be a string`);
  return settings as SnowflakeConnectionSettings;
}

/**
 * Connection settings from the environment: FEATUREGRAPH_SNOWFLAKE_ACCOUNT, _USER, _PASSWORD or
 * _PRIVATE_KEY (PEM; `\n` escapes allowed) with optional _PRIVATE_KEY_PASSPHRASE, _DATABASE, _SCHEMA,
 * _WAREHOUSE, _ROLE, and _HOST with _PORT and _PROTOCOL for a non-default endpoint.
 */
export function snowflakeConnectionFromEnv(env: NodeJS.ProcessEnv = process.env): SnowflakeConnectionSettings {
  const read = (name: string) => {
    const value = env[`FEATUREGRAPH_SNOWFLAKE_${name}`];
    return value === undefined || value === '' ? undefined : value;
  };
  const required = (name: string) => {
    const value = read(name);
    if (value === undefined) throw new ConfigError(`FEATUREGRAPH_SNOWFLAKE_${name} is not set (the Snowflake source needs ACCOUNT, USER, PASSWORD or PRIVATE_KEY, DATABASE, SCHEMA)`);
    return value;
  };
  const host = read('HOST');
  const portText = host === undefined ? undefined : read('PORT');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new ConfigError(`FEATUREGRAPH_SNOWFLAKE_PORT must be a port number, got ${JSON.stringify(portText)}`);
  const protocol = host === undefined ? undefined : read('PROTOCOL');
  if (protocol !== undefined && protocol !== 'http' && protocol !== 'https') throw new ConfigError(`FEATUREGRAPH_SNOWFLAKE_PROTOCOL must be http or https, got ${JSON.stringify(protocol)}`);
  const common: SnowflakeConnectionCommon = {
    account: required('ACCOUNT'),
    username: required('USER'),
    database: required('DATABASE'),
    schema: required('SCHEMA'),
    ...(read('WAREHOUSE') === undefined ? {} : { warehouse: read('WAREHOUSE') }),
    ...(read('ROLE') === undefined ? {} : { role: read('ROLE') }),
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { port }),
    ...(protocol === undefined ? {} : { protocol }),
  };
  const privateKey = read('PRIVATE_KEY');
  if (privateKey !== undefined) {
    const pass = read('PRIVATE_KEY_PASSPHRASE');
    return { ...common, privateKey: privateKey.replaceAll('\\n', '\n'), ...(pass === undefined ? {} : { privateKeyPass: pass }) };
  }
  const password = read('PASSWORD');
  if (password === undefined) throw new ConfigError('FEATUREGRAPH_SNOWFLAKE_PASSWORD or FEATUREGRAPH_SNOWFLAKE_PRIVATE_KEY must be set');
  return { ...common, password };
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

export class SnowflakeRowSource implements RowSource {
  readonly name: string;
  readonly stats: SnowflakeSourceStats = { logins: 0, statements: 0, skippedRows: 0 };
  private readonly settings: SnowflakeConnectionSettings;
  private readonly definition: BatchSourceDefinition;
  private readonly relation: string;
  private readonly batchSize: number;
  private readonly epochUnit: 'milliseconds' | 'seconds';
  private readonly connectTimeoutMs: number;
  private readonly loginRetries: number;
  private readonly requestTimeoutMs: number | undefined;
  private readonly secrets: string[];
  private readonly endpoint: { host: string; port: number };
  private session: Promise<Connection> | null = null;
  private kind: EventTimeKind | null = null;
  private closed = false;
  /** Settles when the statement submitted last has its first answer; see submit(). */
  private submitted: Promise<void> = Promise.resolve();

  constructor(options: SnowflakeRowSourceOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('snowflake source: options must be an object with connection and definition');
    const definition = options.definition;
    if (typeof definition !== 'object' || definition === null || definition.kind !== 'batch') {
      throw new ConfigError(`snowflake source: definition must be a batch source (snowflakeTable(...)), got ${JSON.stringify((definition as { kind?: unknown } | null)?.kind ?? definition)}`);
    }
    this.name = nonEmptyString('snowflake source: definition.name', definition.name);
    const where = `snowflake source "${this.name}"`;
    validateIdentifier(`${where}: keyColumn`, definition.keyColumn);
    validateIdentifier(`${where}: eventTimeColumn`, definition.eventTimeColumn);
    if ((definition.table === undefined) === (definition.query === undefined)) throw new ConfigError(`${where}: the definition takes exactly one of table or query`);
    this.relation = definition.table !== undefined ? quoteTableName(`${where}: table`, definition.table) : subquery(`${where}: query`, definition.query);
    this.definition = definition;
    this.settings = validateConnection(options.connection);
    this.batchSize = integerIn(`${where}: batchSize`, options.batchSize, 1, 100_000, 1000);
    if (options.epochUnit !== undefined && options.epochUnit !== 'milliseconds' && options.epochUnit !== 'seconds') {
      throw new ConfigError(`${where}: epochUnit must be "milliseconds" or "seconds", got ${JSON.stringify(options.epochUnit)}`);
    }
    this.epochUnit = options.epochUnit ?? 'milliseconds';
    this.connectTimeoutMs = integerIn(`${where}: connectTimeoutMs`, options.connectTimeoutMs, 1, 600_000, 5000);
    this.loginRetries = integerIn(`${where}: loginRetries`, options.loginRetries, 0, 20, 1);
    this.requestTimeoutMs = options.requestTimeoutMs === undefined ? undefined : integerIn(`${where}: requestTimeoutMs`, options.requestTimeoutMs, 1, 3_600_000, 0);
    const s = this.settings;
    this.secrets = [s.password, s.privateKey, s.privateKeyPass].filter((v): v is string => typeof v === 'string' && v !== '');
    const protocol = s.protocol ?? 'https';
    this.endpoint = { host: s.host ?? `${s.account}.snowflakecomputing.com`, port: s.port ?? (protocol === 'http' ? 80 : 443) };
  }

  async *read(options: RowReadOptions): AsyncIterable<SourceRow[]> {
    const { since, until } = options;
    if (since !== null && !Number.isFinite(since)) throw new TypeError(`snowflake source "${this.name}": since must be null or a finite epoch ms, got ${String(since)}`);
    if (!Number.isFinite(until)) throw new TypeError(`snowflake source "${this.name}": until must be a finite epoch ms, got ${String(until)}`);
    if (!Array.isArray(options.columns)) throw new TypeError(`snowflake source "${this.name}": columns must be an array of column names`);
    const columns = options.columns.map((c, i) => validateIdentifier(`snowflake source "${this.name}": columns[${i}]`, c));
    if (since !== null && since >= until) return;
    const kind = await this.eventTimeKind();
    const statement = readStatement(this.relation, this.definition.keyColumn, this.definition.eventTimeColumn, columns, kind, since, until);
    for await (const raw of this.stream('read', statement)) {
      const batch: SourceRow[] = [];
      for (const row of raw) {
        const key = row[0];
        const eventTime = toEpochMs(row[1], this.epochUnit);
        if (key === null || key === undefined || eventTime === null) {
          this.stats.skippedRows++;
          continue;
        }
        const values: Record<string, unknown> = {};
        columns.forEach((column, i) => {
          values[column] = normalizeValue(row[i + 2]);
        });
        batch.push({ key: String(normalizeValue(key)), eventTime, values });
      }
      if (batch.length > 0) yield batch;
    }
  }

  async *listKeys(): AsyncIterable<string[]> {
    for await (const raw of this.stream('listKeys', keysStatement(this.relation, this.definition.keyColumn))) {
      yield raw.map((row) => String(normalizeValue(row[0])));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.dropSession();
  }

  private checkOpen(): void {
    if (this.closed) throw new FeaturegraphError('SOURCE_UNAVAILABLE', `snowflake source "${this.name}" is closed`);
  }

  private fail(action: string, error: unknown): SnowflakeSourceError {
    const wrapped = wrapDriverError(this.name, action, error, this.secrets);
    // A dead session or an unreachable server: the next statement logs in again instead of reusing it.
    if (needsReconnect(error)) void this.dropSession();
    return wrapped;
  }

  /** The shared session; logs in on first use and after a connection-level failure. */
  private async connection(action: string): Promise<Connection> {
    this.checkOpen();
    const { host, port } = this.endpoint;
    try {
      // The driver retries an unanswered query for over a minute; checking that the server accepts
      // connections first makes an outage fail in milliseconds instead (a TCP handshake per statement).
      await reachable(host, port, this.connectTimeoutMs);
    } catch (error) {
      void this.dropSession();
      const reason = (error as { code?: unknown }).code ?? (error as Error).message;
      throw new SnowflakeSourceError('SOURCE_UNAVAILABLE', `snowflake source "${this.name}": ${action} failed: cannot reach ${host}:${port} (${String(reason)})`, { retriable: true, cause: error });
    }
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
    const s = this.settings;
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
      sfRetryMaxLoginRetries: this.loginRetries,
      ...(this.requestTimeoutMs === undefined ? {} : { timeout: this.requestTimeoutMs }),
    };
    const connection = snowflake.createConnection(options);
    await new Promise<void>((resolve, reject) => {
      connection.connect((error?: unknown) => (error ? reject(error) : resolve()));
    });
    if (this.closed) {
      await destroy(connection);
      throw new FeaturegraphError('SOURCE_UNAVAILABLE', `snowflake source "${this.name}" is closed`);
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

  /** The event-time column's kind, from its type (one `LIMIT 0` statement per source instance). */
  private async eventTimeKind(): Promise<EventTimeKind> {
    if (this.kind !== null) return this.kind;
    const connection = await this.connection('read');
    const { sqlText } = probeStatement(this.relation, this.definition.eventTimeColumn);
    this.stats.statements++;
    const columnType = await new Promise<string>((resolve, reject) => {
      void this.submit((answered) =>
        connection.execute({
          sqlText,
          complete: (error, statement) => {
            answered();
            if (error) return reject(this.fail('read (event-time column type)', error));
            const column = (statement as RowStatement).getColumns()?.[0];
            resolve(column ? column.getType() : 'unknown');
          },
        }),
      ).catch(reject);
    });
    const kind = eventTimeKindOf(columnType, this.epochUnit);
    if (kind === null) {
      throw new ConfigError(
        `snowflake source "${this.name}": event-time column "${this.definition.eventTimeColumn}" is ${columnType.toUpperCase()}; it must be TIMESTAMP_NTZ, TIMESTAMP_LTZ, TIMESTAMP_TZ, DATE or a number (epoch ${this.epochUnit}): cast it in the source's query`,
      );
    }
    this.kind = kind;
    return kind;
  }

  /**
   * Sends statements of this source one at a time: each waits until the one before has its first
   * answer (its result, or the first page of a large one), not until its rows are consumed. fakesnow
   * refuses a second call on a busy session ("connection is busy", 002002); Snowflake would accept it,
   * and a source rarely has two statements in flight anyway.
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

  /**
   * Streams a statement's rows (as arrays, in select order) in batches of at most batchSize. The rows
   * are pulled one by one with async iteration: while the caller works on a batch nothing is pulled, the
   * driver's stream fills its small buffer (rowStreamHighWaterMark) and stops fetching result chunks.
   */
  private async *stream(action: string, statement: ReadStatement): AsyncGenerator<unknown[][]> {
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
        if (batch.length >= this.batchSize) {
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
