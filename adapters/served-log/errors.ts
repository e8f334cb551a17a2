// The served log's own failure: an append that kept some records and refused others.
import { FeaturegraphError } from '../../schema/errors.js';

/**
 * Records a sink cannot hold (each larger than a Kafka topic's message limit) are refused one by one,
 * the others appended: one entity served with a huge list must not keep every batch it is in out of
 * the log. LIMIT_EXCEEDED; not retriable (the same records fail again).
 */
export class ServedRecordsRefused extends FeaturegraphError {
  constructor(
    message: string,
    /** Records of the append that are in the log. */
    readonly appended: number,
    readonly refused: number,
  ) {
    super('LIMIT_EXCEEDED', message);
  }
}
