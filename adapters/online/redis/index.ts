// The Redis online store (standalone or Cluster) on ioredis. One packed value per (view, key) under
// `<prefix><view>:{<key>}` (JSON for column views, MessagePack for windowed ones: packed.ts): the
// hash tag puts every view of one entity in one slot. Reads are one MGET (standalone) or one MGET per
// slot, auto-pipelined into one round trip per node (Cluster); serving reads add the watermark record
// of each view among them (`<prefix>~watermark:{<view>}`, a plain string) to the same MGETs. Tile
// writes are one script call per group of keys: up to maxKeysPerTileCall keys on standalone, the keys
// of one slot on Cluster.
// Reads fail fast: no offline queue, a command timeout in tens of milliseconds, a breaker per node.
import { Cluster, Redis, type ClusterNode, type Result } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { ConfigError, OnlineStoreError } from '../../../schema/errors.js';
import { OptionCheck, shown } from '../../common/options.js';
import { redact, urlSecrets } from '../../common/redact.js';
import type { IncarnationRecord, OnlineKey, OnlineStore, ServingRead, StoredValue, TileWrite, TileWriteOutcome, ValueWrite, ValueWriteOutcome, ViewWatermark, WatermarkPublish } from '../types.js';
import { checkTileWrite } from '../merge.js';
import { checkWatermarkPublish } from '../watermarks.js';
import { CircuitBreaker } from './breaker.js';
import { withStoreTimeout } from './store-timeout.js';
import { applyTilesScript, publishWatermarksScript, registerIncarnationScript, writeValueScript } from './scripts.js';
import { decodeStoredValue, PackWriter } from './packed.js';
import type { Cell } from '../../../schema/windows.js';
import { redisOptionBounds } from './options.js';

interface CommonOptions {
  /** Prefix of every key, so that several deployments can share a Redis. */
  keyPrefix?: string;
  /**
   * Reads: the store has this long to answer (default 75 ms), counted in time this process spent
   * waiting for the reply (store-timeout.ts), so that a busy process gets slower, not errors. A read
   * this process never got to wait for gives up after 10 times as long, at least 1 s.
   */
  commandTimeoutMs?: number;
  /** Writes and deletes: materializers send large pipelines; they wait this long (default 10 s). */
  writeTimeoutMs?: number;
  connectTimeoutMs?: number;
  /**
   * Consecutive failures before a node's circuit opens (default 5), over at least one read timeout,
   * and how long it stays open (default 500 ms).
   */
  breakerFailures?: number;
  breakerOpenMs?: number;
  /**
   * Standalone: tile writes per script call (default 100). Larger calls cost Redis less per key but
   * hold it longer at once, which reads of the gateway wait behind.
   */
  maxKeysPerTileCall?: number;
}

export type RedisOnlineStoreOptions =
  | (CommonOptions & { mode: 'standalone'; url: string })
  | (CommonOptions & { mode: 'cluster'; nodes: ClusterNode[]; password?: string; username?: string });

type Client = Redis | Cluster;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fgWriteValue(key: string, eventTime: string, availableTime: string, values: string, retentionMs: string): Result<number[], Context>;
    fgApplyTiles(numberOfKeys: number, ...keysThenWrites: (string | Buffer)[]): Result<number[], Context>;
    fgRegisterIncarnation(key: string, incarnation: string): Result<[number, number, string], Context>;
    fgPublishWatermarks(recordKey: string, partsKey: string, at: string, ...partThenWatermark: string[]): Result<[number, string], Context>;
  }
}

const outcomeCodes: Record<number, TileWriteOutcome> = { 1: 'applied', 2: 'duplicate', 3: 'overlap' };

