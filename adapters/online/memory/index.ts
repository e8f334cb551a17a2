// The embedded online store: the same contract as Redis, held in this process. Values are kept as
// copies of their own (structuredClone), so that callers never share mutable state with the store;
// not as JSON, which would turn a sum that overflowed to Infinity into null (Redis keeps Infinity).
import { ConfigError } from '../../../schema/errors.js';
import { OptionCheck, shown } from '../../common/options.js';
import { applyTileWrite, applyValueWrite, checkTileWrite, type StoredState } from '../merge.js';
import { applyWatermarkPublish, checkWatermarkPublish, type HeldWatermarks } from '../watermarks.js';
import type { IncarnationRecord, OnlineKey, OnlineStore, ServingRead, StoredValue, TileWrite, TileWriteOutcome, ValueWrite, ValueWriteOutcome, ViewWatermark, WatermarkPublish } from '../types.js';

export interface MemoryOnlineStoreOptions {
  /** The clock used for expiry; tests move it. */
  now?: () => number;
}

interface Entry {
  value: StoredState;
  expiresAt: number;
}

export class MemoryOnlineStore implements OnlineStore {
  readonly name = 'memory';
  private readonly entries = new Map<string, Entry>();
  /** Per stream partition, its incarnations in the order recorded (registerIncarnation). */
  private readonly incarnations = new Map<string, string[]>();
  /** Per view, its parts' watermarks and its record (publishWatermarks); no expiry. */
  private readonly watermarks = new Map<string, HeldWatermarks>();
  private readonly now: () => number;
  private closed = false;

  constructor(options: MemoryOnlineStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new ConfigError(`memory online store: options must be an object, got ${shown(options)}`);
    const check = new OptionCheck();
    this.now = check.callback('memory online store: now', options.now, Date.now);
    check.done();
  }

  private static id(key: OnlineKey): string {
    return `${key.view}\u0000${key.key}`;
  }

  /** The key's value or tombstone, unless expired. */
  private get(id: string): StoredState | null {
    const entry = this.entries.get(id);
    if (!entry) return null;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(id);
      return null;
    }
    return structuredClone(entry.value);
  }

  private set(id: string, value: StoredState, retentionMs: number): void {
    this.entries.set(id, { value: structuredClone(value), expiresAt: this.now() + retentionMs });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('memory online store is closed');
  }

  async read(keys: readonly OnlineKey[]): Promise<(StoredValue | null)[]> {
    this.assertOpen();
    return keys.map((key) => {
      const state = this.get(MemoryOnlineStore.id(key));
      return state === null || state.deleted === true ? null : state;
    });
  }

  async readServing(keys: readonly OnlineKey[]): Promise<ServingRead> {
    const values = await this.read(keys);
    return { values, watermarks: this.watermarksOf(new Set(keys.map((key) => key.view))) };
  }

  async readWatermarks(views: readonly string[]): Promise<ReadonlyMap<string, ViewWatermark>> {
    this.assertOpen();
    return this.watermarksOf(views);
  }

  private watermarksOf(views: Iterable<string>): Map<string, ViewWatermark> {
    const out = new Map<string, ViewWatermark>();
    for (const view of views) {
      const record = this.watermarks.get(view)?.record;
      if (record) out.set(view, { view, ...record });
    }
    return out;
  }

  async publishWatermarks(view: string, parts: Readonly<Record<string, number>>, at: number): Promise<WatermarkPublish> {
    this.assertOpen();
    checkWatermarkPublish(this.name, view, parts, at);
    let held = this.watermarks.get(view);
    if (!held) this.watermarks.set(view, (held = { parts: new Map(), record: null }));
    return applyWatermarkPublish(view, held, parts, at);
  }

  async writeValues(writes: readonly ValueWrite[]): Promise<ValueWriteOutcome[]> {
    this.assertOpen();
    return writes.map((write) => {
      const id = MemoryOnlineStore.id(write);
      const { outcome, next } = applyValueWrite(this.get(id), write);
      if (next) this.set(id, next, write.retentionMs);
      return outcome;
    });
  }

  async applyTiles(writes: readonly TileWrite[]): Promise<TileWriteOutcome[]> {
    this.assertOpen();
    for (const write of writes) checkTileWrite(write);
    return writes.map((write) => {
      const id = MemoryOnlineStore.id(write);
      const { outcome, next } = applyTileWrite(this.get(id), write);
      if (next) this.set(id, next, write.retentionMs);
      return outcome;
    });
  }

  async registerIncarnation(topic: string, partition: number, incarnation: string): Promise<IncarnationRecord> {
    this.assertOpen();
    const id = `${topic}\u0000${partition}`;
    const known = this.incarnations.get(id) ?? [];
    this.incarnations.set(id, known);
    let generation = known.indexOf(incarnation);
    const added = generation < 0;
    if (added) generation = known.push(incarnation) - 1;
    return { generation, added, previous: known[generation - 1] ?? null };
  }

  async delete(keys: readonly OnlineKey[]): Promise<void> {
    this.assertOpen();
    for (const key of keys) this.entries.delete(MemoryOnlineStore.id(key));
  }

  async *listKeys(view: string): AsyncIterable<string[]> {
    this.assertOpen();
    const prefix = `${view}\u0000`;
    const keys: string[] = [];
    for (const id of [...this.entries.keys()]) if (id.startsWith(prefix) && this.get(id) !== null) keys.push(id.slice(prefix.length));
    for (let i = 0; i < keys.length; i += 1000) yield keys.slice(i, i + 1000);
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.entries.clear();
    this.watermarks.clear();
  }
}
