// What every served-log store shares: the range check, the order of a read, the size of its batches.
import { BadInputError } from '../../schema/errors.js';
import type { ServedRecord } from '../../schema/served-log.js';
import { shown } from '../common/options.js';
import type { ServedLogRange } from './types.js';

/** Records per batch of a read. */
export const servedBatchSize = 5000;

/** Refuses a range whose bounds are not numbers of epoch ms, or whose entity is not a name. */
export function checkServedLogRange(store: string, range: ServedLogRange): void {
  const bad = (what: string) => new BadInputError(`${store} served log: ${what}`);
  if (typeof range !== 'object' || range === null) throw bad(`a read needs a range { from, to, entity? }, got ${shown(range)}`);
  if (!Number.isFinite(range.from)) throw bad(`range.from must be epoch ms, got ${shown(range.from)}`);
  if (!Number.isFinite(range.to)) throw bad(`range.to must be epoch ms, got ${shown(range.to)}`);
  if (range.entity !== undefined && (typeof range.entity !== 'string' || range.entity === '')) throw bad(`range.entity must be an entity name, got ${shown(range.entity)}`);
}

/** The order of every read: by `at`, then by id (code units: ids are ASCII, where this is byte order too). */
export function inServedOrder(a: ServedRecord, b: ServedRecord): number {
  if (a.at !== b.at) return a.at - b.at;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
