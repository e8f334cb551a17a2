// How a packed value is laid out in Redis, and its decoding back into a StoredValue.
//
// Column views (writeValues) are JSON objects that start with `{"eventTime":`; the write script reads
// the event time from that prefix. Windowed views (applyTiles) are MessagePack, written by the tile
// script with Redis's own cmsgpack, since decoding and re-encoding JSON in Lua costs most of a tile
// write: an array `[2, eventTime, availableTime, offsets, tiles]` whose first element is the format
// version. Format 1, a windowed value as a JSON object, is still supported: it reads like format 2,
// its offsets guard replays, and the tile script rewrites it as format 2 on its next write, so keys in
// either format are served without re-materializing.
import type { Cell } from '../../../schema/windows.js';
import type { StoredValue } from '../types.js';

/** The first two bytes of a format-2 value: a MessagePack array of 5, then the positive fixint 2. */
export const tileFormatMarker = [0x95, 0x02] as const;

/** Thrown on bytes that are neither JSON nor the MessagePack subset the tile script writes. */
export class PackedValueError extends Error {}

type Unpacked = null | boolean | number | string | Unpacked[] | { [key: string]: Unpacked };

/**
 * A MessagePack reader for what cmsgpack writes from the tile script's Lua tables: nil, booleans,
 * integers up to 2^53, float32/64, strings, arrays and maps (keys become object keys, as JSON's do).
 */
class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  value(): Unpacked {
    const buf = this.buf;
    if (this.at >= buf.length) throw new PackedValueError('packed value ends early');
    const byte = buf[this.at++] as number;
    if (byte < 0x80) return byte;
    if (byte >= 0xe0) return byte - 0x100;
    if (byte >= 0xa0 && byte <= 0xbf) return this.str(byte & 0x1f);
    if (byte >= 0x90 && byte <= 0x9f) return this.array(byte & 0x0f);
    if (byte >= 0x80 && byte <= 0x8f) return this.map(byte & 0x0f);
    const at = this.at;
    switch (byte) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xca:
        this.at += 4;
        return buf.readFloatBE(at);
      case 0xcb:
        this.at += 8;
        return buf.readDoubleBE(at);
      case 0xcc:
        this.at += 1;
        return buf.readUInt8(at);
      case 0xcd:
        this.at += 2;
        return buf.readUInt16BE(at);
      case 0xce:
        this.at += 4;
        return buf.readUInt32BE(at);
      case 0xcf:
        this.at += 8;
        return buf.readUInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
      case 0xd0:
        this.at += 1;
        return buf.readInt8(at);
      case 0xd1:
        this.at += 2;
        return buf.readInt16BE(at);
      case 0xd2:
        this.at += 4;
        return buf.readInt32BE(at);
      case 0xd3:
        this.at += 8;
        return buf.readInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
      case 0xd9:
        this.at += 1;
        return this.str(buf.readUInt8(at));
      case 0xda:
        this.at += 2;
        return this.str(buf.readUInt16BE(at));
      case 0xdb:
        this.at += 4;
        return this.str(buf.readUInt32BE(at));
      case 0xdc:
        this.at += 2;
        return this.array(buf.readUInt16BE(at));
      case 0xdd:
        this.at += 4;
        return this.array(buf.readUInt32BE(at));
      case 0xde:
        this.at += 2;
        return this.map(buf.readUInt16BE(at));
      case 0xdf:
        this.at += 4;
        return this.map(buf.readUInt32BE(at));
      default:
        throw new PackedValueError(`unexpected MessagePack type 0x${byte.toString(16)} at byte ${at - 1}`);
    }
  }

  private str(length: number): string {
    const end = this.at + length;
    if (end > this.buf.length) throw new PackedValueError('packed value ends inside a string');
    const s = this.buf.toString('utf8', this.at, end);
    this.at = end;
    return s;
  }

  private array(length: number): Unpacked[] {
    const out = new Array<Unpacked>(length);
    for (let i = 0; i < length; i++) out[i] = this.value();
    return out;
  }

  private map(length: number): { [key: string]: Unpacked } {
    const out: { [key: string]: Unpacked } = {};
    for (let i = 0; i < length; i++) {
      const key = String(this.value());
      const value = this.value();
      // An own property even for "__proto__", as JSON.parse makes it.
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
    }
    return out;
  }

  get done(): boolean {
    return this.at === this.buf.length;
  }
}

