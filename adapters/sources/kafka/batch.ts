// kafkajs's fetched messages as the StreamBatch a handler gets, without copying them.
import type { PayloadBytes, StreamBatch, StreamMessage, StreamPayload } from '../types.js';

/** The part of a kafkajs message the source reads. */
export interface KafkaRawMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
}

/** A kafkajs message as a StreamMessage; key and timestamp are converted only when asked for. */
class KafkaMessage implements StreamMessage {
  readonly offset: number;
  readonly value: Buffer | null;
  private readonly rawKey: Buffer | null;
  private readonly rawTimestamp: string;
  private keyText: string | null | undefined = undefined;

  constructor(
    readonly partition: number,
    raw: KafkaRawMessage,
  ) {
    this.offset = Number(raw.offset);
    this.value = raw.value;
    this.rawKey = raw.key;
    this.rawTimestamp = raw.timestamp;
  }

  get key(): string | null {
    if (this.keyText === undefined) this.keyText = this.rawKey === null ? null : this.rawKey.toString('utf8');
    return this.keyText;
  }

  get timestampMs(): number {
    return Number(this.rawTimestamp);
  }
}

/** kafkajs messages read by index, straight from kafkajs's objects. */
class KafkaPayload implements StreamPayload {
  /** The first offset when the offsets run without a gap (the usual case), else -1. */
  private readonly firstOfRun: number;

  constructor(private readonly raw: readonly KafkaRawMessage[]) {
    // A partition's offsets only grow, so first and last n - 1 apart means every one in between:
    // offsets are then counted rather than parsed from kafkajs's strings, one by one.
    const first = raw.length > 0 ? Number((raw[0] as KafkaRawMessage).offset) : -1;
    const last = raw.length > 0 ? Number((raw[raw.length - 1] as KafkaRawMessage).offset) : -1;
    this.firstOfRun = first >= 0 && last - first === raw.length - 1 ? first : -1;
  }

  get count(): number {
    return this.raw.length;
  }

  offsetAt(i: number): number {
    return this.firstOfRun >= 0 ? this.firstOfRun + i : Number((this.raw[i] as KafkaRawMessage).offset);
  }

  textAt(i: number): string | null {
    const value = (this.raw[i] as KafkaRawMessage).value;
    return value === null ? null : value.toString('utf8');
  }

  bytesAt(i: number, out: PayloadBytes): boolean {
    const value = (this.raw[i] as KafkaRawMessage).value;
    if (value === null) return false;
    out.buffer = value;
    out.start = 0;
    out.end = value.length;
    return true;
  }
}

/**
 * A chunk of kafkajs messages as a StreamBatch. The materializer reads its payload, so no object per
 * message is made unless something asks for `messages`: making an object per message costs the
 * materializer more events/s than holding kafkajs's own until the chunk's writes are applied
 * (bench/stream/README.md, "messages by index").
 */
export class KafkaBatch implements StreamBatch {
  readonly payload: StreamPayload;
  private made: StreamMessage[] | null = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly raw: readonly KafkaRawMessage[],
    /** The topic's id when the batch was fetched (IncarnationGuard). */
    readonly incarnation?: string,
  ) {
    this.payload = new KafkaPayload(raw);
  }

  get messages(): StreamMessage[] {
    this.made ??= this.raw.map((message) => new KafkaMessage(this.partition, message));
    return this.made;
  }
}
