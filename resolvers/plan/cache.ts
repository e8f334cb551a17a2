// A least-recently-used cache bounded by the bytes of what it keeps, not by its number of entries:
// an entry's size is the caller's estimate of what the entry holds alive (its key text, its value).
// Entries over a per-entry limit are never kept, so one huge text cannot push out every other entry.

export interface ByteBoundedCacheOptions {
  /** Most bytes held by all entries together. */
  maxBytes: number;
  /** Most bytes one entry may hold to be kept (default: maxBytes). */
  maxEntryBytes?: number;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

export class ByteBoundedCache<V> {
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
  /** In use order: the first entry is the least recently used. */
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private held = 0;

  constructor(options: ByteBoundedCacheOptions) {
    this.maxBytes = positiveInteger('maxBytes', options.maxBytes);
    this.maxEntryBytes = positiveInteger('maxEntryBytes', options.maxEntryBytes ?? options.maxBytes);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes held by the entries, as estimated when they were set. */
  get bytes(): number {
    return this.held;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Keeps the value unless it is over the entry limit; returns whether it was kept. */
  set(key: string, value: V, bytes: number): boolean {
    this.delete(key);
    if (bytes > this.maxEntryBytes) return false;
    while (this.held + bytes > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
    this.entries.set(key, { value, bytes });
    this.held += bytes;
    return true;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.held -= entry.bytes;
  }
}

/**
 * An upper estimate of the memory plain values keep alive: 16 bytes per object, array or string
 * header, 8 per slot, 2 per character (V8 stores a character in one byte or two). Shared objects count
 * once. For syntax trees and small records, not for values that reach the registry or the schema.
 */
export function estimateRetainedBytes(value: unknown, seen: WeakSet<object> = new WeakSet()): number {
  if (typeof value === 'string') return 16 + 2 * value.length;
  if (typeof value !== 'object' || value === null || seen.has(value)) return 0;
  seen.add(value);
  let bytes = 16;
  if (value instanceof Map) {
    for (const [key, item] of value) bytes += 16 + estimateRetainedBytes(key, seen) + estimateRetainedBytes(item, seen);
  } else if (value instanceof Set || Array.isArray(value)) {
    for (const item of value) bytes += 8 + estimateRetainedBytes(item, seen);
  } else {
    for (const item of Object.values(value)) bytes += 8 + estimateRetainedBytes(item, seen);
  }
  return bytes;
}
