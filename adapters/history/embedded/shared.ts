// One embedded history file shared by the processes of one machine: `serve`, `materialize`, `backfill`
// and `training-set` side by side, in any start order. DuckDB lets one process open a file (read-only
// included), so the first process that opens it owns it and serves the store to the others over a
// Unix socket whose path is derived from the file's real path; the others are clients of the same
// HistoryStore and CheckpointStore interface, and cannot tell the owner is remote: values, errors and
// their codes come back as the owner's store gave them (wire.ts).
//
// Ownership moves without losing anything: a client whose call meets a dead connection (the owner
// stopped, or was killed) tries to open the file itself, else reconnects to whoever did, with jittered
// backoff for a bounded time, then retries the call. Retrying is safe because appends are idempotent
// by record id, reads are pure and an export rewrites its file. An owner that stops serves no new call
// (a call that arrives then is answered `leaving`, and the client retries it elsewhere) and closes
// the file once the calls it runs are done; one that is killed loses nothing it acknowledged, since
// DuckDB commits to its write-ahead log, which the next opener replays.
//
// In one process, DuckDB would let two stores open the same file (and corrupt it): a second store of
// a file this process owns is a client of the first, through the socket like any other.
import { createHash } from 'node:crypto';
import { chmodSync, realpathSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, FeaturegraphError } from '../../../schema/errors.js';
import { retryWithBackoff } from '../../../schema/backoff.js';
import type { ResolvedView } from '../../../schema/registry.js';
import type { FeatureRead } from '../../../schema/snapshot.js';
import type { CheckpointStore } from '../../sources/types.js';
import { checkEmbeddedHistoryOptions, EmbeddedHistoryStore, type EmbeddedHistoryStoreOptions, type ScanCursor } from './index.js';
import { OptionCheck, shown } from '../../common/options.js';
import type { HistoryRecord, HistoryScan, HistoryStore, PointInTimeQuery, PointInTimeRow, TrainingSetExport, ViewWatermark } from '../types.js';
import { describeView, fromWireQuery, toWireQuery, ViewReviver } from './views.js';
import type { ServedCursor, ServedPage } from './served-log.js';
import type { ServedRecord } from '../../../schema/served-log.js';
import type { ServedLogRange } from '../../served-log/types.js';
import { encodeFrame, FrameReader, fromWireError, isReply, isRequest, protocolVersion, toWireError, type Calls, type Method, type Reply, type Request } from './wire.js';

export interface SharedEmbeddedHistoryOptions extends EmbeddedHistoryStoreOptions {
  /** Who owns the file and when ownership moves (the callers' log). */
  log?: (message: string) => void;
  /** How long to keep trying to reach or become the owner before HISTORY_STORE_UNAVAILABLE (default 30 s). */
  takeoverMs?: number;
  /** Folder of the socket (default the OS temp dir). Every process sharing a file must use the same. */
  socketDir?: string;
}

/** The socket of a history file: one per real path, short enough for a Unix socket path (~100 bytes). */
export function socketPathFor(file: string, dir = tmpdir()): string {
  return join(dir, `featuregraph-history-${createHash('sha1').update(realFile(file)).digest('hex').slice(0, 16)}.sock`);
}

/** The file's real path; for a file not created yet, its folder's real path and its name. */
function realFile(file: string): string {
  const absolute = resolve(file);
  try {
    return realpathSync(absolute);
  } catch {
    try {
      return join(realpathSync(dirname(absolute)), basename(absolute));
    } catch {
      return absolute;
    }
  }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** DuckDB's refusal of a file another process holds. */
const lockConflict = /Could not set lock on file|Conflicting lock/i;

/**
 * A call that did not get its answer because the connection went away (refused, reset, a broken pipe,
 * no socket file, closed, or the owner leaving): the client takes over and retries.
 */
class LinkLost extends Error {}

/** The files this process owns, by real path. */
const ownedHere = new Map<string, SharedEmbeddedHistoryStore>();

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  progress?: (rowsDone: number, rowsTotal: number) => void;
}

/** A client's connection to the owner: calls multiplexed by id. */
class OwnerLink {
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private lost: string | null = null;

