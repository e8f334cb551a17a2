// The stream materializer against a brute-force oracle, on the real broker and Redis. Seeded random
// payments (out of order, ties on event time, late but within the allowed lateness, exactly on the
// lateness bound and on every window's edge, too late, and poison messages) are produced to a fresh
// 3-partition topic; the repo's stream view is materialized in process through the production path
// (startMaterializers + KafkaStreamSource + RedisOnlineStore) with its clock pinned at T0, so that
// "too late" is decided to the millisecond. Then every key is read through GraphQL at several instants
// and compared with the oracle (eventInWindow over the accepted events), the stored tiles are compared
// tile by tile, and the dead-letter topic must hold exactly the rejected messages with their reasons.
import { test } from 'node:test';
import { runStreamOracle } from '../fixtures/stream-oracle.js';

test('stream materializer vs oracle: windows read through GraphQL at several instants, tiles, dead letters', { timeout: 120_000 }, async (t) => {
  await runStreamOracle(t, { writeDelayMs: 0 });
});