/** Appends one write in the tile script's positional layout (see scripts.ts). */
function packTileWrite(out: PackWriter, write: TileWrite): void {
  const size = out.placeholder();
  const before = out.length;
  out.number(Math.max(1, Math.round(write.retentionMs)));
  out.number(write.eventTime);
  out.number(write.availableTime);
  if (write.source) {
    out.string(write.source.partition);
    out.number(write.source.fromOffset);
    out.number(write.source.toOffset);
  } else {
    out.string('');
    out.number(0);
    out.number(0);
  }
  const keep = Object.keys(write.keepFrom);
  out.number(keep.length);
  for (const feature of keep) {
    out.string(feature);
    out.number(write.keepFrom[feature] as number);
  }
  out.number(write.cells.length);
  for (const { feature, op, tiles, cells } of write.cells) {
    out.string(feature);
    out.string(op);
    out.number(tiles.length);
    for (let i = 0; i < tiles.length; i++) {
      out.number(tiles[i] as number);
      const cell = cells[i] as Cell;
      switch (op) {
        case 'add':
        case 'min':
        case 'max':
          out.number(cell as number);
          break;
        case 'avg': {
          const [sum, n] = cell as [number, number];
          out.number(sum);
          out.number(n);
          break;
        }
        case 'last':
        case 'distinct':
          out.string(JSON.stringify(cell));
          break;
        default: {
          const unreachable: never = op;
          throw new Error(`unknown cell op ${String(unreachable)}`);
        }
      }
    }
  }
  out.fill(size, out.length - before);
}

function describe(error: unknown, secrets: readonly string[]): string {
  // ioredis messages name hosts and commands at most; scrubbed all the same (the URL may hold a password).
  return redact(error instanceof Error ? error.message : String(error), secrets);
}

/**
 * A key prefix: braces would move the hash tag that keeps an entity's views in one slot, and glob
 * characters would widen the SCAN pattern of listKeys to other deployments' keys.
 */
function keyPrefix(check: OptionCheck, name: string, value: unknown): string {
  if (typeof value === 'string' && !/[{}*?[\]\\]/.test(value)) return value;
  check.refuse(`${name} must be a string without { } * ? [ ] or \\, got ${shown(value)}`);
  return '';
}

function clusterNodes(check: OptionCheck, name: string, value: unknown): void {
  if (!Array.isArray(value) || value.length === 0) {
    check.refuse(`${name} must list at least one { host, port }, got ${shown(value)}`);
    return;
  }
  value.forEach((node: unknown, i) => {
    const { host, port } = (typeof node === 'object' && node !== null ? node : {}) as { host?: unknown; port?: unknown };
    check.nonEmptyString(`${name}[${i}].host`, host);
    check.integerIn(`${name}[${i}].port`, port, 1, 65535);
  });
}

export class RedisOnlineStore implements OnlineStore {
  readonly name: string;
  private readonly client: Client;
  private readonly prefix: string;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly breakerFailures: number;
  private readonly breakerOpenMs: number;
  private readonly commandTimeoutMs: number;
  private readonly writeTimeoutMs: number;
  private readonly maxKeysPerTileCall: number;
  /** Passwords of the connection, scrubbed from every message. */
  private readonly secrets: readonly string[];
  /** Why the client last failed to connect or lost its connection; null once it is ready again. */
  private connectionError: string | null = null;

