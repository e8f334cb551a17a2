// The fast path's records of a sampled answer (schema/served-log.ts), made after its JSON is written,
// from the same read at the same instant: each feature read as Apollo's resolvers read it (readFeature,
// servedValue, requestFeatureValue), so that both paths log the same records for the same request
// (resolvers/served-log.ts is Apollo's half). Only sampled requests get here: the answer itself keeps
// its per-view shortcuts and makes no record.
import { randomUUID } from 'node:crypto';
import { getArgumentValues } from 'graphql';
import type { StoredValue, ViewWatermark } from '../../adapters/online/types.js';
import type { ResolvedFeature } from '../../schema/registry.js';
import { requestFeatureStatus, requestFeatureValue } from '../../schema/request-features.js';
import type { ServedRecord, ServedValue } from '../../schema/served-log.js';
import { readFeature } from '../../schema/snapshot.js';
import type { FeatureValue, RequestArguments } from '../../schema/types.js';
import { servedValue } from '../../schema/value-rules.js';
import { servedRecordId } from '../served-log.js';
import type { RootPlan } from './compile.js';

/** A root of the answer: its entities' keys, and where each (entity, view) is in the read (execute.ts RootWork). */
export interface AnsweredRoot {
  root: RootPlan;
  keys: readonly string[];
  /** Entity i's value of root.views[j] at slots[i * views + j]. */
  slots: readonly number[];
  /** Entity i's value of root.segmentViews[j] at segmentSlots[i * segmentViews + j]. */
  segmentSlots: readonly number[];
}

/** One record per entity of the answer, in answer order, read at `now`. */
export function servedRecords(work: readonly AnsweredRoot[], stored: readonly (StoredValue | null)[], now: number, watermarks: ReadonlyMap<string, ViewWatermark>, variables: Record<string, unknown>): ServedRecord[] {
  const requestId = randomUUID();
  const records: ServedRecord[] = [];
  for (const { root, keys, slots, segmentSlots } of work) {
    const viewCount = root.views.length;
    const segmentViewCount = root.segmentViews.length;
    keys.forEach((key, i) => {
      const storedOf = (viewIndex: number): StoredValue | null =>
        stored[(viewIndex < viewCount ? slots[i * viewCount + viewIndex] : segmentSlots[i * segmentViewCount + viewIndex - viewCount]) as number] ?? null;
      const read = (feature: ResolvedFeature, viewIndex: number) => readFeature(feature, storedOf(viewIndex), now, watermarks.get(feature.view.name)?.watermark ?? null);
      const features: Record<string, ServedValue> = {};
      const inputs: Record<string, RequestArguments> = {};
      for (const leaf of root.leaves) {
        // An alias of a feature already logged is not logged again: the first in the answer is.
        if (leaf.kind === 'stored' && !Object.hasOwn(features, leaf.feature.name)) {
          const { value, status } = read(leaf.feature, leaf.viewIndex);
          features[leaf.feature.name] = { value: servedValue(leaf.feature, value), status };
        } else if (leaf.kind === 'request' && !Object.hasOwn(features, leaf.feature.name)) {
          const reads = leaf.feature.inputs.map((input) => read(input, root.views.indexOf(input.view)));
          const args = getArgumentValues(leaf.field, leaf.node, variables) as RequestArguments;
          features[leaf.feature.name] = { value: requestFeatureValue(leaf.feature, args, reads), status: requestFeatureStatus(reads) };
          inputs[leaf.feature.name] = args;
        }
      }
      const segments: Record<string, FeatureValue> = {};
      for (const { feature, viewIndex } of root.segments) segments[feature.name] = read(feature, viewIndex).value;
      records.push({ id: servedRecordId(requestId, records.length), at: now, entity: root.entity.name, key, segments, features, inputs });
    });
  }
  return records;
}
