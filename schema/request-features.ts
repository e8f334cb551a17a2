// Request-time features computed once, the same way for every path: the GraphQL resolvers (online,
// asOf, training sets), the fast path and the Parquet training sets call these, so a feature's
// function sees the same inputs and its value passes the same rule (value-rules.ts) wherever it runs.
import { FeaturegraphError } from './errors.js';
import type { ResolvedRequestFeature } from './registry.js';
import type { FeatureRead, FeatureStatus } from './snapshot.js';
import type { FeatureInputs, FeatureValue, RequestArguments } from './types.js';
import { misfit, misfitReason, typedValue } from './value-rules.js';

/** Runs a request-time feature's function: its value by the value rule, REQUEST_FEATURE_FAILED if it throws or returns a value that does not fit. */
export function computeRequestFeature(feature: ResolvedRequestFeature, args: RequestArguments, inputs: FeatureInputs): FeatureValue {
  let value: FeatureValue;
  try {
    value = feature.def.compute(args, inputs);
  } catch (error) {
    if (error instanceof FeaturegraphError) throw error;
    throw new FeaturegraphError('REQUEST_FEATURE_FAILED', `request feature ${feature.entity.name}.${feature.name} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const typed = typedValue(feature.type, value);
  if (typed === misfit) throw new FeaturegraphError('REQUEST_FEATURE_FAILED', `request feature ${feature.entity.name}.${feature.name} returned ${misfitReason(feature.type, value)}`);
  return typed;
}

/**
 * A request-time feature from the reads of its inputs (in the order of feature.inputs). An entity the
 * stores know nothing of (requestFeatureStatus MISSING) has no request-time features either: null, not a guess.
 */
export function requestFeatureValue(feature: ResolvedRequestFeature, args: RequestArguments, reads: readonly (FeatureRead | undefined)[]): FeatureValue {
  if (requestFeatureStatus(reads) === 'MISSING') return null;
  const inputs: Record<string, FeatureValue> = {};
  feature.inputs.forEach((input, i) => {
    inputs[input.name] = reads[i]?.value ?? null;
  });
  return computeRequestFeature(feature, args, inputs);
}

/**
 * The status a request-time value is logged with (schema/served-log.ts), from the reads of its inputs:
 * MISSING where requestFeatureValue gives null for an entity the stores know nothing of, STALE when an
 * input it was computed from is, else PRESENT (a feature without stored inputs is always PRESENT). The
 * skew check recomputes it so.
 */
export function requestFeatureStatus(reads: readonly (Pick<FeatureRead, 'status'> | undefined)[]): FeatureStatus {
  if (reads.length > 0 && reads.every((read) => read?.status === 'MISSING')) return 'MISSING';
  return reads.some((read) => read?.status === 'STALE') ? 'STALE' : 'PRESENT';
}