  constructor(options: RedisOnlineStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('redis online store: options must be an object with mode and url (standalone) or nodes (cluster)');
    const check = new OptionCheck();
    const mode = check.oneOf('redis online store: mode', options.mode, ['standalone', 'cluster'], 'standalone');
    this.name = mode === 'cluster' ? 'redis-cluster' : 'redis';
    const where = `${this.name} online store`;
    this.prefix = options.keyPrefix === undefined ? 'fg:' : keyPrefix(check, `${where}: keyPrefix`, options.keyPrefix);
    const bounded = (name: keyof typeof redisOptionBounds): number => {
      const { min, max, fallback } = redisOptionBounds[name];
      return check.integerIn(`${where}: ${name}`, options[name], min, max, fallback);
    };
    this.commandTimeoutMs = bounded('commandTimeoutMs');
    this.writeTimeoutMs = bounded('writeTimeoutMs');
    const connectTimeoutMs = bounded('connectTimeoutMs');
    this.breakerFailures = bounded('breakerFailures');
    this.breakerOpenMs = bounded('breakerOpenMs');
    this.maxKeysPerTileCall = bounded('maxKeysPerTileCall');
    if (options.mode === 'cluster') {
      clusterNodes(check, `${where}: nodes`, options.nodes);
      if (options.username !== undefined) check.nonEmptyString(`${where}: username`, options.username);
      // Checked, never shown.
      if (options.password !== undefined && typeof options.password !== 'string') check.refuse(`${where}: password must be a string`);
    } else {
      check.connectionString(`${where}: url`, (options as { url?: unknown }).url, ['redis', 'rediss']);
    }
    check.done();
    this.secrets = options.mode === 'cluster' ? (typeof options.password === 'string' && options.password !== '' ? [options.password] : []) : urlSecrets(options.url);
    const common = {
      // A backstop that frees commands Redis never answers; the timeout requests see is withStoreTimeout's.
      commandTimeout: Math.max(1000, this.commandTimeoutMs * 10, this.writeTimeoutMs * 2),
      connectTimeout: connectTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
      lazyConnect: true,
      // Reconnect fast and forever: the store must be back within a couple of seconds of Redis. ioredis
      // reconnects by itself, inside the client, so this is its own schedule, not schema/backoff.ts's.
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 500),
    };
    if (options.mode === 'standalone') {
      // RESP2: plain arrays for MGET, the cheapest replies to parse; no CLIENT SETINFO chatter.
      this.client = new Redis(options.url, { ...common, protocol: 2, disableClientInfo: true });
    } else {
      this.client = new Cluster(options.nodes, {
        ...common,
        // Auto-pipelining files a command under the node of its first argument; a tile call's first
        // argument is its key count, not a key, so its pipeline could mix nodes and Cluster refuses the
        // whole pipeline (row writes queued with it included). Sent alone, the call is routed by its keys.
        autoPipeliningIgnoredCommands: ['fgApplyTiles'],
        clusterRetryStrategy: common.retryStrategy,
        slotsRefreshTimeout: 1000,
        redisOptions: { password: options.password, username: options.username, connectTimeout: common.connectTimeout, commandTimeout: common.commandTimeout, protocol: 2, disableClientInfo: true },
      });
    }
    this.client.defineCommand('fgWriteValue', { numberOfKeys: 1, lua: writeValueScript });
    this.client.defineCommand('fgApplyTiles', { lua: applyTilesScript });
    this.client.defineCommand('fgRegisterIncarnation', { numberOfKeys: 1, lua: registerIncarnationScript });
    this.client.defineCommand('fgPublishWatermarks', { numberOfKeys: 2, lua: publishWatermarksScript });
    // Errors surface on the commands that hit them; an unhandled 'error' event would crash the process.
    // The last one is kept for ping(): "not connected" alone would not say why.
    this.client.on('error', (error: unknown) => {
      this.connectionError = describe(error, this.secrets);
    });
    if (this.client instanceof Cluster) {
      this.client.on('node error', (error: unknown, node: unknown) => {
        this.connectionError = `node ${String(node)}: ${describe(error, this.secrets)}`;
      });
    }
    this.client.on('ready', () => {
      this.connectionError = null;
    });
  }

  /** Connects (reads and writes connect lazily too; this fails fast when Redis is not there). */
  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (error) {
      throw new OnlineStoreError(this.name, `cannot connect: ${describe(error, this.secrets)}`, { cause: error });
    }
  }

  keyOf(key: OnlineKey): string {
    return `${this.prefix}${key.view}:{${key.key}}`;
  }

  /**
   * A view's watermark record and its parts. `~` starts no view name, so these are no view's keys (and
   * listKeys never matches them); the view is their hash tag, so one script holds both on Cluster.
   */
  private watermarkKeys(view: string): { record: string; parts: string } {
    return { record: `${this.prefix}~watermark:{${view}}`, parts: `${this.prefix}~watermark-parts:{${view}}` };
  }

  private nodeOf(redisKey: string): string {
    if (this.client instanceof Cluster) {
      const owners = (this.client as unknown as { slots: string[][] }).slots[calculateSlot(redisKey)];
      return owners?.[0] ?? 'unknown';
    }
    return 'standalone';
  }

  private readonly nodeOfKey = (key: OnlineKey): string => this.nodeOf(this.keyOf(key));

  private breaker(node: string): CircuitBreaker {
    let breaker = this.breakers.get(node);
    if (!breaker) {
      // A node is failing once its failures have lasted a read timeout: the reads in flight during one
      // short stall (another client's long script) all time out together, and the node is back after.
      breaker = new CircuitBreaker({ failureThreshold: this.breakerFailures, openMs: this.breakerOpenMs, minFailingMs: this.commandTimeoutMs });
      this.breakers.set(node, breaker);
    }
    return breaker;
  }

  /**
   * Runs one node's share of an operation. Reads go behind that node's breaker with the short read
   * timeout, so requests fail fast; writes only get the long write timeout, so a slow pipeline of a
   * materializer neither fails early nor opens the circuit that requests depend on.
   */
  private async guarded<T>(node: string, what: string, run: () => Promise<T>, kind: 'read' | 'write' = 'read'): Promise<T> {
    const breaker = kind === 'read' ? this.breaker(node) : null;
    if (breaker && !breaker.allow()) throw new OnlineStoreError(this.name, `${what}: node ${node} is failing; not asked for ${this.breakerOpenMs} ms (circuit open)`);
    const timeoutMs = kind === 'read' ? this.commandTimeoutMs : this.writeTimeoutMs;
    const maxWaitMs = kind === 'read' ? Math.max(1000, timeoutMs * 10) : timeoutMs * 2;
    try {
      const result = await withStoreTimeout(run(), { timeoutMs, maxWaitMs, onTimeout: () => new Error(`command timed out after ${timeoutMs} ms`) });
      breaker?.success();
      return result;
    } catch (error) {
      breaker?.failure();
      const timeout = /timed? ?out/i.test(describe(error, this.secrets));
      throw new OnlineStoreError(this.name, `${what}: ${describe(error, this.secrets)}`, { timeout, cause: error });
    }
  }

  /** Groups keys (by position) per node, and within a node per slot (MGET needs one slot). */
  private groupBySlot(redisKeys: string[]): Map<string, Map<number, number[]>> {
    const nodes = new Map<string, Map<number, number[]>>();
    const cluster = this.client instanceof Cluster;
    redisKeys.forEach((key, index) => {
      const slot = cluster ? calculateSlot(key) : 0;
      const node = cluster ? this.nodeOf(key) : 'standalone';
      let slots = nodes.get(node);
      if (!slots) nodes.set(node, (slots = new Map()));
      let positions = slots.get(slot);
      if (!positions) slots.set(slot, (positions = []));
      positions.push(index);
    });
    return nodes;
  }

  /**
   * One MGET per slot (Cluster) or one MGET (standalone) of `redisKeys`: one slot per key, in key order.
   * Cluster's MGETs are auto-pipelined into one round trip per node, each node behind its breaker.
   */
  private async mget(redisKeys: string[]): Promise<(Buffer | null)[]> {
    if (!(this.client instanceof Cluster)) return this.guarded('standalone', 'read', () => this.client.mgetBuffer(redisKeys));
    const out = new Array<Buffer | null>(redisKeys.length).fill(null);
    const replies = await Promise.all(
      [...this.groupBySlot(redisKeys)].map(([node, slots]) =>
        this.guarded(node, 'read', () => Promise.all([...slots.values()].map(async (positions) => ({ positions, values: await this.client.mgetBuffer(positions.map((p) => redisKeys[p] as string)) })))),
      ),
    );
    for (const slots of replies) for (const { positions, values } of slots) values.forEach((raw, i) => (out[positions[i] as number] = raw));
    return out;
  }

  /** Decodes the values of the first `count` slots. Outside the breaker: a value that does not decode is not a failing node. */
  private static values(raw: readonly (Buffer | null)[], count: number): (StoredValue | null)[] {
    const out = new Array<StoredValue | null>(count);
    for (let i = 0; i < count; i++) {
      const value = raw[i];
      out[i] = value === null || value === undefined ? null : decodeStoredValue(value);
    }
    return out;
  }

  /** The records of `views`, read into slots `first`.. of `raw` (watermarkKeys' record, a JSON object). */
  private static watermarks(views: readonly string[], raw: readonly (Buffer | null)[], first: number): Map<string, ViewWatermark> {
    const out = new Map<string, ViewWatermark>();
    views.forEach((view, i) => {
      const record = raw[first + i];
      if (record === null || record === undefined) return;
      const { watermark, at } = JSON.parse(record.toString('utf8')) as { watermark: number; at: number };
      out.set(view, { view, watermark, at });
    });
    return out;
  }

  async read(keys: readonly OnlineKey[]): Promise<(StoredValue | null)[]> {
    if (keys.length === 0) return [];
    return RedisOnlineStore.values(await this.mget(keys.map((k) => this.keyOf(k))), keys.length);
  }

  async readServing(keys: readonly OnlineKey[]): Promise<ServingRead> {
    if (keys.length === 0) return { values: [], watermarks: new Map() };
    const redisKeys = keys.map((k) => this.keyOf(k));
    // The views' records go at the end of the same MGETs: one round trip still. A request reads a few
    // views, so a list finds them faster than a Set would.
    const views: string[] = [];
    for (const { view } of keys) if (!views.includes(view)) views.push(view);
    for (const view of views) redisKeys.push(this.watermarkKeys(view).record);
    const raw = await this.mget(redisKeys);
    return { values: RedisOnlineStore.values(raw, keys.length), watermarks: RedisOnlineStore.watermarks(views, raw, keys.length) };
  }

  async readWatermarks(views: readonly string[]): Promise<ReadonlyMap<string, ViewWatermark>> {
    if (views.length === 0) return new Map();
    const unique = [...new Set(views)];
    return RedisOnlineStore.watermarks(unique, await this.mget(unique.map((view) => this.watermarkKeys(view).record)), 0);
  }

  async publishWatermarks(view: string, parts: Readonly<Record<string, number>>, at: number): Promise<WatermarkPublish> {
    checkWatermarkPublish(this.name, view, parts, at);
    const { record, parts: partsKey } = this.watermarkKeys(view);
    const args = Object.entries(parts).flatMap(([part, watermark]) => [part, String(watermark)]);
    const [changed, current] = await this.guarded(this.nodeOf(record), 'publish watermarks', () => this.client.fgPublishWatermarks(record, partsKey, String(at), ...args), 'write');
    const { watermark, at: since } = JSON.parse(current) as { watermark: number; at: number };
    return { current: { view, watermark, at: since }, changed: changed === 1 };
  }

  async writeValues(writes: readonly ValueWrite[]): Promise<ValueWriteOutcome[]> {
    if (writes.length === 0) return [];
    const replies = await this.perNode(writes, this.nodeOfKey, 'write', (write) =>
      this.client.fgWriteValue(this.keyOf(write), JSON.stringify(write.eventTime), JSON.stringify(write.availableTime), write.deleted === true ? '' : JSON.stringify(write.values), String(Math.max(1, Math.round(write.retentionMs)))),
    );
    return replies.map(([code, version, availableTime]): ValueWriteOutcome => {
      if (code === 1) return { outcome: 'applied', version: version as number };
      if (code === 2) return { outcome: 'unchanged', version: version as number, availableTime: availableTime as number };
      return { outcome: 'superseded' };
    });
  }

  async applyTiles(writes: readonly TileWrite[]): Promise<TileWriteOutcome[]> {
    if (writes.length === 0) return [];
    for (const write of writes) checkTileWrite(write);
    const results: TileWriteOutcome[] = new Array(writes.length);
    const calls: number[][] = [];
    if (this.client instanceof Cluster) {
      // One call per slot: a script may only touch keys of one slot there.
      for (const slots of this.groupBySlot(writes.map((w) => this.keyOf(w))).values()) for (const positions of slots.values()) calls.push(positions);
    } else {
      for (let i = 0; i < writes.length; i += this.maxKeysPerTileCall) calls.push(Array.from({ length: Math.min(this.maxKeysPerTileCall, writes.length - i) }, (_, j) => i + j));
    }
    const keyAt = (p: number): string => this.keyOf(writes[p] as TileWrite);
    const replies = await this.perNode(
      calls,
      (positions) => this.nodeOf(keyAt(positions[0] as number)),
      'apply tiles',
      (positions) => {
        const packed = new PackWriter();
        for (const p of positions) packTileWrite(packed, writes[p] as TileWrite);
        return this.client.fgApplyTiles(positions.length, ...positions.map(keyAt), packed.finish());
      },
    );
    calls.forEach((positions, c) => {
      const codes = replies[c] as number[];
      positions.forEach((p, i) => {
        results[p] = outcomeCodes[codes[i] as number] as TileWriteOutcome;
      });
    });
    return results;
  }

  async registerIncarnation(topic: string, partition: number, incarnation: string): Promise<IncarnationRecord> {
    // `~` starts no view name, so this is no view's key. No expiry: the guards it names have theirs.
    const key = `${this.prefix}~incarnations:{${topic}:${partition}}`;
    const [generation, added, previous] = await this.guarded(this.nodeOf(key), 'register incarnation', () => this.client.fgRegisterIncarnation(key, incarnation), 'write');
    return { generation, added: added === 1, previous: previous === '' ? null : previous };
  }

  /**
   * Sends one call per item, each node's calls under one write guard; auto-pipelining turns each
   * node's share into one round trip. Calls for one key keep their order, since one key lives on one
   * node and one connection.
   */
  private async perNode<T, R>(items: readonly T[], nodeOf: (item: T) => string, what: string, send: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    const byNode = new Map<string, number[]>();
    items.forEach((item, index) => {
      const node = nodeOf(item);
      let positions = byNode.get(node);
      if (!positions) byNode.set(node, (positions = []));
      positions.push(index);
    });
    await Promise.all(
      [...byNode].map(([node, positions]) =>
        this.guarded(
          node,
          what,
          async () => {
            const settled = await Promise.all(positions.map((p) => send(items[p] as T)));
            settled.forEach((result, i) => {
              results[positions[i] as number] = result;
            });
          },
          'write',
        ),
      ),
    );
    return results;
  }

  async delete(keys: readonly OnlineKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.perNode(keys, this.nodeOfKey, 'delete', (key) => this.client.del(this.keyOf(key)));
  }

  async *listKeys(view: string): AsyncIterable<string[]> {
    const pattern = `${this.prefix}${view}:{*}`;
    const start = `${this.prefix}${view}:{`.length;
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (found.length > 0) yield found.map((k) => k.slice(start, -1));
      } while (cursor !== '0');
    }
  }

  async ping(): Promise<void> {
    // A client that is not connected would only answer "Stream isn't writeable": say why instead.
    if (this.client.status !== 'ready') throw new OnlineStoreError(this.name, `not connected (${this.client.status})${this.connectionError === null ? '' : `: ${this.connectionError}`}`);
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    if (nodes.length === 0) throw new OnlineStoreError(this.name, 'ping: no master node known yet');
    await Promise.all(nodes.map((node, i) => this.guarded(this.client instanceof Cluster ? `${node.options.host}:${node.options.port}` : 'standalone', 'ping', () => node.ping()).catch((error: unknown) => {
      throw error instanceof OnlineStoreError ? error : new OnlineStoreError(this.name, `ping node ${i}: ${describe(error, this.secrets)}`);
    })));
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