  private constructor(private readonly socket: Socket) {
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      let messages: unknown[];
      try {
        messages = reader.push(chunk);
      } catch (error) {
        this.fail(`unreadable answer: ${describe(error)}`);
        return;
      }
      for (const message of messages) if (isReply(message)) this.receive(message);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => this.fail(error.code ?? error.message));
    socket.on('close', () => this.fail('socket closed'));
  }

  static open(path: string): Promise<OwnerLink> {
    return new Promise((resolveLink, reject) => {
      const socket = connect(path);
      const refused = (error: NodeJS.ErrnoException) => reject(new LinkLost(error.code ?? error.message));
      socket.once('error', refused);
      socket.once('connect', () => {
        socket.off('error', refused);
        resolveLink(new OwnerLink(socket));
      });
    });
  }

  get alive(): boolean {
    return this.lost === null;
  }

  call<M extends Method>(method: M, args: Calls[M]['args'], progress?: (rowsDone: number, rowsTotal: number) => void): Promise<Calls[M]['result']> {
    if (this.lost !== null) return Promise.reject(new LinkLost(this.lost));
    const id = ++this.next;
    const request: Request<M> = { id, method, args };
    // Encoded first: a value v8 cannot copy fails this call alone, and leaves nothing pending.
    const frame = encodeFrame(request);
    return new Promise((resolveCall, reject) => {
      this.pending.set(id, { resolve: resolveCall as (value: unknown) => void, reject, progress });
      this.socket.write(frame);
    });
  }

  private receive(reply: Reply): void {
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    if ('progress' in reply) {
      pending.progress?.(reply.progress[0], reply.progress[1]);
      return;
    }
    this.pending.delete(reply.id);
    if ('result' in reply) pending.resolve(reply.result);
    else if ('error' in reply) pending.reject(fromWireError(reply.error));
    else pending.reject(new LinkLost('the owner is closing'));
  }

  private fail(reason: string): void {
    if (this.lost === null) this.lost = reason;
    this.socket.destroy();
    for (const pending of this.pending.values()) pending.reject(new LinkLost(this.lost));
    this.pending.clear();
  }

  close(): void {
    this.fail('closed by this process');
  }
}

/** The owner's side: the open file, and the socket it serves it on. */
interface Owning {
  kind: 'owner';
  store: EmbeddedHistoryStore;
  server: Server;
  connections: Set<Socket>;
  /** Calls of clients being run. */
  running: Set<Promise<unknown>>;
  leaving: boolean;
}

interface Client {
  kind: 'client';
  link: OwnerLink;
  ownerPid: number;
}

type Role = Owning | Client | { kind: 'closed' };

export class SharedEmbeddedHistoryStore implements HistoryStore, CheckpointStore {
  readonly name = 'embedded';
  readonly path: string;
  readonly socketPath: string;
  private role: Role;
  /** A change of role in progress (taking over after the owner went away), shared by every call that needs it. */
  private changing: Promise<void> | null = null;
  private readonly views: ResolvedView[];
  private readonly reviver = new ViewReviver();

  private constructor(
    private readonly file: string,
    private readonly options: SharedEmbeddedHistoryOptions,
    private readonly log: (message: string) => void,
    /** How long to keep trying to reach or become the owner. */
    private readonly takeoverMs: number,
  ) {
    this.path = realFile(file);
    this.socketPath = socketPathFor(file, options.socketDir);
    this.views = [...(options.views ?? [])];
    this.role = { kind: 'closed' };
  }

  /** Opens the file, or connects to the process that has it open: within takeoverMs, else HISTORY_STORE_UNAVAILABLE. */
  static async open(file: string, options: SharedEmbeddedHistoryOptions = {}): Promise<SharedEmbeddedHistoryStore> {
    if (typeof options !== 'object' || options === null) throw new ConfigError(`shared embedded history store: options must be an object, got ${shown(options)}`);
    const check = new OptionCheck();
    if (file === ':memory:') check.refuse('a shared embedded history store needs a file; use EmbeddedHistoryStore for :memory:');
    else check.nonEmptyString('shared embedded history store: file', file);
    const takeoverMs = check.integerIn('shared embedded history store: takeoverMs', options.takeoverMs, 1, 3_600_000, 30_000);
    if (options.socketDir !== undefined) check.nonEmptyString('shared embedded history store: socketDir', options.socketDir);
    const log = check.callback('shared embedded history store: log', options.log, () => {});
    checkEmbeddedHistoryOptions(check, options);
    check.done();
    const store = new SharedEmbeddedHistoryStore(file, options, log, takeoverMs);
    store.role = await store.acquire();
    return store;
  }

