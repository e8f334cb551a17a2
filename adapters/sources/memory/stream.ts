// An in-process stream with Kafka's shape: topics of partitions, offsets, consumer groups with
// committed offsets. The embedded demo and unit tests use it in place of a broker.
import type { StreamConsumer, StreamConsumerOptions, StreamMessage, StreamSource } from '../types.js';

interface Topic {
  partitions: StreamMessage[][];
}

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
  private roundRobin = 0;

  constructor(private readonly partitionsPerTopic = 3, private readonly now: () => number = Date.now) {}

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = { partitions: Array.from({ length: this.partitionsPerTopic }, () => []) };
      this.topics.set(name, topic);
    }
    return topic;
  }

  async produce(topicName: string, messages: { key: string | null; value: string }[]): Promise<void> {
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
    // A batch whose handler fails is delivered again from its first offset after a backoff, as a
    // Kafka consumer does: a store outage pauses the stream, it never ends the process.
    let failures = 0;
    const loop = (async () => {
      while (running) {
        let delivered = false;
        let failed = false;
        for (const topicName of options.topics) {
          const topic = this.topic(topicName);
          for (let partition = 0; partition < topic.partitions.length; partition++) {
            const id = `${options.groupId}\u0000${topicName}\u0000${partition}`;
            const log = topic.partitions[partition] as StreamMessage[];
            const from = this.committed.get(id) ?? (options.fromBeginning ? 0 : log.length);
            if (from >= log.length) continue;
            const messages = log.slice(from, from + 1000);
            try {
              await options.handle({ topic: topicName, partition, messages });
            } catch (error) {
              failed = true;
              options.onError?.(error);
              continue;
            }
            this.committed.set(id, from + messages.length);
            delivered = true;
          }
        }
        failures = failed ? failures + 1 : 0;
        if ((failed || !delivered) && running) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            // New messages end a wait for them, not a backoff.
            if (!failed) this.wakers.add(resolve);
            setTimeout(resolve, failed ? Math.min(5000, 100 * 2 ** Math.min(failures, 6)) : 250).unref();
          });
          this.wakers.delete(wake);
        }
      }
    })();
    return {
      stop: async () => {
        running = false;
        wake();
        await loop;
      },
    };
  }

  async close(): Promise<void> {
    for (const wake of this.wakers) wake();
  }
}
