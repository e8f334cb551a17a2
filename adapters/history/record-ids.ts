// The ids of history records. An id makes an append idempotent (a record whose id is stored is not
// appended again), and among changes of one key that tie on what the reads order by, the greater id is
// the later change: so ids must sort, as text, in the order the online store applied the changes.
//   stream event    <topic>:<partition>:<offset>, numbers written so that text order is numeric order;
//                   <topic>:<partition>:~<generation>:<offset> for a partition's later incarnations
//   column change   <key>:v<version>, the version the online store gave the change (see ValueWriteOutcome)
//   late change     <key>:<eventTime>:<digest of the values>:late, a change older than what the online
//                   store held, which it never served: EVENT_TIME reads count it, SERVED reads do not
//   backfilled row  <key>:<eventTime>[:deleted] (backfills write history only)

import { createHash } from 'node:crypto';

/**
 * A non-negative integer as text that sorts as the number does: its digit count as a letter, then its
 * digits (0 -> "a0", 9 -> "a9", 10 -> "b10", 123 -> "c123"). Plain decimals sort "10" before "9".
 */
export function orderedNumber(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`an ordered number must be a non-negative safe integer, got ${n}`);
  const digits = String(n);
  return String.fromCharCode(96 + digits.length) + digits;
}

/**
 * Where a stream event comes from: its topic, its partition, and the generation of the partition's
 * incarnation (0 for the first one recorded; see StreamBatch.incarnation). A topic deleted and created
 * again reuses offsets from 0 under the next generation, so ids and offset guards name the generation.
 */
export interface StreamPlace {
  topic: string;
  partition: number;
  generation: number;
}

/**
 * The name under which the online store's offset guard keeps a partition (TileWrite.source.partition):
 * `<topic>:<partition>` for generation 0, the name offsets stored without generations have, so that
 * they keep guarding; `<topic>:<partition>~<generation>` after, so that old offsets never shadow new events.
 */
export function guardPartitionId(place: StreamPlace): string {
  return place.generation === 0 ? `${place.topic}:${place.partition}` : `${place.topic}:${place.partition}~${place.generation}`;
}

/**
 * The id prefix of a partition's events: `<topic>:<partition>:` for generation 0 (the ids of history
 * written without generations), `<topic>:<partition>:~<generation>:` after. `~` sorts after the letter every
 * ordered number starts with, so within a partition a later generation's events sort after the
 * earlier's (a later incarnation wins ties, online and in history), and partitions still sort first.
 */
export function streamRecordPrefix(place: StreamPlace): string {
  const base = `${place.topic}:${orderedNumber(place.partition)}:`;
  return place.generation === 0 ? base : `${base}~${orderedNumber(place.generation)}:`;
}

/** A stream event's record id: its partition's prefix (streamRecordPrefix) and its offset. */
export const streamRecordId = (prefix: string, offset: number): string => prefix + orderedNumber(offset);

/** The record of a column change the online store applied as `version` (versions grow per key). */
export const versionRecordId = (key: string, version: number): string => `${key}:v${orderedNumber(version)}`;

/** What ends the id of a late change; stores test it in SQL too (`ends_with(id, ':late')`). */
export const lateIdSuffix = ':late';

/** The record of a change older than what the online store held: history keeps it for EVENT_TIME reads. */
export function lateRecordId(key: string, eventTime: number, values: string): string {
  return `${key}:${eventTime}:${createHash('sha1').update(values).digest('base64url').slice(0, 16)}${lateIdSuffix}`;
}

/** Whether a record is a late change (lateRecordId): never the online store's value, so never a SERVED answer. */
export const isLateRecord = (id: string): boolean => id.endsWith(lateIdSuffix);
