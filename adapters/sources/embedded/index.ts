// The embedded SQL source: a local DuckDB database behind the RowSource interface, which the demo and
// the unit tests use in place of a warehouse (Snowflake) table or query.
//
// Why DuckDB and not SQLite: a read is `since < t <= until ORDER BY t`. SQLite streams in event-time
// order only through an index, one random table lookup per row, slower as the table outgrows its page
// cache. DuckDB sorts (vectorized, spilling past memory_limit) and hands over 2,048-row chunks, several
// times faster (bench/batch/README.md, "Why the embedded source is DuckDB"). Unbounded, its memory
// grows with the table (buffer pool + sort); with memory_limit it stays flat, so the limit is set by
// default (EmbeddedSqlOptions), with a temp directory to spill to. SQLite starts from less memory, but
// a flat peak at any table size and the faster read are what the source needs.
//
// Values are always bound (since/until as parameters of the event-time column's own type) or appended
// (insertRows); identifiers (table, columns) are checked and double-quoted. A read runs on its own
// connection: a streaming result holds its connection, and other statements on it would cancel it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, StatementType, type DuckDBConnection, type DuckDBDataChunk, type DuckDBResult, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { BatchSourceDefinition } from '../../../schema/types.js';
import { ConfigError } from '../../../schema/errors.js';
import { OptionCheck, shown } from '../../common/options.js';
import type { RowReadOptions, RowSource, SourceRow } from '../types.js';
import { EmbeddedSqlError, quoteIdentifier, quoteTableName, splitTableName } from './sql.js';
import { appenderFor, converterFor, eventTimeBound, eventTimeReader, toParameter, type PlainValue, type SqlValue, type ValueConverter } from './values.js';

export { EmbeddedSqlError, quoteIdentifier, quoteTableName } from './sql.js';
export type { PlainValue, SqlValue } from './values.js';

export interface EmbeddedSqlOptions {
  /**
   * DuckDB's memory_limit. Bounded by default so that a read of any size stays flat (the sort spills
   * to `tempDirectory`); 128MB leaves the sort the unspillable room DuckDB needs under load, where a
   * smaller limit has run out of memory (bench/batch/README.md).
   */
  memoryLimit?: string;
  /** DuckDB worker threads (default: DuckDB's, one per core). */
  threads?: number;
  /** Where DuckDB spills; default a fresh folder under the OS temp dir, removed on close. */
  tempDirectory?: string;
}

export interface EmbeddedSourceOptions {
  /** Rows per yielded batch (default 2,048: one DuckDB vector). */
  batchSize?: number;
}

/** A row as exec/query return it: column name -> plain value. */
export type EmbeddedRecord = Record<string, PlainValue>;

const memoryLimitPattern = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;

/** A DuckDB memory_limit (it goes into the database's settings as written); `fallback` when absent. */
export function memoryLimitOption(check: OptionCheck, name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && memoryLimitPattern.test(value)) return value;
  check.refuse(`${name} must be a size such as 512MB or 2GB, got ${shown(value)}`);
  return fallback;
}

/** Checks the options of EmbeddedSql.open into `check`, their names after `where` ("embedded database"); returns the memory limit. */
export function checkSqlOptions(check: OptionCheck, where: string, options: EmbeddedSqlOptions): string {
  const memoryLimit = memoryLimitOption(check, `${where}: memoryLimit`, options.memoryLimit, '128MB');
  if (options.threads !== undefined) check.integerIn(`${where}: threads`, options.threads, 1, 1024);
  if (options.tempDirectory !== undefined) check.nonEmptyString(`${where}: tempDirectory`, options.tempDirectory);
  return memoryLimit;
}

/** Serializes work on one connection (DuckDB runs one statement at a time per connection). */
class Queue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A source's failure as an EmbeddedSqlError that names the source (and the knob, when out of memory). */
function sourceError(source: string, what: string, error: unknown): EmbeddedSqlError {
  if (error instanceof EmbeddedSqlError) return error;
  const hint = /out of memory/i.test(describe(error)) ? ' (raise EmbeddedSql.open\'s memoryLimit, default 128MB)' : '';
  return new EmbeddedSqlError(`source ${source}: ${what}: ${describe(error)}${hint}`, { cause: error });
}

