// KafkaChunk: columns over a fetch response's memory must answer exactly what kafkajs's messages say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaChunk, type KafkaRawMessage } from './chunk.js';
import type { PayloadBytes } from '../types.js';

/** Raw messages whose keys and values are slices of one response buffer, like kafkajs's, plus odd ones. */
function fetchResponse(): KafkaRawMessage[] {
  const parts = [
    { key: 'r1', value: '{"a":1}' },
    { key: null, value: '{"b":"é"}' },
    { key: 'r2', value: null },
    { key: '', value: '' },
    { key: 'r3', value: '{"c":3}' },
  ];
  const response = Buffer.alloc(64 * 1024);
  let at = 100;
  const slice = (text: string | null): Buffer | null => {
    if (text === null) return null;
    const length = response.write(text, at, 'utf8');
    at += length + 7;
    return response.subarray(at - length - 7, at - 7);
  };
  const raws: KafkaRawMessage[] = parts.map(({ key, value }, i) => ({ offset: String(9_007_199_254_740 + i * 3), timestamp: String(1_780_000_000_000 + i), key: slice(key), value: slice(value) }));
  // A message decompressed elsewhere: its own memory (and a pooled small Buffer for its key).
  raws.push({ offset: '9007199254760', timestamp: '1780000000009', key: Buffer.from('r9'), value: Buffer.from('{"z":true}') });
  return raws;
}

test('a Kafka chunk gives each message its offset, timestamp, key and value bytes', () => {
  const raws = fetchResponse();
  const chunk = new KafkaChunk('orders', 2, raws);
  assert.equal(chunk.count, raws.length);
  assert.equal(chunk.payload, chunk);
  const out: PayloadBytes = { buffer: Buffer.alloc(0), start: 0, end: 0 };
  raws.forEach((raw, i) => {
    assert.equal(chunk.offsetAt(i), Number(raw.offset));
    assert.equal(chunk.textAt(i), raw.value === null ? null : raw.value.toString('utf8'));
    assert.equal(chunk.bytesAt(i, out), raw.value !== null);
    if (raw.value !== null) assert.deepEqual(out.buffer.subarray(out.start, out.end), raw.value);
    const message = chunk.messages[i];
    assert.deepEqual(message, { partition: 2, offset: Number(raw.offset), key: raw.key === null ? null : raw.key.toString('utf8'), value: raw.value, timestampMs: Number(raw.timestamp) });
  });
  assert.equal(chunk.messages, chunk.messages, 'messages are built once');
});

test('an empty chunk has no messages', () => {
  const chunk = new KafkaChunk('orders', 0, []);
  assert.equal(chunk.count, 0);
  assert.deepEqual(chunk.messages, []);
});
