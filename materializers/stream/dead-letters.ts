// Dead letters: the record a refused message becomes, cut to fit the dead-letter topic's message size
// limit, and their sending, retried a bounded number of times (schema/backoff.ts's retryWithBackoff). A
// record that cannot be written whole is written truncated rather than not at all; a topic that refuses
// every write stops the materializer (StreamHaltError) rather than failing the batch, which its source
// would fetch again forever.
import { StreamHaltError } from '../../schema/errors.js';
import { retryWithBackoff, validRetry, type BackoffOptions } from '../../schema/backoff.js';
import type { StreamSource } from '../../adapters/sources/types.js';

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: number;
  view: string;
  reason: string;
  value: string | null;
}

/**
 * What the dead-letter topic gets: the letter, the value's size in UTF-8 bytes, and `truncated: true`
 * when the value (or, past all reason, the reason) was cut to fit: topic, partition and offset say
 * where the whole message still is.
 */
export interface DeadLetterRecord extends DeadLetter {
  valueBytes: number;
  truncated?: true;
}

/** Sends tried in all (default 5), with the backoff between them (default: 200 ms doubling, at most 5 s, jittered). */
export interface DeadLetterRetry extends BackoffOptions {
  attempts: number;
}

export const defaultDeadLetterRetry: DeadLetterRetry = { attempts: 5, initialMs: 200, maxMs: 5000 };

/** Checks retry options where they enter, naming the bad value. */
export function checkDeadLetterRetry(retry: DeadLetterRetry): DeadLetterRetry {
  // Bounded, always: a topic that refuses every write must stop the materializer, not hold its batch.
  validRetry('deadLetterRetry', retry, true);
  return retry;
}

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * The longest prefix of `text` whose JSON-escaped form (quotes left out) takes at most `room` UTF-8
 * bytes, never ending inside a surrogate pair. Escaping is what grows: `"` and `\` take 2 bytes,
 * control characters 2 or 6, so a message under the limit raw can be twice over it in a record.
 */
function cutEscaped(text: string, room: number): string {
  let used = 0;
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    let cost: number;
    let units = 1;
    if (code === 0x22 || code === 0x5c) cost = 2;
    else if (code < 0x20) cost = code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 2 : 6;
    else if (code < 0x80) cost = 1;
    else if (code < 0x800) cost = 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      cost = 4;
      units = 2;
    } else if (code >= 0xd800 && code <= 0xdfff) cost = 6; // a lone surrogate: JSON.stringify writes \udxxx
    else cost = 3;
    if (used + cost > room) break;
    used += cost;
    i += units;
  }
  return text.slice(0, i);
}

/**
 * The dead-letter record as JSON text that, with its key, takes at most `maxBytes` UTF-8 bytes: the
 * whole record when it fits; else with as much of the value as fits (sizes measured escaped), marked
 * truncated, the reason cut too if it alone is too long. Refuses (StreamHaltError) when not even the
 * record's place (topic, partition, offset, view) fits.
 */
export function fitDeadLetter(letter: DeadLetter, key: string | null, maxBytes: number): string {
  const valueBytes = letter.value === null ? 0 : utf8(letter.value);
  const budget = maxBytes - (key === null ? 0 : utf8(key));
  const whole = JSON.stringify({ ...letter, valueBytes } satisfies DeadLetterRecord);
  if (utf8(whole) <= budget) return whole;
  const frame = (reason: string, value: string | null) => JSON.stringify({ ...letter, reason, value, valueBytes, truncated: true } satisfies DeadLetterRecord);
  let reason = letter.reason;
  const bare = utf8(frame('', letter.value === null ? null : ''));
  if (bare > budget) {
    throw new StreamHaltError('DEAD_LETTER_FAILED', `the dead letter of ${letter.topic}[${letter.partition}] offset ${letter.offset} (view ${letter.view}) cannot fit in ${maxBytes} bytes, the dead-letter topic's message size limit: without its value and reason it takes ${bare + (key === null ? 0 : utf8(key))} bytes`);
  }
  // The reason keeps at most half of what is left, so that some of the value stays readable.
  if (utf8(frame(reason, letter.value === null ? null : '')) > budget) reason = cutEscaped(reason, Math.floor((budget - bare) / 2));
  let value = letter.value === null ? null : cutEscaped(letter.value, budget - utf8(frame(reason, '')));
  let text = frame(reason, value);
  // cutEscaped measures exactly; this only guards the invariant should JSON.stringify ever escape more.
  while (utf8(text) > budget && value !== null && value.length > 0) {
    value = cutEscaped(value, Math.floor(utf8(JSON.stringify(value)) * 0.9));
    text = frame(reason, value);
  }
  return text;
}

/**
 * Sends a batch's dead letters, each cut to fit the topic's limit. A failure (the limit unknown, the
 * topic refusing) is tried again after a jittered backoff when it is retriable (isRetriable: an error of
 * the client's own counts as retriable), `retry.attempts` tries in all. Then, or at once for a failure
 * that is not retriable, it stops the materializer with a StreamHaltError naming the topic and the cause,
 * instead of failing the batch, which its source would fetch and fail again forever.
 */
export async function sendDeadLetters(source: StreamSource, deadLetterTopic: string, letters: readonly DeadLetter[], retry: DeadLetterRetry): Promise<void> {
  if (letters.length === 0) return;
  let tries = 0;
  try {
    await retryWithBackoff(
      async (n) => {
        tries = n + 1;
        const maxBytes = await source.maxMessageBytes(deadLetterTopic);
        const messages = letters.map((d) => {
          const key = `${d.view}:${d.partition}:${d.offset}`;
          return { key, value: fitDeadLetter(d, key, maxBytes) };
        });
        await source.produce(deadLetterTopic, messages);
      },
      { ...retry, what: `dead-letter topic ${deadLetterTopic}` },
    );
  } catch (error) {
    if (error instanceof StreamHaltError) throw error;
    const first = letters[0] as DeadLetter;
    const offsets = `${Math.min(...letters.map((d) => d.offset))}-${Math.max(...letters.map((d) => d.offset))}`;
    const cause = error instanceof Error ? error.message : String(error);
    throw new StreamHaltError(
      'DEAD_LETTER_FAILED',
      `dead-letter topic ${deadLetterTopic} refused ${letters.length} dead letter(s) of ${first.topic}[${first.partition}] offsets ${offsets} after ${tries} attempt${tries === 1 ? '' : 's'}: ${cause}; the stream materializer stops, and the batch's offsets are not committed`,
      { cause: error },
    );
  }
}
