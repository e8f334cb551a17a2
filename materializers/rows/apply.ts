// What every path that reads rows of a table or collection does with them: map source columns to
// feature values, write them online (a deleted row leaves a tombstone: the entity reads MISSING), and
// keep in history exactly the changes the online store made, stamped as it stamped them.
import type { ResolvedView } from '../../schema/registry.js';
import type { FeatureValue } from '../../schema/types.js';
import type { OnlineStore, ValueWrite, ValueWriteOutcome } from '../../adapters/online/types.js';
import type { SourceRow } from '../../adapters/sources/types.js';
import type { HistoryRecord, HistoryStore } from '../../adapters/history/types.js';
import { lateRecordId, versionRecordId } from '../../adapters/history/record-ids.js';

/** A row's feature values, by feature name; a column the row lacks is null. */
export function featureValuesOf(view: ResolvedView, row: SourceRow): Record<string, FeatureValue> {
  const values: Record<string, FeatureValue> = {};
  for (const feature of view.features) {
    const raw = row.values[feature.column ?? feature.name];
    values[feature.name] = raw === undefined ? null : (raw as FeatureValue);
  }
  return values;
}

/** The history record of a backfilled row (backfills write history only): one per (key, event time), so a slice read again appends nothing. */
export function historyRecordOf(view: ResolvedView, row: SourceRow, values: Record<string, FeatureValue>, availableTime: number): HistoryRecord {
  return { view: view.name, key: row.key, id: `${row.key}:${row.eventTime}${row.deleted ? ':deleted' : ''}`, eventTime: row.eventTime, availableTime, values: row.deleted ? {} : values, deleted: row.deleted };
}

/**
 * The history record of a value write, from what the online store did with it: the change it applied
 * (under the version it gave), the change it already held (the same record again, so a record lost to a
 * crash between the write and its append comes back, and a replay appends nothing), or a change older
 * than what it held (never served; kept for EVENT_TIME reads of the instants when it was the latest fact).
 */
export function changeRecordOf(write: ValueWrite, outcome: ValueWriteOutcome): HistoryRecord {
  const deleted = write.deleted === true;
  const base = { view: write.view, key: write.key, eventTime: write.eventTime, values: deleted ? {} : write.values, ...(deleted ? { deleted: true } : {}) };
  switch (outcome.outcome) {
    case 'applied':
      return { ...base, id: versionRecordId(write.key, outcome.version), availableTime: write.availableTime };
    case 'unchanged':
      return { ...base, id: versionRecordId(write.key, outcome.version), availableTime: outcome.availableTime };
    case 'superseded':
      return { ...base, id: lateRecordId(write.key, write.eventTime, deleted ? 'deleted' : JSON.stringify(write.values)), availableTime: write.availableTime };
    default: {
      const unreachable: never = outcome;
      throw new Error(`unknown write outcome ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The online write of a row, made at `availableTime`: a row stamped after it counts as happening then (see prepareBatch). */
export function valueWriteOf(view: ResolvedView, row: SourceRow, availableTime: number): ValueWrite {
  const eventTime = Math.min(row.eventTime, availableTime);
  if (row.deleted === true) return { view: view.name, key: row.key, eventTime, availableTime, values: {}, retentionMs: view.retentionMs, deleted: true };
  return { view: view.name, key: row.key, eventTime, availableTime, values: featureValuesOf(view, row), retentionMs: view.retentionMs };
}

/**
 * Applies one batch of rows, in order: the online writes first, then history from their outcomes. A
 * crash between the two is repaired by the replay (the scheduler re-reads from its watermark): the store
 * answers `unchanged` with the version it holds, and the same record is appended. Returns how many
 * deletes the store applied.
 */
export async function applyRows(view: ResolvedView, rows: readonly SourceRow[], store: OnlineStore, history: HistoryStore | undefined, availableTime: number): Promise<number> {
  if (rows.length === 0) return 0;
  const writes = rows.map((row) => valueWriteOf(view, row, availableTime));
  const outcomes = await store.writeValues(writes);
  if (history) await history.append(writes.map((write, i) => changeRecordOf(write, outcomes[i] as ValueWriteOutcome)));
  let deletes = 0;
  outcomes.forEach((outcome, i) => {
    if (outcome.outcome === 'applied' && writes[i]?.deleted === true) deletes++;
  });
  return deletes;
}