  /** Whether this process owns the file (false: a client of the process that does). */
  get owner(): boolean {
    return this.role.kind === 'owner';
  }

  /** The pid of the process that owns the file. */
  get ownerPid(): number | null {
    return this.role.kind === 'owner' ? process.pid : this.role.kind === 'client' ? this.role.ownerPid : null;
  }

  /**
   * Becomes the owner, or a client of the owner. While another process holds the file and nobody answers
   * at the socket yet (an owner starting or going away), tried again with jittered backoff within
   * takeoverMs, so that clients that lost one owner do not all knock at once; any other failure is thrown.
   */
  private acquire(): Promise<Owning | Client> {
    let holder: string | null = null;
    return retryWithBackoff(
      async () => {
        if (!ownedHere.has(this.path)) {
          try {
            return await this.own();
          } catch (error) {
            if (error instanceof FeaturegraphError) throw error;
            const held = lockConflict.test(describe(error));
            if (!held) throw new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', `cannot open the embedded history file ${this.file}: ${describe(error)}`, { cause: error });
            holder = /\(PID (\d+)\)/.exec(describe(error))?.[1] ?? holder;
          }
        } else {
          holder = String(process.pid);
        }
        try {
          return await this.join();
        } catch (error) {
          if (!(error instanceof LinkLost)) throw error;
        }
        // Thrown as it is once takeoverMs has passed; retriable, as a wait may still mend it.
        throw new FeaturegraphError(
          'HISTORY_STORE_UNAVAILABLE',
          `the embedded history file ${this.file} is open in another process${holder === null ? '' : ` (pid ${holder})`} that does not share it: nothing answered at ${this.socketPath} for ${(this.takeoverMs / 1000).toFixed(this.takeoverMs % 1000 === 0 ? 0 : 1)} s. ` +
            'featuregraph processes share a file through that socket; another program (an older featuregraph, the duckdb shell) must close it first.',
          { retriable: true },
        );
      },
      { what: `the owner of ${this.file}`, initialMs: 25, maxMs: 1000, withinMs: this.takeoverMs, unknownRetriable: false },
    );
  }

