// The one rule for instants (schema/instant.ts), case by case: every form it accepts, every way a value
// is refused, flooring (never rounding up), and independence from the server's time zone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instantForms, maxInstantMs, parseInstant, readInstant, refuseFuture } from '../../../schema/instant.js';
import { FeaturegraphError } from '../../../schema/errors.js';

const utc = (iso: string) => {
  const ms = Date.parse(iso);
  assert.ok(iso.endsWith('Z') && !Number.isNaN(ms), `expected values are written as canonical UTC: ${iso}`);
  return ms;
};

/** [input, epoch ms it stands for] */
const accepted: [unknown, number][] = [
  ['2024-02-29', utc('2024-02-29T00:00:00.000Z')],
  ['2000-02-29', utc('2000-02-29T00:00:00.000Z')],
  ['2026-01-01T10:00', utc('2026-01-01T10:00:00.000Z')],
  ['2026-01-01T10:00:00', utc('2026-01-01T10:00:00.000Z')],
  ['2026-01-01 10:00:00', utc('2026-01-01T10:00:00.000Z')],
  ['2026-01-01 10:00', utc('2026-01-01T10:00:00.000Z')],
  ['2026-01-01T10:00:00Z', utc('2026-01-01T10:00:00.000Z')],
  ['2026-01-01T10:00Z', utc('2026-01-01T10:00:00.000Z')],
  ['2026-01-01T10:00:00.5Z', utc('2026-01-01T10:00:00.500Z')],
  ['2026-01-01T10:00:00.12Z', utc('2026-01-01T10:00:00.120Z')],
  ['2026-01-01T10:00:00.123456789Z', utc('2026-01-01T10:00:00.123Z')],
  ['2026-12-31T23:59:59.9999999', utc('2026-12-31T23:59:59.999Z')],
  ['2026-01-01T10:00:00+05:30', utc('2026-01-01T04:30:00.000Z')],
  ['2026-01-01T10:00:00-0530', utc('2026-01-01T15:30:00.000Z')],
  ['2026-01-01 10:00+01:00', utc('2026-01-01T09:00:00.000Z')],
  ['2026-01-01T00:00:00-00:00', utc('2026-01-01T00:00:00.000Z')],
  ['2026-01-01T00:30:00+23:59', utc('2025-12-31T00:31:00.000Z')],
  ['1969-12-31T23:59:59.9999Z', -1],
  ['1970-01-01T00:00:00.0001+00:00', 0],
  ['0000-01-01', -62_167_219_200_000],
  ['0000-02-29', -62_162_121_600_000],
  ['9999-12-31T23:59:59.999Z', 253_402_300_799_999],
  ['9999-12-31T23:59:59.999-23:59', 253_402_387_139_999],
  ['1767232593635', 1_767_232_593_635],
  ['1767232593635.5', 1_767_232_593_635],
  ['1767232593635.9999999999', 1_767_232_593_635],
  ['-1767232593635.000', -1_767_232_593_635],
  ['-0.5', -1],
  ['-1.0000000001', -2],
  ['-0', 0],
  ['+12', 12],
  ['0', 0],
  ['0008640000000000000', maxInstantMs],
  ['-8640000000000000', -maxInstantMs],
  [1_767_232_593_635, 1_767_232_593_635],
  [1_767_232_593_635.5, 1_767_232_593_635],
  [-0.5, -1],
  [-0, 0],
  [1e3, 1000],
  [maxInstantMs, maxInstantMs],
  [-maxInstantMs, -maxInstantMs],
  [12n, 12],
];

/** [input, words the refusal gives] */
const refused: [unknown, RegExp][] = [
  ['2026-02-29', /day 29 is not in 2026-02, which has 28 days/],
  ['2026-02-30T00:00:00Z', /day 30 is not in 2026-02, which has 28 days/],
  ['1900-02-29', /day 29 is not in 1900-02/],
  ['2026-04-31', /day 31 is not in 2026-04, which has 30 days/],
  ['2026-01-00', /day 00 is not in 2026-01/],
  ['2026-13-01', /month 13 is not 01-12/],
  ['2026-00-10', /month 00 is not 01-12/],
  ['2026-01-01T24:00:00Z', /hour 24 is not 00-23/],
  ['2026-01-01T24:00', /hour 24 is not 00-23/],
  ['2026-01-01T23:60', /minute 60 is not 00-59/],
  ['2026-01-01T23:59:60Z', /second 60 is not 00-59/],
  ['2026-01-01T10:00:00+24:00', /offset \+24:00 is not within ±23:59/],
  ['2026-01-01T10:00:00-05:60', /offset -05:60 is not within ±23:59/],
  ['2026-01-01T10:00:00.1234567890Z', /neither ISO-8601 text nor epoch milliseconds/],
  ['2026-01-01T10:00:00.Z', /neither/],
  ['2026-01-01T10Z', /neither/],
  ['2026-01-01Z', /neither/],
  ['2026-1-01', /neither/],
  ['26-01-01', /neither/],
  ['+2026-01-01', /neither/],
  ['2026-01-01t10:00', /neither/],
  ['2026-01-01T10:00:00z', /neither/],
  ['2026-01-01  10:00', /neither/],
  ['2026-01-01T10:00:00 Z', /neither/],
  ['2026-01-01T10:00:00+05', /neither/],
  ['2026-01-01T10:00:00UTC', /neither/],
  ['2026-01-01T10:00:00+05:30:00', /neither/],
  ['Jan 1 2026', /neither/],
  ['yesterday', /neither/],
  ['  ', /it is empty/],
  ['', /it is empty/],
  [' 2026-01-01', /spaces around it/],
  ['1767232593635 ', /spaces around it/],
  ['1e3', /neither/],
  ['1.', /neither/],
  ['.5', /neither/],
  ['0x10', /neither/],
  ['1_000', /neither/],
  ['1,5', /neither/],
  ['NaN', /neither/],
  ['Infinity', /neither/],
  ['١٢٣', /neither/],
  ['8640000000000001', /outside the range of dates/],
  ['-8640000000000001', /outside the range of dates/],
  ['-8640000000000000.5', /outside the range of dates/],
  ['99999999999999999999999', /outside the range of dates/],
  [Number.NaN, /not a finite number/],
  [Number.POSITIVE_INFINITY, /not a finite number/],
  [Number.NEGATIVE_INFINITY, /not a finite number/],
  [maxInstantMs + 1, /outside the range of dates/],
  [1e300, /outside the range of dates/],
  [-1e300, /outside the range of dates/],
  [10n ** 20n, /outside the range of dates/],
  [null, /it is missing/],
  [undefined, /it is missing/],
  [true, /a boolean is not an instant/],
  [{}, /an? object is not an instant/],
  [[1], /a list is not an instant/],
];

