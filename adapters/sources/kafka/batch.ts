// kafkajs's fetched messages as the StreamBatch a handler gets, without copying them.
import type { IHeaders } from 'kafkajs';
import { traceHeaderMaxChars, type PayloadBytes, type StreamBatch, type StreamMessage, type StreamPayload, type TraceHeaders } from '../types.js';

/** The part of a kafkajs message the source reads. */
export interface KafkaRawMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers?: IHeaders;
}

/** A header's text (the first, if repeated), or null when absent or longer than a trace header may be. */
function headerText(value: IHeaders[string]): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  // A character takes at most 4 bytes of UTF-8: a longer value is not even decoded.
  if (first === undefined || first.length > traceHeaderMaxChars * 4) return null;
  const text = typeof first === 'string' ? first : first.toString('utf8');
  return text.length <= traceHeaderMaxChars ? text : null;
}

/** The trace context headers of a kafkajs message: traceparent and tracestate, nothing else. */
function traceHeaders(raw: KafkaRawMessage): TraceHeaders | null {
  if (raw.headers === undefined) return null;
  const traceparent = headerText(raw.headers.traceparent);
  if (traceparent === null) return null;
  const tracestate = headerText(raw.headers.tracestate);
  return tracestate === null ? { traceparent } : { traceparent, tracestate };
}

/** A kafkajs message as a StreamMessage; key, timestamp and headers are converted only when asked for. */
class KafkaMessage implements StreamMessage {
  readonly offset: number;
  readonly value: Buffer | null;
  private keyText: string | null | undefined = undefined;

  constructor(
    readonly partition: number,
    private readonly raw: KafkaRawMessage,
  ) {
    this.offset = Number(raw.offset);
    this.value = raw.value;
  }

  get key(): string | null {
    if (this.keyText === undefined) this.keyText = this.raw.key === null ? null : this.raw.key.toString('utf8');
    return this.keyText;
  }

  get timestampMs(): number {
    return Number(this.raw.timestamp);
  }

  get headers(): TraceHeaders | null {
    return traceHeaders(this.raw);
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

  headersAt(i: number): TraceHeaders | null {
    return traceHeaders(this.raw[i] as KafkaRawMessage);
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
    /** kafkajs's batch.highWatermark: the partition's end when the batch was fetched. */
    readonly highWatermark?: number,
  ) {
    this.payload = new KafkaPayload(raw);
  }

  get messages(): StreamMessage[] {
    this.made ??= this.raw.map((message) => new KafkaMessage(this.partition, message));
    return this.made;
  }
}
