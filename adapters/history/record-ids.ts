// The ids of history records. An id makes an append idempotent (a record whose id is stored is not
// appended again), and among changes of one key that tie on what the reads order by, the greater id is
// the later change: so ids must sort, as text, in the order the online store applied the changes.
//   stream event    <topic>:<partition>:<offset>, numbers written so that text order is numeric order
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

/** The id prefix of a partition's events, from the partition's id `<topic>:<partition>`. */
export function streamRecordPrefix(partitionId: string): string {
  const at = partitionId.lastIndexOf(':');
  const partition = Number(partitionId.slice(at + 1));
  if (at < 0 || !Number.isSafeInteger(partition)) throw new RangeError(`a partition id is <topic>:<partition>, got ${JSON.stringify(partitionId)}`);
  return `${partitionId.slice(0, at)}:${orderedNumber(partition)}:`;
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