/**
 * A Lua table packs as an array when its keys are exactly 1..n (an empty one too): a tile map with
 * tiles 1..n, or no tiles, comes back as an array, which means the same tiles.
 */
function asMap<T>(value: Unpacked | undefined): Record<string, T> {
  if (value === null || value === undefined) return {};
  if (!Array.isArray(value)) return value as unknown as Record<string, T>;
  const out: Record<string, T> = {};
  value.forEach((v, i) => {
    out[String(i + 1)] = v as T;
  });
  return out;
}

function decodeTileFormat(buf: Buffer): StoredValue {
  const reader = new Reader(buf);
  const top = reader.value();
  if (!reader.done || !Array.isArray(top) || top.length !== 5 || top[0] !== 2) throw new PackedValueError('not a format-2 tile value');
  const tiles: Record<string, Record<string, Cell>> = {};
  const features = asMap<Unpacked>(top[4]);
  for (const feature in features) tiles[feature] = asMap<Cell>(features[feature]);
  return { eventTime: top[1] as number, availableTime: top[2] as number, tiles, offsets: asMap<number>(top[3]) };
}

/** A stored value from its bytes (a JSON object, or a format-2 tile value). */
/** A stored value, or null for the tombstone of a delete (scripts.ts writeValueScript), which reads as nothing. */
export function decodeStoredValue(buf: Buffer): StoredValue | null {
  if (buf[0] === tileFormatMarker[0] && buf[1] === tileFormatMarker[1]) return decodeTileFormat(buf);
  const value = JSON.parse(buf.toString('utf8')) as StoredValue & { deleted?: true };
  return value.deleted === true ? null : value;
}

/**
 * Writes the MessagePack subset cmsgpack reads into Lua values: numbers (integers exactly up to 2^53,
 * others as float64) and strings. Tile writes go to the script as one such array: cmsgpack decodes it
 * in C, where tonumber on every positional argument cost the script a third of its time.
 */
export class PackWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private at = 5;
  private count = 0;

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  /** Items written so far; `set` overwrites a number written at a slot taken by `placeholder`. */
  get length(): number {
    return this.count;
  }

  number(n: number): void {
    this.count++;
    this.room(9);
    const buf = this.buf;
    if (Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff) {
      if (n < 0x80) buf[this.at++] = n;
      else {
        buf[this.at++] = 0xce;
        buf.writeUInt32BE(n, this.at);
        this.at += 4;
      }
    } else if (Number.isInteger(n) && n >= -0x8000_0000 && n < 0) {
      buf[this.at++] = 0xd2;
      buf.writeInt32BE(n, this.at);
      this.at += 4;
    } else {
      // float64 holds every integer up to 2^53 exactly too.
      buf[this.at++] = 0xcb;
      buf.writeDoubleBE(n, this.at);
      this.at += 8;
    }
  }

  /** Reserves a uint32 slot for a count known only later. */
  placeholder(): number {
    this.count++;
    this.room(5);
    const at = this.at;
    this.buf[at] = 0xce;
    this.at += 5;
    return at;
  }

  fill(slot: number, n: number): void {
    this.buf.writeUInt32BE(n, slot + 1);
  }

  string(s: string): void {
    this.count++;
    const bytes = Buffer.byteLength(s);
    this.room(bytes + 5);
    const buf = this.buf;
    if (bytes < 32) buf[this.at++] = 0xa0 | bytes;
    else if (bytes <= 0xff) {
      buf[this.at++] = 0xd9;
      buf[this.at++] = bytes;
    } else {
      buf[this.at++] = 0xdb;
      buf.writeUInt32BE(bytes, this.at);
      this.at += 4;
    }
    this.at += buf.write(s, this.at, 'utf8');
  }

  /** Everything written, as one array. */
  finish(): Buffer {
    this.buf[0] = 0xdd;
    this.buf.writeUInt32BE(this.count, 1);
    return this.buf.subarray(0, this.at);
  }
}
