// The fast paths of event-time parsing (text and bytes) against Date.parse, on instants spread over
// 1957-2248 and odd shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIsoBytes, parseTimestamp } from './decode.js';

test('parseTimestamp equals Date.parse', () => {
  // A stride that is no multiple of a second, minute or day, so every field takes many values.
  for (let t = -4e11; t < 8.4e12; t += 86_400_000 * 3 + 3_723_457) {
    const text = new Date(t).toISOString();
    assert.equal(parseTimestamp(text), Date.parse(text), text);
    // The scanner's byte version takes every toISOString instant since 1970, and agrees.
    if (t >= 0) assert.equal(parseIsoBytes(Buffer.from(` ${text}`), 1), Date.parse(text), text);
  }
  for (const text of ['2026-02-30T00:00:00.000Z', '2024-02-29T23:59:59.999Z', '2026-13-01T00:00:00.000Z', '2026-01-01T24:00:00.000Z', '2026-01-0aT00:00:00.000Z', 'yesterday', '2026-01-01T00:00:00.000+01:00', '1969-12-31T23:59:59.999Z']) {
    assert.ok(Object.is(parseTimestamp(text), Date.parse(text)), text);
    const fromBytes = parseIsoBytes(Buffer.from(text), 0);
    assert.ok(Number.isNaN(fromBytes) || fromBytes === Date.parse(text), text);
  }
});
