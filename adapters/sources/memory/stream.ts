// An in-process stream with Kafka's shape: topics of partitions, offsets, consumer groups with
// committed offsets, a message size limit, and topics that can be deleted (created again, a topic starts
// its offsets at 0 under a new incarnation). The embedded demo and unit tests use it in place of a broker.
// Each round over the partitions tells the idle ones caught up (every 250 ms while nothing comes).
import { randomUUID } from 'node:crypto';
import { OptionCheck } from '../../common/options.js';
import { refuseOversized } from '../message-size.js';
import { redeliveryDelay, stopsConsumer } from '../redelivery.js';
import type { StreamConsumer, StreamConsumerOptions, StreamMessage, StreamSource } from '../types.js';

interface Topic {
  /** Made anew when the topic is created again, like a Kafka topic id. */
  incarnation: string;
  partitions: StreamMessage[][];
}

/** Kafka's default max.message.bytes (1,048,588) less the overhead of a record batch of one record. */
export const defaultMaxMessageBytes = 1_048_588 - 93;

function partitionFor(key: string | null, partitions: number, roundRobin: number): number {
  if (key === null) return roundRobin % partitions;
  let hash = 0;
  for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) | 0;
  return Math.abs(hash) % partitions;
}

export class MemoryStream implements StreamSource {
  readonly name = 'memory-stream';
  private readonly topics = new Map<string, Topic>();
  private readonly committed = new Map<string, number>();
  private readonly wakers = new Set<() => void>();
  private readonly consumers = new Set<StreamConsumer>();
  private roundRobin = 0;

  private readonly partitionsPerTopic: number;
  private readonly now: () => number;

  constructor(partitionsPerTopic = 3, now: () => number = Date.now) {
    const check = new OptionCheck();
    this.partitionsPerTopic = check.integerIn('memory stream: partitionsPerTopic', partitionsPerTopic, 1, 1000);
    this.now = check.callback('memory stream: now', now, Date.now);
    check.done();
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = { incarnation: randomUUID(), partitions: Array.from({ length: this.partitionsPerTopic }, () => []) };
      this.topics.set(name, topic);
    }
    return topic;
  }

  /** Deletes a topic and every group's offsets in it; the next use creates it anew, offsets from 0. */
  deleteTopic(topicName: string): void {
    this.topics.delete(topicName);
    for (const id of [...this.committed.keys()]) if (id.split('\u0000')[1] === topicName) this.committed.delete(id);
  }

  async maxMessageBytes(): Promise<number> {
    return defaultMaxMessageBytes;
  }

  async produce(topicName: string, messages: { key: string | null; value: string }[]): Promise<void> {
    // Refused whole, as a broker refuses a batch with a message over its limit.
    refuseOversized(this.name, topicName, messages, defaultMaxMessageBytes);
    const topic = this.topic(topicName);
    for (const message of messages) {
      const partition = partitionFor(message.key, topic.partitions.length, this.roundRobin++);
      const log = topic.partitions[partition] as StreamMessage[];
      log.push({ partition, offset: log.length, key: message.key, value: message.value, timestampMs: this.now() });
    }
    for (const wake of this.wakers) wake();
  }

  /** Every message of a topic, for tests and the dead-letter view. */
  messages(topicName: string): StreamMessage[] {
    return this.topic(topicName).partitions.flat();
  }

  async consume(options: StreamConsumerOptions): Promise<StreamConsumer> {
    let running = true;
    let wake: () => void = () => {};
    // A batch whose handler fails with a retriable error is delivered again from its first offset after
    // a backoff, as the Kafka source does (redelivery.ts): a store outage pauses the stream, it never
    // ends the process. The backoff grows with the rounds in a row that had a failure.
    let failures = 0;
    // Which incarnation of each topic this consumer reads, and where it reads each partition with no
    // committed offset: decided once, when first seen (Kafka's auto.offset.reset at the join), or at
    // 0 in a topic's new incarnation, which is reported.
    const incarnations = new Map<string, string>();
    const starts = new Map<string, number>();
    /** The next offset of each partition after the last batch handled: where a reset says reading stopped. */
    const next = new Map<string, number>();
    const position = (id: string, log: readonly StreamMessage[]): number => {
      const committed = this.committed.get(id);
      if (committed !== undefined) return committed;
      let start = starts.get(id);
      if (start === undefined) {
        start = options.fromBeginning ? 0 : log.length;
        starts.set(id, start);
      }
      return start;
    };
    const caughtUp = (topic: string, partition: number, at: number) => {
      try {
        options.onCaughtUp?.({ topic, partition, at });
      } catch {
        // A listener that fails must not stop the stream.
      }
    };
    const loop = (async () => {
      while (running) {
        let delivered = false;
        let failed = false;
        for (const topicName of options.topics) {
          const topic = this.topic(topicName);
          const ids = topic.partitions.map((_, partition) => `${options.groupId}\u0000${topicName}\u0000${partition}`);
          const reading = incarnations.get(topicName);
          if (reading !== topic.incarnation) {
            incarnations.set(topicName, topic.incarnation);
            if (reading !== undefined) {
              ids.forEach((id, partition) => {
                const from = next.get(id) ?? starts.get(id) ?? null;
                this.committed.delete(id);
                next.delete(id);
                starts.set(id, 0);
                options.onReset?.({ topic: topicName, partition, from: { incarnation: reading, offset: from }, to: { incarnation: topic.incarnation, offset: 0 } });
              });
            }
          }
          for (let partition = 0; partition < topic.partitions.length && running; partition++) {
            const id = ids[partition] as string;
            const log = topic.partitions[partition] as StreamMessage[];
            // Read before the log's length: every message produced before it is in the log by then.
            const at = this.now();
            const from = position(id, log);
            if (from >= log.length) {
              caughtUp(topicName, partition, at);
              continue;
            }
            const messages = log.slice(from, from + 1000);
            try {
              await options.handle({ topic: topicName, partition, incarnation: topic.incarnation, messages });
            } catch (error) {
              // No retry mends it (redelivery.ts): stop consuming, commit nothing more, tell why.
              if (stopsConsumer(error)) {
                running = false;
                options.onHalt?.(error);
                return;
              }
              failed = true;
              options.onError?.(error);
              continue;
            }
            // Deleted meanwhile: the offsets belong to the old topic and must not land on the new one.
            if (this.topics.get(topicName) === topic) {
              this.committed.set(id, from + messages.length);
              next.set(id, from + messages.length);
            }
            delivered = true;
          }
        }
        failures = failed ? failures + 1 : 0;
        if ((failed || !delivered) && running) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            // New messages end a wait for them, not a backoff.
            if (!failed) this.wakers.add(resolve);
            setTimeout(resolve, failed ? redeliveryDelay(failures) : 250).unref();
          });
          this.wakers.delete(wake);
        }
      }
    })();
    const consumer: StreamConsumer = {
      stop: async () => {
        running = false;
        wake();
        await loop;
        this.consumers.delete(consumer);
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  /** Stops every consumer still running, as its stop() does. */
  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    for (const wake of this.wakers) wake();
  }
}
