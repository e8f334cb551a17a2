// The row source on a Snowflake table or query (snowflake-sdk), read incrementally by event time:
// rows with eventTime in (since, until], ordered by event time, streamed from the driver and handed
// over in bounded batches. One connection (session) is reused for every statement and replaced after a
// connection-level failure. Credentials come from config or the environment and never reach a message.
import { ConfigError } from '../../../schema/errors.js';
import type { BatchSourceDefinition } from '../../../schema/types.js';
import type { RowReadOptions, RowSource, SourceRow } from '../types.js';
import { OptionCheck } from '../../common/options.js';
import { SnowflakeSession, validateConnection, type SnowflakeConnectionSettings, type SnowflakeStatement } from './client.js';
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
} from './sql.js';

export { SnowflakeSourceError } from './errors.js';
export { setSnowflakeDriverLog, snowflakeConnectionFromConfig, snowflakeConnectionFromEnv, type SnowflakeConnectionSettings } from './client.js';

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

export class SnowflakeRowSource implements RowSource {
  readonly name: string;
  private readonly definition: BatchSourceDefinition;
  private readonly relation: string;
  private readonly batchSize: number;
  private readonly epochUnit: 'milliseconds' | 'seconds';
  private readonly session: SnowflakeSession;
  private skippedRows = 0;
  private kind: EventTimeKind | null = null;

  constructor(options: SnowflakeRowSourceOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('snowflake source: options must be an object with connection and definition');
    const check = new OptionCheck();
    const { definition, name, where } = check.sourceDefinition<BatchSourceDefinition>('snowflake source', options.definition, 'batch', 'snowflakeTable');
    this.name = name;
    let relation = '';
    if (definition) {
      check.take(() => validateIdentifier(`${where}: keyColumn`, definition.keyColumn), '');
      check.take(() => validateIdentifier(`${where}: eventTimeColumn`, definition.eventTimeColumn), '');
      if ((definition.table === undefined) === (definition.query === undefined)) check.refuse(`${where}: the definition takes exactly one of table or query`);
      else relation = check.take(() => (definition.table !== undefined ? quoteTableName(`${where}: table`, definition.table) : subquery(`${where}: query`, definition.query)), '');
    }
    const settings = validateConnection(check, 'snowflake source: connection', options.connection);
    this.batchSize = check.integerIn(`${where}: batchSize`, options.batchSize, 1, 100_000, 1000);
    this.epochUnit = check.oneOf(`${where}: epochUnit`, options.epochUnit, ['milliseconds', 'seconds'], 'milliseconds');
    const requestTimeoutMs = options.requestTimeoutMs === undefined ? undefined : check.integerIn(`${where}: requestTimeoutMs`, options.requestTimeoutMs, 1, 3_600_000);
    const connectTimeoutMs = check.integerIn(`${where}: connectTimeoutMs`, options.connectTimeoutMs, 1, 600_000, 5000);
    const loginRetries = check.integerIn(`${where}: loginRetries`, options.loginRetries, 0, 20, 1);
    check.done();
    this.definition = definition as BatchSourceDefinition;
    this.relation = relation;
    this.session = new SnowflakeSession({
      settings,
      subject: where,
      unavailableCode: 'SOURCE_UNAVAILABLE',
      connectTimeoutMs,
      loginRetries,
      ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
    });
  }

  get stats(): SnowflakeSourceStats {
    return { ...this.session.stats, skippedRows: this.skippedRows };
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
          this.skippedRows++;
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
    await this.session.close();
  }

  /** The event-time column's kind, from its type (one `LIMIT 0` statement per source instance). */
  private async eventTimeKind(): Promise<EventTimeKind> {
    if (this.kind !== null) return this.kind;
    const { sqlText } = probeStatement(this.relation, this.definition.eventTimeColumn);
    const columnType = await this.session.firstColumnType('read', sqlText, 'event-time column type');
    const kind = eventTimeKindOf(columnType, this.epochUnit);
    if (kind === null) {
      throw new ConfigError(
        `snowflake source "${this.name}": event-time column "${this.definition.eventTimeColumn}" is ${columnType.toUpperCase()}; it must be TIMESTAMP_NTZ, TIMESTAMP_LTZ, TIMESTAMP_TZ, DATE or a number (epoch ${this.epochUnit}): cast it in the source's query`,
      );
    }
    this.kind = kind;
    return kind;
  }

  private stream(action: string, statement: SnowflakeStatement): AsyncGenerator<unknown[][]> {
    return this.session.stream(action, statement, this.batchSize);
  }
}
