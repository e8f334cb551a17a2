// A fast path for the common stream message: a flat JSON object whose declared fields all have their
// declared types. It reads the key, the event time and the fields features aggregate straight from
// the payload's bytes, with no object per event, since JSON.parse plus validation is most of the
// general path's CPU time per event. Anything else (escapes, nesting, a missing or mistyped field, a
// repeated one, an unusual time format, malformed JSON) makes it answer null, and the message takes
// the general path (decode.ts), which alone decides dead letters and their reasons. So the fast path
// can only agree with the general one; test/unit/materializers/stream/scan.test.ts checks that on
// random messages.
import type { EventFieldType, StreamSourceDefinition } from '../../schema/types.js';
import { parseIsoBytes, parseTimestamp } from './decode.js';

interface ScanField {
  bytes: Uint8Array;
  /** The declared type, or null for a field features read that the source does not declare. */
  type: EventFieldType | null;
  required: boolean;
  isKey: boolean;
  isEventTime: boolean;
  /** Where its value goes in ScannedEvent.values, or -1 when only its type matters. */
  slot: number;
  /** Its name has no quote, backslash or control character, so its bytes in a payload are the name itself. */
  plain: boolean;
}

export interface ScanSpec {
  fields: ScanField[];
  /** Entity keys seen lately, by a hash of their bytes: most events repeat a key, and need no new string. */
  keys: string[];
  /** How many values an event carries (the wanted fields). */
  slots: number;
  /** Per field, the number of the last scan that met it: a repeated name is seen without clearing anything per scan. */
  seen: Int32Array;
  scans: number;
}

/** One message's event, in a reused object: read it before scanning the next message. */
export interface ScannedEvent {
  key: string;
  eventTime: number;
  /** The wanted fields' values (undefined when absent), in the order scanSpec was given them. */
  values: unknown[];
}

/** A spec for a source, keeping the values of `wanted` fields. */
export function scanSpec(source: StreamSourceDefinition, wanted: readonly string[]): ScanSpec {
  const names = [...new Set([...Object.keys(source.fields), ...wanted, source.keyField, source.eventTimeField])];
  const fields = names.map((name) => ({
    bytes: Buffer.from(name, 'utf8'),
    type: source.fields[name] ?? null,
    required: name === source.keyField || name === source.eventTimeField,
    isKey: name === source.keyField,
    isEventTime: name === source.eventTimeField,
    slot: wanted.indexOf(name),
    plain: !/["\\\u0000-\u001f]/.test(name),
  }));
  return { fields, slots: wanted.length, keys: new Array<string>(keySlots).fill(''), seen: new Int32Array(fields.length), scans: 0 };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i] as number;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** The end of a string's text that starts after its opening quote at i, or -1 for escapes or control characters. */
function stringEnd(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i] as number;
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < 0x20) return -1;
    i++;
  }
  return -1;
}

const powersOfTen = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** A JSON number at i: its value and end, or null when it is not a JSON number. */
function scanNumber(b: Uint8Array, i: number, end: number, out: { value: number; end: number }): boolean {
  const start = i;
  let negative = false;
  if (b[i] === 0x2d) {
    negative = true;
    i++;
  }
  const intStart = i;
  let mantissa = 0;
  let digits = 0;
  while (i < end && (b[i] as number) >= 0x30 && (b[i] as number) <= 0x39) {
    mantissa = mantissa * 10 + ((b[i] as number) - 0x30);
    digits++;
    i++;
  }
  if (digits === 0 || (b[intStart] === 0x30 && digits > 1)) return false;
  let fraction = 0;
  if (b[i] === 0x2e) {
    i++;
    const fracStart = i;
    while (i < end && (b[i] as number) >= 0x30 && (b[i] as number) <= 0x39) {
      mantissa = mantissa * 10 + ((b[i] as number) - 0x30);
      i++;
    }
    fraction = i - fracStart;
    if (fraction === 0) return false;
    digits += fraction;
  }
  let exponent = false;
  if (b[i] === 0x65 || b[i] === 0x45) {
    exponent = true;
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    const expStart = i;
    while (i < end && (b[i] as number) >= 0x30 && (b[i] as number) <= 0x39) i++;
    if (i === expStart) return false;
  }
  out.end = i;
  // Up to 15 digits and no exponent, the digits and the power of ten are exact doubles, so one
  // division rounds correctly (what Number() does); anything longer is left to Number() itself.
  if (!exponent && digits <= 15) out.value = negative ? -(mantissa / (powersOfTen[fraction] as number)) : mantissa / (powersOfTen[fraction] as number);
  else out.value = Number(Buffer.from(b.buffer, b.byteOffset + start, i - start).toString('latin1'));
  return true;
}

/** Slots of the key cache (a power of two): direct-mapped, so a lookup is an index, not a Map probe. */
const keySlots = 1 << 14;

/** The ASCII text in b[start, end) as a string, from the spec's cache when it was seen before. */
function keyText(spec: ScanSpec, b: Buffer, start: number, end: number): string {
  let hash = 0x811c9dc5;
  for (let k = start; k < end; k++) {
    const c = b[k] as number;
    if (c >= 0x80) return b.toString('utf8', start, end);
    hash = Math.imul(hash ^ c, 0x01000193);
  }
  const slot = hash & (keySlots - 1);
  const cached = spec.keys[slot] as string;
  if (cached.length === end - start) {
    let same = true;
    for (let k = 0; k < cached.length; k++) {
      if (cached.charCodeAt(k) !== b[start + k]) {
        same = false;
        break;
      }
    }
    if (same) return cached;
  }
  const text = b.toString('latin1', start, end);
  spec.keys[slot] = text;
  return text;
}

