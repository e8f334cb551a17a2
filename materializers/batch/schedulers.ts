// Chooses the Scheduler by its config `type`: BullMQ where a Redis is configured (`featuregraph
// materialize`, shared by every process), in-process where none is (the embedded demo).
import type { Scheduler, SchedulerOptions } from './scheduler.js';
import { BullmqScheduler } from './bullmq-scheduler.js';
import { InProcessScheduler, type Timers } from './in-process-scheduler.js';

export type SchedulerConfig = { type: 'bullmq'; redisUrl: string; queueName?: string } | { type: 'in-process'; timers?: Timers };

export function createScheduler(config: SchedulerConfig, options: SchedulerOptions): Scheduler {
  switch (config.type) {
    case 'bullmq':
      return new BullmqScheduler({ ...options, redisUrl: config.redisUrl, ...(config.queueName !== undefined ? { queueName: config.queueName } : {}) });
    case 'in-process':
      return new InProcessScheduler({ ...options, ...(config.timers ? { timers: config.timers } : {}) });
    default: {
      const unreachable: never = config;
      throw new Error(`unknown scheduler type ${JSON.stringify(unreachable)}`);
    }
  }
}