export class EmbeddedSql {
  private readonly queue = new Queue();
  private closed = false;
  private readonly sources = new Set<EmbeddedRowSource>();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly main: DuckDBConnection,
    readonly path: string,
    private readonly ownedTempDirectory: string | null,
  ) {}

  /** Opens (creating if needed) a database file, or an in-memory database with ':memory:'. */
  static async open(path = ':memory:', options: EmbeddedSqlOptions = {}): Promise<EmbeddedSql> {
    if (typeof options !== 'object' || options === null) throw new ConfigError(`embedded database: options must be an object, got ${shown(options)}`);
    const check = new OptionCheck();
    check.nonEmptyString('embedded database: path', path);
    const memoryLimit = checkSqlOptions(check, 'embedded database', options);
    check.done();
    const owned = options.tempDirectory === undefined ? mkdtempSync(join(tmpdir(), 'featuregraph-duckdb-')) : null;
    const config: Record<string, string> = {
      memory_limit: memoryLimit,
      temp_directory: options.tempDirectory ?? (owned as string),
    };
    if (options.threads !== undefined) config.threads = String(options.threads);
    try {
      const instance = await DuckDBInstance.create(path, config);
      const main = await instance.connect();
      return new EmbeddedSql(instance, main, path, owned);
    } catch (error) {
      if (owned) rmSync(owned, { recursive: true, force: true });
      throw new EmbeddedSqlError(`cannot open embedded database ${path}: ${describe(error)}`, { cause: error });
    }
  }

  private check(): void {
    if (this.closed) throw new EmbeddedSqlError(`embedded database ${this.path} is closed`);
  }

  /** Runs SQL (several statements allowed when there are no parameters). */
  async exec(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    this.check();
    await this.queue.run(async () => {
      await this.main.run(sql, params.length > 0 ? params.map(toParameter) : undefined);
    });
  }

  /** Runs one query and returns all its rows: for small results (tests, the demo), not for tables. */
  async query(sql: string, params: readonly SqlValue[] = []): Promise<EmbeddedRecord[]> {
    this.check();
    return this.queue.run(async () => {
      const result = await this.main.run(sql, params.length > 0 ? params.map(toParameter) : undefined);
      const names = result.columnNames();
      const converters = result.columnTypes().map(converterFor);
      const out: EmbeddedRecord[] = [];
      for (const row of await result.getRows()) {
        const record: EmbeddedRecord = {};
        names.forEach((name, i) => {
          record[name] = (converters[i] as ValueConverter)(row[i] ?? null);
        });
        out.push(record);
      }
      return out;
    });
  }

  /**
   * Inserts rows through DuckDB's appender (the bulk path: no SQL per row). Each row maps column
   * names to values; a column a row leaves out gets null. Numbers, strings, booleans, bigints, Dates
   * (for TIMESTAMP columns; epoch ms and ISO strings are accepted too) and arrays (LIST columns).
   */
  async insertRows(table: string, rows: readonly Readonly<Record<string, SqlValue>>[]): Promise<number> {
    this.check();
    if (rows.length === 0) return 0;
    const { catalog, schema, table: name } = splitTableName(table);
    return this.queue.run(async () => {
      const shape = await this.main.run(`SELECT * FROM ${quoteTableName(table)} LIMIT 0`);
      const columns = shape.columnNames();
      const known = new Set(columns);
      const appenders = shape.columnTypes().map(appenderFor);
      for (const row of rows) {
        for (const column of Object.keys(row)) {
          if (!known.has(column)) throw new EmbeddedSqlError(`table ${table} has no column ${JSON.stringify(column)}`);
        }
      }
      // All or nothing: a value that fails to convert half-way through must not leave the rows before it.
      await this.main.run('BEGIN TRANSACTION');
      const appender = await this.main.createAppender(name, schema, catalog);
      try {
        for (const row of rows) {
          for (let c = 0; c < columns.length; c++) {
            (appenders[c] as (typeof appenders)[number])(appender, row[columns[c] as string]);
          }
          appender.endRow();
        }
        appender.closeSync();
        await this.main.run('COMMIT');
      } catch (error) {
        try {
          appender.closeSync();
        } catch {
          // A half-appended row makes close fail; the rollback below discards it anyway.
        }
        await this.main.run('ROLLBACK');
        throw new EmbeddedSqlError(`insert into ${table}: ${describe(error)}`, { cause: error });
      }
      return rows.length;
    });
  }

  /** A RowSource over a table or query of this database. */
  source(definition: BatchSourceDefinition, options: EmbeddedSourceOptions = {}): EmbeddedRowSource {
    this.check();
    const source = new EmbeddedRowSource(this, definition, options, () => this.sources.delete(source));
    this.sources.add(source);
    return source;
  }

  /** A fresh connection, for one streamed read (internal to this module's sources). */
  async connect(): Promise<DuckDBConnection> {
    this.check();
    return this.instance.connect();
  }

  /** Closes every source's open reads, then the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.sources].map((source) => source.close()));
    this.closed = true;
    await this.queue.run(async () => {
      this.main.closeSync();
      this.instance.closeSync();
    });
    if (this.ownedTempDirectory) rmSync(this.ownedTempDirectory, { recursive: true, force: true });
  }
}

interface ReadPlan {
  sql: string;
  values: DuckDBValue[];
  types: DuckDBType[];
}

export class EmbeddedRowSource implements RowSource {
  readonly name: string;
  private readonly relation: string;
  private readonly keyColumn: string;
  private readonly eventTimeColumn: string;
  private readonly batchSize: number;
  private readonly open = new Set<DuckDBConnection>();
  private validated: Promise<void> | null = null;

  constructor(
    private readonly db: EmbeddedSql,
    private readonly definition: BatchSourceDefinition,
    options: EmbeddedSourceOptions,
    private readonly onClose: () => void,
  ) {
    const check = new OptionCheck();
    const { definition: def, name, where } = check.sourceDefinition<BatchSourceDefinition>('embedded source', definition, 'batch', 'snowflakeTable');
    this.name = name;
    // A name the definition gets wrong is the definition's problem (INVALID_CONFIG), not the database's.
    const quoted = (what: string, value: unknown, quote: (name: string) => string): string => {
      if (typeof value !== 'string') {
        check.refuse(`${where}: ${what} must be a name, got ${shown(value)}`);
        return '';
      }
      try {
        return quote(value);
      } catch (error) {
        if (!(error instanceof EmbeddedSqlError)) throw error;
        check.refuse(`${where}: ${error.message}`);
        return '';
      }
    };
    this.relation = '';
    this.keyColumn = '';
    this.eventTimeColumn = '';
    if (def) {
      if ((def.table === undefined) === (def.query === undefined)) check.refuse(`${where}: the definition takes exactly one of table or query`);
      else if (def.table !== undefined) this.relation = quoted('table', def.table, quoteTableName);
      else if (typeof def.query !== 'string' || def.query.trim() === '') check.refuse(`${where}: query must be a SELECT statement, got ${shown(def.query)}`);
      else this.relation = `(${def.query}) AS "fg_source"`;
      this.keyColumn = quoted('keyColumn', def.keyColumn, (name) => quoteIdentifier(name, 'keyColumn'));
      this.eventTimeColumn = quoted('eventTimeColumn', def.eventTimeColumn, (name) => quoteIdentifier(name, 'eventTimeColumn'));
    }
    this.batchSize = check.integerIn(`${where}: batchSize`, (options as EmbeddedSourceOptions | undefined)?.batchSize, 1, 100_000, 2048);
    check.done();
  }

  /** A `query` must be exactly one SELECT: it is wrapped as a subquery, never run as given. */
  private async validate(connection: DuckDBConnection): Promise<void> {
    const query = this.definition.query;
    if (query === undefined) return;
    const extracted = await connection.extractStatements(query);
    if (extracted.count !== 1) throw new EmbeddedSqlError(`source ${this.name}: query must be one SELECT statement, it has ${extracted.count}`);
    const prepared = await extracted.prepare(0);
    try {
      if (prepared.statementType !== StatementType.SELECT) throw new EmbeddedSqlError(`source ${this.name}: query must be a SELECT`);
    } finally {
      prepared.destroySync();
    }
  }

  private async connection(): Promise<DuckDBConnection> {
    const connection = await this.db.connect();
    this.open.add(connection);
    try {
      this.validated ??= this.validate(connection);
      await this.validated;
    } catch (error) {
      this.validated = null;
      this.release(connection);
      throw sourceError(this.name, 'query', error);
    }
    return connection;
  }

  private release(connection: DuckDBConnection): void {
    if (this.open.delete(connection)) connection.closeSync();
  }

  private async plan(connection: DuckDBConnection, options: RowReadOptions): Promise<{ plan: ReadPlan; eventTimeType: DuckDBType }> {
    // The event-time column's type decides how since/until are bound (see eventTimeBound).
    const shape = await connection.run(`SELECT ${this.eventTimeColumn} FROM ${this.relation} LIMIT 0`);
    const eventTimeType = shape.columnType(0);
    eventTimeReader(eventTimeType);
    const columns = options.columns.map((c) => quoteIdentifier(c, `source ${this.name}: column`));
    const where = [`${this.keyColumn} IS NOT NULL`, `${this.eventTimeColumn} IS NOT NULL`];
    const values: DuckDBValue[] = [];
    const types: DuckDBType[] = [];
    const bind = (op: string, ms: number) => {
      const bound = eventTimeBound(eventTimeType, ms);
      values.push(bound.value);
      types.push(bound.type);
      where.push(`${this.eventTimeColumn} ${op} $${values.length}`);
    };
    if (options.since !== null) bind('>', options.since);
    bind('<=', options.until);
    const select = [this.keyColumn, this.eventTimeColumn, ...columns].join(', ');
    // Event time only: equal event times come in no set order. A second sort key (the entity key)
    // halved the read rate and ran a 4M-row sort out of a 64MB memory_limit.
    const sql = `SELECT ${select} FROM ${this.relation} WHERE ${where.join(' AND ')} ORDER BY ${this.eventTimeColumn}`;
    return { plan: { sql, values, types }, eventTimeType };
  }

  async *read(options: RowReadOptions): AsyncIterable<SourceRow[]> {
    const connection = await this.connection();
    try {
      let result: DuckDBResult;
      let eventTimeType: DuckDBType;
      try {
        const planned = await this.plan(connection, options);
        eventTimeType = planned.eventTimeType;
        result = await connection.stream(planned.plan.sql, planned.plan.values, planned.plan.types);
      } catch (error) {
        throw sourceError(this.name, 'read', error);
      }
      const toEventTime = eventTimeReader(eventTimeType);
      const types = result.columnTypes();
      const keyOf = converterFor(types[0] as DuckDBType);
      const converters = types.slice(2).map(converterFor);
      const names = options.columns;
      const width = names.length;
      let batch: SourceRow[] = [];
      for (;;) {
        let chunk: DuckDBDataChunk | null;
        try {
          chunk = await result.fetchChunk();
        } catch (error) {
          throw sourceError(this.name, 'read', error);
        }
        if (chunk === null || chunk.rowCount === 0) break;
        const count = chunk.rowCount;
        const vectors = chunk.getColumns();
        const keys = vectors[0] as DuckDBValue[];
        const times = vectors[1] as DuckDBValue[];
        for (let r = 0; r < count; r++) {
          const values: Record<string, unknown> = {};
          for (let c = 0; c < width; c++) {
            values[names[c] as string] = (converters[c] as ValueConverter)((vectors[c + 2] as DuckDBValue[])[r] ?? null);
          }
          batch.push({ key: String(keyOf(keys[r] ?? null)), eventTime: toEventTime(times[r] ?? null), values });
          if (batch.length === this.batchSize) {
            yield batch;
            batch = [];
          }
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      // Also when the consumer stops early: closing the connection ends the streaming query.
      this.release(connection);
    }
  }

  /** Every distinct non-null key, sorted, in batches. */
  async *listKeys(): AsyncIterable<string[]> {
    const connection = await this.connection();
    try {
      const result = await connection.stream(`SELECT DISTINCT ${this.keyColumn} FROM ${this.relation} WHERE ${this.keyColumn} IS NOT NULL ORDER BY 1`);
      const keyOf = converterFor(result.columnType(0));
      let batch: string[] = [];
      for (;;) {
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) break;
        for (const value of chunk.getColumns()[0] as DuckDBValue[]) {
          batch.push(String(keyOf(value)));
          if (batch.length === this.batchSize) {
            yield batch;
            batch = [];
          }
        }
      }
      if (batch.length > 0) yield batch;
    } catch (error) {
      throw sourceError(this.name, 'list keys', error);
    } finally {
      this.release(connection);
    }
  }

  /** Ends this source's open reads; the database stays open (its owner closes it). */
  async close(): Promise<void> {
    for (const connection of [...this.open]) this.release(connection);
    this.onClose();
  }
}

/** Opens a database and one source over it; closing the source closes the database. */
export async function openEmbeddedSource(path: string, definition: BatchSourceDefinition, options: EmbeddedSqlOptions & EmbeddedSourceOptions = {}): Promise<RowSource> {
  const db = await EmbeddedSql.open(path, options);
  const source = db.source(definition, options);
  return {
    name: source.name,
    read: (read) => source.read(read),
    listKeys: () => source.listKeys(),
    close: async () => {
      await source.close();
      await db.close();
    },
  };
}
