// The monitor's outgoing data: the served log's records of a range, each turned into one observation
// per monitored feature the answer held (status as logged), labelled by the segment values logged
// with it.
import type { ServedRecord } from '../../schema/served-log.js';
import type { ServedLogStore } from '../../adapters/served-log/types.js';
import { segmentLabels, type MonitoredFeature, type Observation } from './features.js';

export interface ServedBatch {
  records: ServedRecord[];
  observations: Observation[];
}

/** Features by entity name, in their order. */
export function byEntity(features: readonly MonitoredFeature[]): Map<string, MonitoredFeature[]> {
  const out = new Map<string, MonitoredFeature[]>();
  for (const feature of features) {
    const list = out.get(feature.entity.name);
    if (list) list.push(feature);
    else out.set(feature.entity.name, [feature]);
  }
  return out;
}

/** The records of [from, to) of the features' entities (only theirs are kept), batch by batch. */
export async function* readServed(store: ServedLogStore, features: readonly MonitoredFeature[], range: { from: number; to: number }): AsyncIterable<ServedBatch> {
  const entities = byEntity(features);
  if (entities.size === 0) return;
  // One entity: the store may filter it itself.
  const only = entities.size === 1 ? [...entities.keys()][0] : undefined;
  for await (const batch of store.read({ from: range.from, to: range.to, ...(only === undefined ? {} : { entity: only }) })) {
    const records: ServedRecord[] = [];
    const observations: Observation[] = [];
    for (const record of batch) {
      const monitored = entities.get(record.entity);
      if (monitored === undefined) continue;
      records.push(record);
      const segments = segmentLabels((monitored[0] as MonitoredFeature).entity, (segment) => record.segments[segment.name]);
      for (const feature of monitored) {
        const served = record.features[feature.name];
        if (served === undefined) continue;
        observations.push({ feature, at: record.at, segments, status: served.status, value: served.value });
      }
    }
    yield { records, observations };
  }
}
