// The fast paths of event-time parsing (text and bytes) against the rule for instants and Date.parse,
// on instants spread over 1957-2248 and odd shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readInstantText } from '../../../../schema/instant.js';
import { parseIsoBytes, parseTimestamp } from '../../../../materializers/stream/decode.js';

test('parseTimestamp reads event times by the one rule for instants (schema/instant.ts)', () => {
  const rule = (text: string) => {
    const reading = readInstantText(text);
    return reading.ok ? reading.ms : Number.NaN;
  };
  // A stride that is no multiple of a second, minute or day, so every field takes many values.
  for (let t = -4e11; t < 8.4e12; t += 86_400_000 * 3 + 3_723_457) {
    const text = new Date(t).toISOString();
    assert.equal(parseTimestamp(text), Date.parse(text), text);
    // The scanner's byte version takes every toISOString instant since 1970, and agrees.
    if (t >= 0) assert.equal(parseIsoBytes(Buffer.from(` ${text}`), 1), Date.parse(text), text);
  }
  for (const text of ['2026-02-30T00:00:00.000Z', '2024-02-29T23:59:59.999Z', '2026-13-01T00:00:00.000Z', '2026-01-01T24:00:00.000Z', '2026-01-0aT00:00:00.000Z', 'yesterday', '2026-01-01T00:00:00.000+01:00', '1969-12-31T23:59:59.999Z', '2026-01-01T10:00:00', '2026-01-01 10:00:00.5', '1767232593635']) {
    assert.ok(Object.is(parseTimestamp(text), rule(text)), text);
    const fromBytes = parseIsoBytes(Buffer.from(text), 0);
    assert.ok(Number.isNaN(fromBytes) || fromBytes === rule(text), text);
  }
  // Date.parse would roll this over to March 2, and read an offset-less time in the server's zone.
  assert.ok(Number.isNaN(parseTimestamp('2026-02-30T00:00:00.000Z')));
  assert.equal(parseTimestamp('2026-01-01T10:00:00'), Date.UTC(2026, 0, 1, 10));
});

test('parseIsoBytes agrees with Date.parse on runs of one day, and on odd bytes after a day it knows', () => {
  let state = 11;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const alphabet = '0123456789-T:.Z "\\x';
  let t = Date.parse('2026-06-01T00:00:00.000Z');
  for (let n = 0; n < 20_000; n++) {
    // Mostly the same day as the one before (the day is remembered), now and then the next.
    t += Math.floor(random() * 600_000);
    const text = new Date(t).toISOString();
    assert.equal(parseIsoBytes(Buffer.from(text), 0), Date.parse(text), text);
    // The same text with one byte changed: either refused or what Date.parse says.
    const at = Math.floor(random() * 24);
    const odd = text.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + text.slice(at + 1);
    const fromBytes = parseIsoBytes(Buffer.from(odd), 0);
    assert.ok(Number.isNaN(fromBytes) || fromBytes === Date.parse(odd), `${odd} after ${text}: ${fromBytes}`);
  }
  for (const odd of ['2026-06-01T24:00:00.000Z', '2026-06-01T23:60:00.000Z', '2026-06-01T23:00:60.000Z', '2026-06-01T23:00:00.00xZ']) {
    parseIsoBytes(Buffer.from('2026-06-01T12:00:00.000Z'), 0);
    assert.ok(Number.isNaN(parseIsoBytes(Buffer.from(odd), 0)), odd);
  }
});