function checkTable(label: string): void {
  for (const [input, ms] of accepted) {
    assert.deepEqual(readInstant(input), { ok: true, ms }, `${label}: ${String(input)}`);
    assert.ok(Object.is(parseInstant(input, 'x'), ms), `${label}: ${String(input)} is ${ms} (no -0)`);
  }
  for (const [input, words] of refused) {
    const reading = readInstant(input);
    assert.equal(reading.ok, false, `${label}: ${String(input)} is refused`);
    if (!reading.ok) assert.match(reading.reason, words, `${label}: ${String(input)}`);
  }
}

test('every accepted form reads as its UTC instant, every bad one is refused with the reason', () => {
  checkTable('TZ unchanged');
});

test('the local time zone is never consulted: same answers under UTC, New York and Kolkata', () => {
  const before = process.env.TZ;
  try {
    for (const zone of ['UTC', 'America/New_York', 'Asia/Kolkata']) {
      process.env.TZ = zone;
      // The zone took effect for Date itself, so a parser that used it would answer differently.
      assert.equal(new Date(2026, 0, 1, 10).getTimezoneOffset(), { UTC: 0, 'America/New_York': 300, 'Asia/Kolkata': -330 }[zone]);
      checkTable(zone);
    }
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
});

test('any instant written by toISOString, or with an offset, reads back exactly', () => {
  let seed = 7;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const lo = utc('0000-01-02T00:00:00.000Z');
  const hi = utc('9999-12-30T00:00:00.000Z');
  for (let i = 0; i < 5000; i++) {
    const ms = Math.floor(lo + next() * (hi - lo));
    const text = new Date(ms).toISOString();
    assert.deepEqual(readInstant(text), { ok: true, ms }, text);
    const offset = Math.floor(next() * 47 - 23) * 60 + Math.floor(next() * 60);
    const sign = offset < 0 ? '-' : '+';
    const local = new Date(ms + offset * 60_000).toISOString().slice(0, -1);
    const hhmm = `${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}:${String(Math.abs(offset) % 60).padStart(2, '0')}`;
    assert.deepEqual(readInstant(`${local}${sign}${hhmm}`), { ok: true, ms }, `${local}${sign}${hhmm}`);
    assert.deepEqual(readInstant(`${local.replace('T', ' ')}${sign}${hhmm.replace(':', '')}`), { ok: true, ms });
    assert.deepEqual(readInstant(String(ms)), { ok: true, ms });
  }
});

test('refusals are BAD_USER_INPUT naming where, the value and the accepted forms; the future is refused against now', () => {
  assert.throws(
    () => parseInstant('2026-02-30T00:00:00Z', 'row 3: asOf'),
    (error: unknown) => error instanceof FeaturegraphError && error.code === 'BAD_USER_INPUT' && error.message === `row 3: asOf "2026-02-30T00:00:00Z" is not an instant: day 30 is not in 2026-02, which has 28 days; accepted: ${instantForms}`,
  );
  assert.throws(() => parseInstant(Number.NaN, '--from'), /^BadInputError: --from NaN is not an instant: it is not a finite number; accepted: ISO-8601/);
  const now = utc('2026-06-01T12:00:00.000Z');
  assert.equal(parseInstant('2026-06-01T12:00:00Z', 'asOf', { now }), now);
  assert.equal(parseInstant('1780315200000.9', 'asOf', { now }), now, 'floored onto now, not past it');
  assert.throws(() => parseInstant('2026-06-01T12:00:00.001Z', 'row 1: asOf', { now }), /^BadInputError: row 1: asOf 2026-06-01T12:00:00.001Z is in the future \(now is 2026-06-01T12:00:00.000Z\); features of an instant exist only once it has passed$/);
  assert.throws(() => refuseFuture(now + 1, now, 'asOf'), (error: unknown) => error instanceof FeaturegraphError && error.code === 'BAD_USER_INPUT');
});
