// What every stream source does with a batch whose handler failed, by the one retry rule (isRetriable,
// schema/errors.ts): a failure that is retriable (an error of no known kind counts as one: a store
// outage, a connection reset) hands the batch over again from its first offset, after a jittered
// backoff (schema/backoff.ts) that grows with the failures in a row; one that is not (a StreamHaltError,
// credentials the history store refuses) stops the consumer, which applies and commits nothing from that
// batch on and tells onHalt.
import { backoffDelay, type BackoffOptions } from '../../schema/backoff.js';
import { FeaturegraphError, isRetriable } from '../../schema/errors.js';

/** 100 ms, doubling up to 5 s: a store that comes back is written to again within 7.5 s. */
export const redeliveryBackoff: BackoffOptions = { initialMs: 100, maxMs: 5000 };

/** The pause before a failed batch is handed over again, after `failures` failures in a row (1 or more). */
export function redeliveryDelay(failures: number): number {
  return backoffDelay(failures - 1, redeliveryBackoff);
}

/** Whether a handler's failure stops the consumer (no retry mends it) rather than its batch coming again. */
export function stopsConsumer(error: unknown): error is FeaturegraphError {
  return error instanceof FeaturegraphError && !isRetriable(error);
}
