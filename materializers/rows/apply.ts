// What every path that reads rows of a table or collection does with them: map source columns to
// feature values, write them online (a deleted row makes its entity MISSING), and keep history.
import type { ResolvedView } from '../../schema/registry.js';
import type { FeatureValue } from '../../schema/types.js';
import type { OnlineStore, ValueWrite } from '../../adapters/online/types.js';
import type { SourceRow } from '../../adapters/sources/types.js';
import type { HistoryRecord, HistoryStore } from '../../adapters/history/types.js';

/** A row's feature values, by feature name; a column the row lacks is null. */
export function featureValuesOf(view: ResolvedView, row: SourceRow): Record<string, FeatureValue> {
  const values: Record<string, FeatureValue> = {};
  for (const feature of view.features) {
    const raw = row.values[feature.column ?? feature.name];
    values[feature.name] = raw === undefined ? null : (raw as FeatureValue);
  }
  return values;
}

/** The history record of a row: one per (key, event time), so re-reading a row appends nothing. */
export function historyRecordOf(view: ResolvedView, row: SourceRow, values: Record<string, FeatureValue>, availableTime: number): HistoryRecord {
  return { view: view.name, key: row.key, id: `${row.key}:${row.eventTime}${row.deleted ? ':deleted' : ''}`, eventTime: row.eventTime, availableTime, values: row.deleted ? {} : values, deleted: row.deleted };
}

/**
 * Applies one batch of rows: history first (appends are idempotent, so a crash before the store
 * write replays harmlessly), then the online writes and deletes. Returns how many rows were deletes.
 */
export async function applyRows(view: ResolvedView, rows: readonly SourceRow[], store: OnlineStore, history: HistoryStore | undefined, availableTime: number): Promise<number> {
  const writes: ValueWrite[] = [];
  const deletes: { view: string; key: string }[] = [];
  const records: HistoryRecord[] = [];
  for (const row of rows) {
    const values = row.deleted ? {} : featureValuesOf(view, row);
    if (history) records.push(historyRecordOf(view, row, values, availableTime));
    if (row.deleted) deletes.push({ view: view.name, key: row.key });
    else writes.push({ view: view.name, key: row.key, eventTime: row.eventTime, availableTime, values, retentionMs: view.retentionMs });
  }
  if (records.length > 0) await history?.append(records);
  if (writes.length > 0) await store.writeValues(writes);
  if (deletes.length > 0) await store.delete(deletes);
  return deletes.length;
}
