// Decodes and validates one stream message against its source's declared fields. A message that
// fails gets a reason for the dead-letter topic instead of an exception.
import { readInstantText } from '../../schema/instant.js';
import type { EventFieldType, StreamSourceDefinition } from '../../schema/types.js';

export interface DecodedEvent {
  key: string;
  eventTime: number;
  fields: Record<string, unknown>;
}

export type DecodeResult = { ok: true; event: DecodedEvent } | { ok: false; reason: string };

function checkType(type: EventFieldType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'timestamp':
      return (typeof value === 'string' && !Number.isNaN(parseTimestamp(value))) || (typeof value === 'number' && Number.isFinite(value));
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    default: {
      const unreachable: never = type;
      throw new Error(`unknown event field type ${String(unreachable)}`);
    }
  }
}

const cumulativeDays = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Epoch ms of a UTC date's midnight, or NaN when a part is out of range (a digit was not one: -1). */
function dayMs(year: number, month: number, day: number): number {
  if (year < 1970 || month < 1 || month > 12 || day < 1) return Number.NaN;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (monthDays[month - 1] as number) + (month === 2 && leap ? 1 : 0)) return Number.NaN;
  // Days since 1970-01-01: whole years, leap days before this year, days of this year so far.
  const leapsBefore = Math.floor((year - 1969) / 4) - Math.floor((year - 1901) / 100) + Math.floor((year - 1601) / 400);
  const days = (year - 1970) * 365 + leapsBefore + (cumulativeDays[month - 1] as number) + (month > 2 && leap ? 1 : 0) + day - 1;
  return days * 86_400_000;
}

/** Milliseconds into a day, or NaN when a part is out of range (a digit was not one: -1). */
function timeOfDayMs(hour: number, minute: number, second: number, ms: number): number {
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) return Number.NaN;
  return hour * 3_600_000 + minute * 60_000 + second * 1000 + ms;
}

/** The number written at text[at..at+length) in decimal digits, or -1 if any is not a digit. */
function digits(text: string, at: number, length: number): number {
  let n = 0;
  for (let i = at; i < at + length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * An event time's text by the one rule for instants (schema/instant.ts: ISO-8601 calendar-checked, no
 * offset meaning UTC, or epoch ms), NaN when it is none; with a fast path for what toISOString writes
 * (`YYYY-MM-DDTHH:mm:ss.sssZ`): on a busy stream the general parser was a tenth of the materializer's
 * own time. Any other shape, and any date the fast path does not take, goes to the rule.
 */
export function parseTimestamp(text: string): number {
  if (
    text.length === 24 &&
    text.charCodeAt(4) === 45 &&
    text.charCodeAt(7) === 45 &&
    text.charCodeAt(10) === 84 &&
    text.charCodeAt(13) === 58 &&
    text.charCodeAt(16) === 58 &&
    text.charCodeAt(19) === 46 &&
    text.charCodeAt(23) === 90
  ) {
    const ms = dayMs(digits(text, 0, 4), digits(text, 5, 2), digits(text, 8, 2)) + timeOfDayMs(digits(text, 11, 2), digits(text, 14, 2), digits(text, 17, 2), digits(text, 20, 3));
    if (!Number.isNaN(ms)) return ms;
  }
  const reading = readInstantText(text);
  return reading.ok ? reading.ms : Number.NaN;
}

function byteDigits(b: Uint8Array, at: number, length: number): number {
  let n = 0;
  for (let i = at; i < at + length; i++) {
    const c = (b[i] as number) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

// The date part (YYYY-MM-DD) parseIsoBytes met last, and its midnight: a stream's events mostly share a day.
const lastDay = new Uint8Array(10);
let lastDayMs = Number.NaN;

/** parseTimestamp of the 24 bytes at b[at..], when they have toISOString's form; NaN otherwise (ask parseTimestamp). */
export function parseIsoBytes(b: Uint8Array, at: number): number {
  if (b[at + 4] !== 45 || b[at + 7] !== 45 || b[at + 10] !== 84 || b[at + 13] !== 58 || b[at + 16] !== 58 || b[at + 19] !== 46 || b[at + 23] !== 90) return Number.NaN;
  const time = timeOfDayMs(byteDigits(b, at + 11, 2), byteDigits(b, at + 14, 2), byteDigits(b, at + 17, 2), byteDigits(b, at + 20, 3));
  if (Number.isNaN(time)) return Number.NaN;
  if (!isLastDay(b, at)) {
    const day = dayMs(byteDigits(b, at, 4), byteDigits(b, at + 5, 2), byteDigits(b, at + 8, 2));
    if (Number.isNaN(day)) return Number.NaN;
    lastDay.set(b.subarray(at, at + 10));
    lastDayMs = day;
  }
  return lastDayMs + time;
}

function isLastDay(b: Uint8Array, at: number): boolean {
  for (let k = 0; k < 10; k++) if (b[at + k] !== lastDay[k]) return false;
  return true;
}

export function toEpochMs(value: unknown): number {
  return typeof value === 'number' ? value : parseTimestamp(String(value));
}

export type ParseResult = { ok: true; fields: Record<string, unknown> } | { ok: false; reason: string };

/** Parses a message's JSON once (null: a tombstone); every view reading the topic validates the same object. */
export function parseText(text: string | null): ParseResult {
  if (text === null) return { ok: false, reason: 'empty message (tombstone)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'not a JSON object' };
  return { ok: true, fields: parsed as Record<string, unknown> };
}

const declaredFields = new WeakMap<StreamSourceDefinition, [string, EventFieldType, boolean][]>();

/** A source's declared fields as [name, type, required], worked out once per source. */
export function fieldsOf(source: StreamSourceDefinition): [string, EventFieldType, boolean][] {
  let fields = declaredFields.get(source);
  if (!fields) {
    fields = Object.entries(source.fields).map(([name, type]) => [name, type, name === source.keyField || name === source.eventTimeField]);
    declaredFields.set(source, fields);
  }
  return fields;
}

/** Checks a parsed event against its source's declared fields. */
export function validateEvent(source: StreamSourceDefinition, fields: Record<string, unknown>, declared = fieldsOf(source)): DecodeResult {
  let eventTime = Number.NaN;
  for (const [name, type, required] of declared) {
    const value = fields[name];
    if (value === undefined || value === null) {
      if (required) return { ok: false, reason: `missing required field "${name}"` };
      continue;
    }
    if (type === 'timestamp' && name === source.eventTimeField) {
      eventTime = toEpochMs(value);
      if ((typeof value !== 'string' && typeof value !== 'number') || !Number.isFinite(eventTime)) return { ok: false, reason: `field "${name}" must be timestamp, got ${JSON.stringify(value)?.slice(0, 80)}` };
      continue;
    }
    if (!checkType(type, value)) return { ok: false, reason: `field "${name}" must be ${type}, got ${JSON.stringify(value)?.slice(0, 80)}` };
  }
  const key = fields[source.keyField];
  if (typeof key !== 'string' || key === '') return { ok: false, reason: `key field "${source.keyField}" must be a non-empty string` };
  if (Number.isNaN(eventTime)) eventTime = toEpochMs(fields[source.eventTimeField]);
  return { ok: true, event: { key, eventTime, fields } };
}