function matches(b: Uint8Array, start: number, length: number, name: Uint8Array): boolean {
  if (name.length !== length) return false;
  for (let k = 0; k < length; k++) if (b[start + k] !== name[k]) return false;
  return true;
}

const number = { value: 0, end: 0 };

/**
 * The event in bytes [start, end) of `buffer`, or null when the message must take the general path.
 * `event` is filled and returned.
 */
export function scanEvent(spec: ScanSpec, buffer: Buffer, start: number, end: number, event: ScannedEvent): ScannedEvent | null {
  const b = buffer;
  const fields = spec.fields;
  const seen = spec.seen;
  let scan = spec.scans + 1;
  if (scan > 0x3fff_ffff) {
    seen.fill(0);
    scan = 1;
  }
  spec.scans = scan;
  const values = event.values;
  for (let v = 0; v < spec.slots; v++) values[v] = undefined;
  // Producers write their fields in one order: the field after the last one found is tried first.
  let next = 0;
  let eventTime = Number.NaN;
  let key: string | null = null;
  let i = skipSpace(b, start, end);
  if (b[i] !== 0x7b) return null;
  i = skipSpace(b, i + 1, end);
  if (b[i] === 0x7d) return null;
  for (;;) {
    if (b[i] !== QUOTE) return null;
    const nameStart = i + 1;
    let nameEnd = -1;
    let field: ScanField | null = null;
    let f = next;
    // The expected field is matched in one pass: its name's bytes, then the closing quote.
    if (f < fields.length) {
      const expected = (fields[f] as ScanField).bytes;
      const quoteAt = nameStart + expected.length;
      if ((fields[f] as ScanField).plain && quoteAt < end && b[quoteAt] === QUOTE && matches(b, nameStart, expected.length, expected)) nameEnd = quoteAt;
    }
    if (nameEnd < 0) {
      nameEnd = stringEnd(b, nameStart, end);
      if (nameEnd < 0) return null;
      const nameLength = nameEnd - nameStart;
      for (f = 0; f < fields.length; f++) if (matches(b, nameStart, nameLength, (fields[f] as ScanField).bytes)) break;
    }
    if (f < fields.length) {
      field = fields[f] as ScanField;
      next = f + 1;
    }
    if (field !== null) {
      // JSON.parse keeps the last of repeated names; the general path handles that.
      if (seen[f] === scan) return null;
      seen[f] = scan;
    }
    i = skipSpace(b, nameEnd + 1, end);
    if (b[i] !== 0x3a) return null;
    i = skipSpace(b, i + 1, end);
    const c = b[i];
    let value: unknown;
    if (c === QUOTE) {
      let textEnd: number;
      if (field !== null && field.isEventTime) {
        // Only the form toISOString writes, whose 24 characters parseIsoBytes checks one by one (so no
        // quote or escape among them); parseTimestamp decides the rest on the general path.
        textEnd = i + 25;
        if (textEnd >= end || b[textEnd] !== QUOTE) return null;
        eventTime = parseIsoBytes(b, i + 1);
        if (Number.isNaN(eventTime)) return null;
        value = field.slot >= 0 ? b.toString('utf8', i + 1, textEnd) : undefined;
      } else {
        textEnd = stringEnd(b, i + 1, end);
        if (textEnd < 0) return null;
      }
      if (field !== null && !field.isEventTime) {
        if (field.type === 'string' || field.type === null || field.type === 'timestamp' || field.isKey) {
          if (field.isKey) value = keyText(spec, b, i + 1, textEnd);
          else if (field.slot >= 0 || field.type === 'timestamp') value = b.toString('utf8', i + 1, textEnd);
          if (field.type === 'timestamp' && Number.isNaN(parseTimestamp(value as string))) return null;
          if (field.isKey) {
            if (field.type !== 'string' && field.type !== null) return null;
            key = value as string;
          }
        } else return null;
      }
      i = textEnd + 1;
    } else if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) {
      if (!scanNumber(b, i, end, number)) return null;
      i = number.end;
      if (field !== null) {
        if (field.isKey) return null;
        if (field.type !== null && field.type !== 'number' && field.type !== 'timestamp') return null;
        if (field.type !== null && !Number.isFinite(number.value)) return null;
        value = number.value;
        if (field.isEventTime) eventTime = number.value;
      }
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      const literal = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
      for (let k = 1; k < literal.length; k++) if (b[i + k] !== literal.charCodeAt(k)) return null;
      i += literal.length;
      if (field !== null) {
        if (c === 0x6e) {
          if (field.required) return null;
          value = null;
        } else {
          if (field.type !== null && field.type !== 'boolean') return null;
          value = c === 0x74;
        }
      }
    } else return null;
    if (field !== null && field.slot >= 0) values[field.slot] = value;
    i = skipSpace(b, i, end);
    if (b[i] === 0x2c) {
      i = skipSpace(b, i + 1, end);
      continue;
    }
    if (b[i] !== 0x7d) return null;
    break;
  }
  if (skipSpace(b, i + 1, end) !== end) return null;
  if (key === null || key === '' || Number.isNaN(eventTime)) return null;
  event.key = key;
  event.eventTime = eventTime;
  return event;
}
