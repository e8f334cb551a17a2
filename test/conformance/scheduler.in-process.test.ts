// The scheduler conformance suite against the in-process scheduler, on virtual time: the harness owns
// its clock and timers (test/fixtures/virtual-time.ts).
import { InProcessScheduler } from '../../materializers/batch/in-process-scheduler.js';
import { VirtualTime } from '../fixtures/virtual-time.js';
import { schedulerConformance } from './scheduler.js';

schedulerConformance('in-process', async () => {
  const time = new VirtualTime();
  return {
    create: (options) => new InProcessScheduler({ ...options, now: time.now, timers: time }),
    now: time.now,
    until: (check, describe) => time.until(check, describe),
    intervalMs: 60_000,
    teardown: async () => undefined,
  };
});
