// The row source on a MongoDB collection (official driver), polled by an updated-at field: documents with
// updatedAt in (since, until], oldest first, streamed through cursors and handed over in bounded batches.
// Where the server has change streams, watch() follows them instead (deletes included); a server without
// them (FerretDB, a standalone mongod) refuses with UNSUPPORTED_CAPABILITY and callers keep polling.
import { MongoClient, type ChangeStream, type ChangeStreamDocument, type Collection, type Document, type FindCursor, type MongoClientOptions } from 'mongodb';
import { ConfigError, FeaturegraphError, UnsupportedCapabilityError } from '../../../schema/errors.js';
import type { DocumentSourceDefinition } from '../../../schema/types.js';
import type { RowReadOptions, RowSource, RowWatch, SourceRow, WatchOptions } from '../types.js';
import { OptionCheck, shown } from '../../common/options.js';
import { redact, urlSecrets } from '../../common/redact.js';
import { changeStreamUnsupportedCodes, wrapDriverError } from './errors.js';
import { epochMsOf, filterOnFullDocument, keyOf, normalizeValue, parseToken, projectionFor, serializeToken, validateFieldPath, valueAt } from './documents.js';

export { MongoSourceError } from './errors.js';

interface MongoSourceCommon {
  /** Database holding the definition's collection. */
  database: string;
  definition: DocumentSourceDefinition;
  /** Documents per batch handed to the caller, and per cursor round trip (default 1000, at most 100,000). */
  batchSize?: number;
  /** How long to wait for the change stream's next events before handing over a partial batch (default 1000 ms). */
  watchMaxAwaitMs?: number;
}

/**
 * Either a connection string (the source owns its client; credentials may sit in the URL or in
 * username/password, and never reach a message), or a client shared with other sources (not closed here).
 */
export type MongoRowSourceOptions = MongoSourceCommon &
  (
    | {
        url: string;
        username?: string;
        password?: string;
        /** Bound on finding a reachable server before an operation fails (default 5000 ms). */
        serverSelectionTimeoutMs?: number;
        connectTimeoutMs?: number;
        client?: undefined;
      }
    | { client: MongoClient; url?: undefined; username?: undefined; password?: undefined; serverSelectionTimeoutMs?: undefined; connectTimeoutMs?: undefined }
  );

export interface MongoSourceStats {
  /** Documents without a key or an updated-at: they name no entity or no instant and are left out. */
  skippedDocuments: number;
  /** Change events that could not be turned into a row (a delete whose key is not its _id, without pre-image). */
  unmappedChanges: number;
}

/** A running change-stream subscription. */
export interface MongoRowWatch extends RowWatch {
  /** Settles when the watch ends: resolves after stop(), rejects with the error that ended it otherwise. */
  readonly done: Promise<void>;
}

type UpdatedAtType = 'date' | 'number';

export class MongoRowSource implements RowSource {
  readonly name: string;
  readonly stats: MongoSourceStats = { skippedDocuments: 0, unmappedChanges: 0 };
  private readonly client: MongoClient;
  private readonly ownsClient: boolean;
  private readonly definition: DocumentSourceDefinition;
  private readonly databaseName: string;
  private readonly batchSize: number;
  private readonly watchMaxAwaitMs: number;
  private readonly secrets: string[];
  private readonly watches = new Set<{ stop(): Promise<void> }>();
  private closed = false;

