// The one rule for instants that enter featuregraph: GraphQL DateTime, the asOf of training-set rows
// (JSON, CSV, Parquet, NDJSON), CLI flags. Every path calls readInstant, or, where rows are parsed
// inside DuckDB, the SQL of adapters/sources/embedded/instant-sql.ts, which a test holds to the same
// answers on the same inputs. Nothing here consults the local time zone or Date.parse: V8's parser
// reads an offset-less date-time in the server's zone and rolls 2026-02-30 over to March 2.
//
// - ISO-8601 text: YYYY-MM-DD (midnight UTC), or date, `T` or one space, HH:MM[:SS[.f{1,9}]], then
//   Z, ±HH:MM, ±HHMM or nothing; no offset means UTC. Calendar-checked (leap years; no 24:00, no
//   second 60); years 0000-9999.
// - Epoch milliseconds: a number, or text of a decimal number (optional sign, digits, optional
//   fraction). A fraction is floored (toward -infinity), as are sub-millisecond digits of ISO seconds:
//   rounding up would read a change made after the instant asked for.
// - Anything else, NaN, infinities, and instants outside the range of Date (±8.64e15 ms) are refused.
import { BadInputError } from './errors.js';

/** The largest |epoch ms| a Date holds (ECMA-262 TimeClip). */
export const maxInstantMs = 8_640_000_000_000_000;

/** What every refusal lists as accepted. */
export const instantForms =
  'ISO-8601 text (2026-01-31, 2026-01-31T12:00, 2026-01-31T12:00:00.250Z, 2026-01-31 12:00:00+02:00; no offset means UTC) or epoch milliseconds (1769860800000; a fraction is floored)';

export type InstantReading = { ok: true; ms: number } | { ok: false; reason: string };

/** Sign, integer digits, fraction digits: the text form of epoch milliseconds. */
export const epochTextPattern = /^([+-]?)([0-9]+)(?:\.([0-9]+))?$/;

/** Year, month, day, then optionally hour, minute, second, fraction, offset (Z, ±HH:MM or ±HHMM). */
export const isoTextPattern = /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$/;

const DAY = 86_400_000;

export function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

export function daysInMonth(year: number, month: number): number {
  return month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil): no Date, no zone. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

const refuse = (reason: string): InstantReading => ({ ok: false, reason });

function inRange(ms: number): InstantReading {
  if (!(Math.abs(ms) <= maxInstantMs)) return refuse(`it is outside the range of dates (±${maxInstantMs} ms)`);
  // -0 would print as 0 but compare differently in places (Object.is): one zero only.
  return { ok: true, ms: ms === 0 ? 0 : ms };
}

/** Epoch ms given as a number (JSON, GraphQL variables): finite, floored, within the Date range. */
export function readEpochNumber(value: number): InstantReading {
  if (!Number.isFinite(value)) return refuse('it is not a finite number');
  return inRange(Math.floor(value));
}

function readEpochText(sign: string, digits: string, fraction: string | undefined): InstantReading {
  // Exact on the digits: Number("1767232593635.9999999") would round up before any floor.
  const significant = digits.replace(/^0+(?=.)/, '');
  if (significant.length > 16) return refuse(`it is outside the range of dates (±${maxInstantMs} ms)`);
  const whole = Number(significant);
  const below = fraction !== undefined && /[1-9]/.test(fraction);
  return inRange(sign === '-' ? -whole - (below ? 1 : 0) : whole);
}

function readIsoText(match: RegExpExecArray): InstantReading {
  const [, y, mo, d, h, mi, s, fraction, offset] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12) return refuse(`month ${mo} is not 01-12`);
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) return refuse(`day ${d} is not in ${y}-${mo}, which has ${days} days`);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23) return refuse(`hour ${h} is not 00-23`);
  if (minute > 59) return refuse(`minute ${mi} is not 00-59`);
  if (second > 59) return refuse(`second ${s} is not 00-59 (leap seconds are not instants here)`);
  // The first three digits are whole milliseconds; the rest only ever lower the instant, so they go.
  const millis = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  let offsetMinutes = 0;
  if (offset !== undefined && offset !== 'Z') {
    const oh = Number(offset.slice(1, 3));
    const om = Number(offset.slice(-2));
    if (oh > 23 || om > 59) return refuse(`offset ${offset} is not within ±23:59`);
    offsetMinutes = (offset.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  return inRange(daysFromCivil(year, month, day) * DAY + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis);
}

/** ISO-8601 text or decimal epoch-ms text, by the rule above. */
export function readInstantText(text: string): InstantReading {
  const epoch = epochTextPattern.exec(text);
  if (epoch) return readEpochText(epoch[1] as string, epoch[2] as string, epoch[3]);
  const iso = isoTextPattern.exec(text);
  if (iso) return readIsoText(iso);
  if (text.trim() === '') return refuse('it is empty');
  if (text !== text.trim()) return refuse('it has spaces around it');
  return refuse('it is neither ISO-8601 text nor epoch milliseconds');
}

/** Any value: text (ISO-8601 or decimal epoch ms), a number or bigint (epoch ms). */
export function readInstant(value: unknown): InstantReading {
  if (typeof value === 'string') return readInstantText(value);
  if (typeof value === 'number') return readEpochNumber(value);
  if (typeof value === 'bigint') return value >= -BigInt(maxInstantMs) && value <= BigInt(maxInstantMs) ? inRange(Number(value)) : refuse(`it is outside the range of dates (±${maxInstantMs} ms)`);
  if (value === null || value === undefined) return refuse('it is missing');
  return refuse(`a ${Array.isArray(value) ? 'list' : typeof value} is not an instant`);
}

/** A value as it appears in messages: JSON where JSON can say it, else its text. */
export function showValue(value: unknown): string {
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The refusal every path gives: where, the value, why, and what is accepted. */
export function instantRefusal(where: string, value: unknown, reason: string): BadInputError {
  return new BadInputError(`${where} ${showValue(value)} is not an instant: ${reason}; accepted: ${instantForms}`);
}

/**
 * The instant `value` stands for, in epoch ms, or a BadInputError naming `where` (e.g. "row 3: asOf",
 * "--from"), the value and the accepted forms; with `now`, an instant after it is refused too.
 */
export function parseInstant(value: unknown, where: string, options: { now?: number } = {}): number {
  const reading = readInstant(value);
  if (!reading.ok) throw instantRefusal(where, value, reading.reason);
  if (options.now !== undefined) refuseFuture(reading.ms, options.now, where);
  return reading.ms;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function futureRefusal(ms: number, now: number, where: string): BadInputError {
  return new BadInputError(`${where} ${iso(ms)} is in the future (now is ${iso(now)}); features of an instant exist only once it has passed`);
}

/** Refuses an instant after `now`: the features of an instant exist only once it has passed. */
export function refuseFuture(ms: number, now: number, where: string): void {
  if (ms > now) throw futureRefusal(ms, now, where);
}