  /** Opens the file and starts serving it. Throws DuckDB's lock error when another process has it. */
  private async own(): Promise<Owning> {
    const store = await EmbeddedHistoryStore.open(this.file, this.options);
    ownedHere.set(this.path, this);
    const owning: Owning = { kind: 'owner', store, server: createServer(), connections: new Set(), running: new Set(), leaving: false };
    try {
      // Only the process holding the file's lock listens, so a socket file left here is a dead owner's.
      try {
        unlinkSync(this.socketPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      owning.server.on('connection', (socket) => this.serve(owning, socket));
      await new Promise<void>((listening, reject) => {
        owning.server.once('error', reject);
        owning.server.listen(this.socketPath, () => {
          owning.server.off('error', reject);
          listening();
        });
      });
      // Only this user's processes may read and append.
      chmodSync(this.socketPath, 0o600);
    } catch (error) {
      owning.server.close();
      ownedHere.delete(this.path);
      await store.close();
      throw new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', `opened the embedded history file ${this.file} but cannot serve it at ${this.socketPath}: ${describe(error)}`, { cause: error });
    }
    this.log(`history ${this.path}: this process (pid ${process.pid}) owns the file; other processes use it through ${this.socketPath}`);
    return owning;
  }

  /** Connects to the owner and hands it this process's views. Throws LinkLost when nobody answers. */
  private async join(): Promise<Client> {
    const link = await OwnerLink.open(this.socketPath);
    try {
      const hello = await link.call('hello', [protocolVersion]);
      if (hello.protocol !== protocolVersion) {
        throw new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', `the process owning the embedded history file ${this.file} (pid ${hello.pid}) speaks protocol ${hello.protocol}, this one ${protocolVersion}: run one featuregraph version on a file`);
      }
      if (hello.path !== this.path) {
        throw new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', `the socket ${this.socketPath} serves ${hello.path}, not ${this.path}`);
      }
      if (this.views.length > 0) await link.call('prepare', [this.views.map(describeView)]);
      this.log(`history ${this.path}: owned by pid ${hello.pid}; this process (pid ${process.pid}) reads and appends through ${this.socketPath}`);
      return { kind: 'client', link, ownerPid: hello.pid };
    } catch (error) {
      link.close();
      throw error;
    }
  }

  /** Answers one client connection's calls. */
  private serve(owning: Owning, socket: Socket): void {
    owning.connections.add(socket);
    const reader = new FrameReader();
    const send = (reply: Reply) => {
      if (socket.destroyed) return;
      let frame: Buffer;
      try {
        frame = encodeFrame(reply);
      } catch (error) {
        // A result v8 cannot copy: the call fails, the connection goes on.
        frame = encodeFrame({ id: reply.id, error: toWireError(error) });
      }
      socket.write(frame);
    };
    socket.on('data', (chunk: Buffer) => {
      let messages: unknown[];
      try {
        messages = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const message of messages) {
        if (!isRequest(message)) {
          socket.destroy();
          return;
        }
        if (owning.leaving) {
          send({ id: message.id, leaving: true });
          continue;
        }
        const run = this.dispatch(owning, message, (done, total) => send({ id: message.id, progress: [done, total] })).then(
          (result) => send({ id: message.id, result }),
          (error: unknown) => send({ id: message.id, error: toWireError(error) }),
        );
        owning.running.add(run);
        void run.finally(() => owning.running.delete(run));
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => owning.connections.delete(socket));
  }

  /** Runs a client's call on the open file. */
  private async dispatch(owning: Owning, request: Request, progress: (rowsDone: number, rowsTotal: number) => void): Promise<unknown> {
    const { store } = owning;
    switch (request.method) {
      case 'hello':
        return { protocol: protocolVersion, pid: process.pid, path: this.path } satisfies Calls['hello']['result'];
      case 'prepare': {
        const [descriptors] = request.args as Calls['prepare']['args'];
        await store.prepareViews(descriptors.map((d) => this.reviver.revive(d)));
        return null;
      }
      case 'append': {
        const [records] = request.args as Calls['append']['args'];
        await store.append(records);
        return null;
      }
      case 'appendWatermarks': {
        const [changes] = request.args as Calls['appendWatermarks']['args'];
        await store.appendWatermarks(changes);
        return null;
      }
      case 'readAsOf': {
        const [query, rows] = request.args as Calls['readAsOf']['args'];
        return store.readAsOf(fromWireQuery(this.reviver, query), rows);
      }
      case 'scanPage': {
        const [scan, after] = request.args as Calls['scanPage']['args'];
        return store.scanPage(scan, after);
      }
      case 'count': {
        const [view] = request.args as Calls['count']['args'];
        return store.count(view);
      }
      case 'exportTrainingSet': {
        const [spec] = request.args as Calls['exportTrainingSet']['args'];
        return store.exportTrainingSet({ query: fromWireQuery(this.reviver, spec.query), rows: spec.rows, out: spec.out, onProgress: progress });
      }
      case 'getCheckpoint': {
        const [name] = request.args as Calls['getCheckpoint']['args'];
        return store.get(name);
      }
      case 'setCheckpoint': {
        const [name, value] = request.args as Calls['setCheckpoint']['args'];
        await store.set(name, value);
        return null;
      }
      case 'appendServed': {
        const [records] = request.args as Calls['appendServed']['args'];
        await store.appendServed(records);
        return null;
      }
      case 'servedPage': {
        const [range, after] = request.args as Calls['servedPage']['args'];
        return store.servedPage(range, after);
      }
      default: {
        const unreachable: never = request.method;
        throw new FeaturegraphError('INTERNAL', `unknown history call ${String(unreachable)}`);
      }
    }
  }

  /**
   * Runs a call here when this process owns the file, else at the owner; when the owner goes away
   * mid-call, takes over (or finds the new owner) and runs it again.
   */
  private async call<M extends Method>(method: M, args: Calls[M]['args'], local: (store: EmbeddedHistoryStore) => Promise<Calls[M]['result']>, progress?: (rowsDone: number, rowsTotal: number) => void): Promise<Calls[M]['result']> {
    for (;;) {
      if (this.changing !== null) await this.changing;
      const role = this.role;
      if (role.kind === 'closed') throw new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', `the embedded history store ${this.file} is closed`);
      if (role.kind === 'owner') return local(role.store);
      try {
        return await role.link.call(method, args, progress);
      } catch (error) {
        if (!(error instanceof LinkLost)) throw error;
        await this.takeOver(role, error.message);
      }
    }
  }

  /** Replaces a lost link: this process opens the file, or joins whoever did. One attempt at a time. */
  private takeOver(lost: Client, reason: string): Promise<void> {
    if (this.role !== lost) return Promise.resolve();
    lost.link.close();
    this.changing ??= (async () => {
      this.log(`history ${this.path}: lost the owner (pid ${lost.ownerPid}: ${reason}); taking over the file or finding its new owner`);
      try {
        this.role = await this.acquire();
      } finally {
        this.changing = null;
      }
    })();
    return this.changing;
  }

  append(records: readonly HistoryRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.call('append', [[...records]], (store) => store.append(records).then(() => null)).then(() => undefined);
  }

  appendWatermarks(changes: readonly ViewWatermark[]): Promise<void> {
    if (changes.length === 0) return Promise.resolve();
    return this.call('appendWatermarks', [[...changes]], (store) => store.appendWatermarks(changes).then(() => null)).then(() => undefined);
  }

  readAsOf(query: PointInTimeQuery, rows: readonly PointInTimeRow[]): Promise<FeatureRead[][]> {
    return this.call('readAsOf', [toWireQuery(query), [...rows]], (store) => store.readAsOf(query, rows));
  }

  async *scan(scan: HistoryScan): AsyncIterable<HistoryRecord[]> {
    let after: ScanCursor | null = null;
    for (;;) {
      const from: ScanCursor | null = after;
      const page: Calls['scanPage']['result'] = await this.call('scanPage', [scan, from], (store) => store.scanPage(scan, from));
      if (page.records.length > 0) yield page.records;
      if (page.next === null) return;
      after = page.next;
    }
  }

  exportTrainingSet(spec: TrainingSetExport): Promise<{ rows: number }> {
    const wire = { query: toWireQuery(spec.query), rows: spec.rows, out: spec.out };
    return this.call('exportTrainingSet', [wire], (store) => store.exportTrainingSet(spec), spec.onProgress);
  }

  count(view: string): Promise<number> {
    return this.call('count', [view], (store) => store.count(view));
  }

  get(name: string): Promise<string | null> {
    return this.call('getCheckpoint', [name], (store) => store.get(name));
  }

  set(name: string, value: string): Promise<void> {
    return this.call('setCheckpoint', [name, value], (store) => store.set(name, value).then(() => null)).then(() => undefined);
  }

  /** Appends to the served log kept in the file (adapters/served-log/embedded.ts). */
  appendServed(records: readonly ServedRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.call('appendServed', [[...records]], (store) => store.appendServed(records).then(() => null)).then(() => undefined);
  }

  /** One page of the served log's records in a range, after `after`. */
  servedPage(range: ServedLogRange, after: ServedCursor | null): Promise<ServedPage> {
    return this.call('servedPage', [range, after], (store) => store.servedPage(range, after));
  }

  /**
   * A client disconnects. The owner stops serving first (calls that arrive now are answered `leaving`
   * and retried by their client at the next owner), lets the calls it runs finish, then closes the
   * file: a client then opens it.
   */
  async close(): Promise<void> {
    if (this.changing !== null) await this.changing.catch(() => undefined);
    const role = this.role;
    this.role = { kind: 'closed' };
    if (role.kind === 'client') {
      role.link.close();
      return;
    }
    if (role.kind !== 'owner') return;
    role.leaving = true;
    const hadClients = role.connections.size > 0;
    const stopped = new Promise<void>((done) => role.server.close(() => done()));
    await Promise.allSettled([...role.running]);
    for (const socket of role.connections) socket.end();
    await role.store.close();
    // The socket file goes with the server; the lock with the store. Now another process can own the file.
    for (const socket of role.connections) socket.destroy();
    await stopped;
    ownedHere.delete(this.path);
    if (hadClients) this.log(`history ${this.path}: this process (pid ${process.pid}) closed the file; its clients take it over`);
  }
}