  constructor(options: MongoRowSourceOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('mongodb source: options must be an object with url (or client), database and definition');
    const check = new OptionCheck();
    const { definition, name, where } = check.sourceDefinition<DocumentSourceDefinition>('mongodb source', options.definition, 'document', 'mongoCollection');
    this.name = name;
    if (definition) {
      if (typeof definition.collection !== 'string' || definition.collection === '' || definition.collection.includes('$') || definition.collection.startsWith('system.')) {
        check.refuse(`${where}: collection must be a collection name (no $, not system.*), got ${shown(definition.collection)}`);
      }
      check.take(() => validateFieldPath(`${where}: keyField`, definition.keyField), '');
      check.take(() => validateFieldPath(`${where}: updatedAtField`, definition.updatedAtField), '');
      if (definition.filter !== undefined && (typeof definition.filter !== 'object' || definition.filter === null || Array.isArray(definition.filter))) {
        check.refuse(`${where}: filter must be a query object like { active: true }, got ${shown(definition.filter)}`);
      }
    }
    if (typeof options.database !== 'string' || options.database === '' || /[/\\. "$]/.test(options.database)) {
      check.refuse(`${where}: database must be a database name (no / \\ . space " or $), got ${shown(options.database)}`);
    }
    this.batchSize = check.integerIn(`${where}: batchSize`, options.batchSize, 1, 100_000, 1000);
    this.watchMaxAwaitMs = check.integerIn(`${where}: watchMaxAwaitMs`, options.watchMaxAwaitMs, 1, 600_000, 1000);
    this.secrets = [];
    let client: MongoClient | null = null;
    if (options.client !== undefined) {
      if (!(options.client instanceof MongoClient)) check.refuse(`${where}: client must be a MongoClient, got ${shown(options.client)}`);
      else client = options.client;
      const unused = (['url', 'username', 'password', 'serverSelectionTimeoutMs', 'connectTimeoutMs'] as const).filter((option) => (options as unknown as Record<string, unknown>)[option] !== undefined);
      if (unused.length > 0) check.refuse(`${where}: a shared client has its own connection settings; ${unused.join(', ')} cannot be given with it`);
    } else {
      const url = check.connectionString(`${where}: url`, options.url, ['mongodb', 'mongodb+srv']);
      if (options.username !== undefined) check.nonEmptyString(`${where}: username`, options.username);
      if (options.password !== undefined && (typeof options.password !== 'string' || options.password === '')) check.refuse(`${where}: password must be a non-empty string`);
      if (typeof options.password === 'string' && options.password !== '') this.secrets.push(options.password);
      this.secrets.push(...urlSecrets(url));
      const clientOptions: MongoClientOptions = {
        serverSelectionTimeoutMS: check.integerIn(`${where}: serverSelectionTimeoutMs`, options.serverSelectionTimeoutMs, 1, 600_000, 5000),
        connectTimeoutMS: check.integerIn(`${where}: connectTimeoutMs`, options.connectTimeoutMs, 1, 600_000, 5000),
        appName: 'featuregraph',
        ...(options.username !== undefined || options.password !== undefined ? { auth: { username: options.username, password: options.password } } : {}),
      };
      if (url !== '') {
        try {
          // Connects lazily, on the first operation; the driver pools connections and reconnects by itself.
          client = new MongoClient(url, clientOptions);
        } catch (error) {
          check.refuse(`${where}: url is not a valid connection string: ${redact(error instanceof Error ? error.message : String(error), this.secrets)}`);
        }
      }
    }
    check.done();
    this.definition = definition as DocumentSourceDefinition;
    this.databaseName = options.database;
    this.client = client as MongoClient;
    this.ownsClient = options.client === undefined;
  }

  private get collection(): Collection<Document> {
    if (this.closed) throw new FeaturegraphError('SOURCE_UNAVAILABLE', `mongodb source "${this.name}" is closed`);
    return this.client.db(this.databaseName).collection(this.definition.collection);
  }

  /**
   * Connects if the client is not connected yet (a no-op otherwise): a server that is down then fails
   * with its address in the message, where an operation's automatic connect reports "Topology is closed".
   */
  private async connect(action: string): Promise<void> {
    if (this.closed) throw new FeaturegraphError('SOURCE_UNAVAILABLE', `mongodb source "${this.name}" is closed`);
    try {
      await this.client.connect();
    } catch (error) {
      throw this.fail(action, error);
    }
  }

  private fail(action: string, error: unknown): FeaturegraphError {
    return wrapDriverError(this.name, action, error, this.secrets);
  }

  private where(condition: Document): Document {
    const filter = this.definition.filter;
    // $and keeps a filter that itself constrains the updated-at field intact.
    return filter === undefined || Object.keys(filter).length === 0 ? condition : { $and: [filter, condition] };
  }

  /**
   * Documents changed in (since, until]. The updated-at field may hold Dates or epoch-ms numbers, and
   * MongoDB compares values of one type only (a Date bound never matches a number): one cursor per type,
   * each sorted by (updatedAt, _id), merged by event time, so a collection mixing both still reads in order.
   */
  async *read(options: RowReadOptions): AsyncIterable<SourceRow[]> {
    const { since, until } = options;
    const where = `mongodb source "${this.name}"`;
    if (since !== null && !Number.isFinite(since)) throw new TypeError(`${where}: since must be null or a finite epoch ms, got ${String(since)}`);
    if (!Number.isFinite(until)) throw new TypeError(`${where}: until must be a finite epoch ms, got ${String(until)}`);
    if (!Array.isArray(options.columns)) throw new TypeError(`${where}: columns must be an array of field paths`);
    const columns = options.columns.map((c, i) => validateFieldPath(`${where}: columns[${i}]`, c));
    if (since !== null && since >= until) return;
    const collection = this.collection;
    const { keyField, updatedAtField } = this.definition;
    const projection = projectionFor([keyField, updatedAtField, ...columns]);
    const open = (type: UpdatedAtType): CursorHead => {
      const bound = (ms: number) => (type === 'date' ? new Date(ms) : ms);
      // Reported times are whole milliseconds (a number 25.75 reads as 25), so the window (since, until]
      // over them is since + 1 <= t < until + 1 over stored values: no fraction is read by two windows.
      const range: Document = { $lt: bound(until + 1) };
      if (since !== null) range.$gte = bound(since + 1);
      const cursor = collection.find(this.where({ [updatedAtField]: range }), {
        projection,
        sort: { [updatedAtField]: 1, _id: 1 },
        batchSize: this.batchSize,
        // A collection without an index on the updated-at field sorts in memory; large ones need disk.
        allowDiskUse: true,
      });
      return new CursorHead(cursor, (document) => this.toRow(document, columns));
    };
    await this.connect('read');
    const heads = [open('date'), open('number')];
    try {
      try {
        // One after the other: when the server is down, the first failure names it, not a follow-up one.
        for (const head of heads) await head.advance();
      } catch (error) {
        throw this.fail('read', error);
      }
      let batch: SourceRow[] = [];
      for (;;) {
        let next: CursorHead | null = null;
        for (const head of heads) {
          if (head.row !== null && (next === null || before(head, next))) next = head;
        }
        if (next === null) break;
        batch.push(next.row as SourceRow);
        try {
          await next.advance();
        } catch (error) {
          throw this.fail('read', error);
        }
        if (batch.length >= this.batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      // A caller that stops early (break) releases the server-side cursors.
      await Promise.allSettled(heads.map((head) => head.close()));
    }
  }

  /**
   * Every key the collection holds now (documents matching the definition's filter), in batches. A
   * projected find sorted by key, not an aggregation (FerretDB has few stages): equal keys arrive together,
   * so they are dropped without remembering the keys already listed.
   */
  async *listKeys(): AsyncIterable<string[]> {
    const { keyField } = this.definition;
    await this.connect('listKeys');
    const cursor = this.collection.find(this.where({ [keyField]: { $exists: true } }), {
      projection: keyField === '_id' ? { _id: 1 } : { _id: 0, [keyField]: 1 },
      sort: { [keyField]: 1 },
      batchSize: this.batchSize,
      allowDiskUse: true,
    });
    let previous: string | null = null;
    let batch: string[] = [];
    try {
      for (;;) {
        let document: Document | null;
        try {
          document = await cursor.next();
        } catch (error) {
          throw this.fail('listKeys', error);
        }
        if (document === null) break;
        const key = keyOf(valueAt(document, keyField));
        if (key === null || key === previous) continue;
        previous = key;
        batch.push(key);
        if (batch.length >= this.batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  /**
   * Follows the collection's change stream from `resumeAfter` (or from now). Resolves once the stream is
   * open; a server without change streams makes it reject with UNSUPPORTED_CAPABILITY naming the server.
   * Inserts, updates and replaces become rows (the current document, looked up); deletes become rows with
   * `deleted: true` when the key is the _id or the server sends pre-images, and are otherwise left to
   * listKeys reconciliation (counted in stats.unmappedChanges). A document updated out of the definition's
   * filter is not reported either: the same reconciliation finds it.
   */
  async watch(options: WatchOptions): Promise<MongoRowWatch> {
    const where = `mongodb source "${this.name}"`;
    if (typeof options?.handle !== 'function') throw new TypeError(`${where}: watch needs a handle(rows, token) function`);
    const columns = (Array.isArray(options.columns) ? options.columns : []).map((c, i) => validateFieldPath(`${where}: columns[${i}]`, c));
    const resumeAfter = options.resumeAfter === null || options.resumeAfter === undefined ? undefined : parseToken(options.resumeAfter, where);
    await this.connect('watch');
    const filter = this.definition.filter;
    const changes: Document = { operationType: { $in: ['insert', 'update', 'replace', 'delete'] } };
    const match = filter === undefined || Object.keys(filter).length === 0 ? changes : { $and: [changes, { $or: [{ operationType: 'delete' }, filterOnFullDocument(filter, where)] }] };
    const stream: ChangeStream<Document> = this.collection.watch([{ $match: match }], {
      fullDocument: 'updateLookup',
      fullDocumentBeforeChange: this.definition.keyField === '_id' ? 'off' : 'whenAvailable',
      maxAwaitTimeMS: this.watchMaxAwaitMs,
      batchSize: this.batchSize,
      ...(resumeAfter === undefined ? {} : { resumeAfter }),
    });
    let first: ChangeStreamDocument<Document> | null;
    try {
      // The driver opens a change stream lazily: the first tryNext sends the $changeStream aggregation.
      first = await stream.tryNext();
    } catch (error) {
      await stream.close().catch(() => undefined);
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'number' && changeStreamUnsupportedCodes.has(code)) {
        throw new UnsupportedCapabilityError(`mongodb source "${this.name}" (server: ${await this.describeServer()})`, `change streams (the server answered code ${code}); poll with read() by ${this.definition.updatedAtField} instead`);
      }
      throw this.fail('watch', error);
    }

    let stopped = false;
    const caughtUp = (at: number) => {
      try {
        options.onCaughtUp?.(at);
      } catch {
        // A listener that fails must not end the watch.
      }
    };
    const run = async () => {
      let pending: ChangeStreamDocument<Document>[] = first === null ? [] : [first];
      while (!stopped) {
        let change: ChangeStreamDocument<Document> | null;
        // Before asking: a wait that comes back empty saw every change made before this instant.
        const asked = Date.now();
        try {
          change = await stream.tryNext();
        } catch (error) {
          // The driver already resumed once on a network error; what reaches here ends the watch.
          throw this.fail('watch', error);
        }
        if (change !== null) pending.push(change);
        if (pending.length > 0 && (change === null || pending.length >= this.batchSize)) {
          // After the last change handed out, the stream's token is that change's id (or a later
          // post-batch token): resuming from it repeats nothing and skips nothing.
          const token = serializeToken(stream.resumeToken);
          const rows = pending.map((c) => this.changeToRow(c, columns)).filter((row): row is SourceRow => row !== null);
          pending = [];
          if (rows.length > 0) await options.handle(rows, token);
        }
        if (change === null && !stopped) caughtUp(asked);
      }
    };
    // Errors of the stream arrive wrapped, errors of `handle` as they were thrown; after stop(), none.
    const done = run().then(
      () => undefined,
      async (error: unknown) => {
        await stream.close().catch(() => undefined);
        if (!stopped) throw error;
      },
    );
    const handle = {
      stop: async () => {
        stopped = true;
        await stream.close().catch(() => undefined);
        await done.catch(() => undefined);
        this.watches.delete(handle);
      },
    };
    this.watches.add(handle);
    // The loop's failure is reported through `done`; it must not also surface as an unhandled rejection.
    done.catch(() => undefined);
    return { stop: handle.stop, done };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.watches].map((w) => w.stop()));
    this.closed = true;
    if (this.ownsClient) await this.client.close().catch(() => undefined);
  }

  /** "FerretDB 1.24.2 (MongoDB 7.0.42 wire)", "MongoDB 7.0.4 standalone", ... for capability messages. */
  private async describeServer(): Promise<string> {
    try {
      const admin = this.client.db('admin');
      const [info, hello] = await Promise.all([admin.command({ buildInfo: 1 }), admin.command({ hello: 1 })]);
      const version = typeof info.version === 'string' ? info.version : 'unknown version';
      if ('ferretdbVersion' in info) return `FerretDB ${String(info.ferretdbVersion)} (MongoDB ${version} wire)`;
      const topology = typeof hello.setName === 'string' ? `replica set ${hello.setName}` : hello.msg === 'isdbgrid' ? 'mongos' : 'standalone';
      return `MongoDB ${version} ${topology}`;
    } catch {
      return 'unknown';
    }
  }

  private toRow(document: Document, columns: readonly string[]): SourceRow | null {
    const key = keyOf(valueAt(document, this.definition.keyField));
    const eventTime = epochMsOf(valueAt(document, this.definition.updatedAtField));
    if (key === null || eventTime === null) {
      this.stats.skippedDocuments++;
      return null;
    }
    const values: Record<string, unknown> = {};
    for (const column of columns) values[column] = normalizeValue(valueAt(document, column));
    return { key, eventTime, values };
  }

  private changeToRow(change: ChangeStreamDocument<Document>, columns: readonly string[]): SourceRow | null {
    // A delete has no document to read an updated-at from: the server's wall time of the change
    // (MongoDB 6+), else its cluster time (seconds), else the time it arrived here.
    const deletedAt = () => {
      const wallTime = (change as { wallTime?: unknown }).wallTime;
      if (wallTime instanceof Date) return wallTime.getTime();
      const clusterTime = (change as { clusterTime?: { getHighBitsUnsigned(): number } }).clusterTime;
      return clusterTime ? clusterTime.getHighBitsUnsigned() * 1000 : Date.now();
    };
    switch (change.operationType) {
      case 'insert':
      case 'update':
      case 'replace': {
        const document = change.fullDocument;
        // The document was deleted before the lookup: its delete event follows.
        if (!document) return null;
        return this.toRow(document, columns);
      }
      case 'delete': {
        const before = (change as { fullDocumentBeforeChange?: Document | null }).fullDocumentBeforeChange ?? null;
        const keySource = this.definition.keyField === '_id' ? change.documentKey : before;
        const key = keySource ? keyOf(valueAt(keySource, this.definition.keyField)) : null;
        if (key === null) {
          this.stats.unmappedChanges++;
          return null;
        }
        return { key, eventTime: deletedAt(), values: {}, deleted: true };
      }
      default:
        return null;
    }
  }
}

/** One cursor of a merged read, holding its next row. */
class CursorHead {
  row: SourceRow | null = null;
  id = '';

  constructor(
    private readonly cursor: FindCursor<Document>,
    private readonly convert: (document: Document) => SourceRow | null,
  ) {}

  async advance(): Promise<void> {
    for (;;) {
      const document = await this.cursor.next();
      if (document === null) {
        this.row = null;
        return;
      }
      const row = this.convert(document);
      if (row !== null) {
        this.row = row;
        this.id = String(normalizeValue(document._id));
        return;
      }
    }
  }

  close(): Promise<void> {
    return this.cursor.close();
  }
}

function before(a: CursorHead, b: CursorHead): boolean {
  const ta = (a.row as SourceRow).eventTime;
  const tb = (b.row as SourceRow).eventTime;
  return ta !== tb ? ta < tb : a.id < b.id;
}
