// A chunk of kafkajs messages as the materializer receives it: columns over the fetch response's
// memory instead of an object per message. A chunk waits for its writes while the next ones are
// fetched and prepared, and everything it holds then survives young-generation collections: copying
// kafkajs's message objects (or wrappers of them and their Buffers) was most of what GC cost the
// materializer beyond a bare consumer. StreamMessage objects are built only if someone asks.
import type { PayloadBytes, StreamBatch, StreamBatchPayload, StreamMessage } from '../types.js';

/** The part of a kafkajs message the source reads. */
export interface KafkaRawMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
}

/** Per message: where its value and its key are (start, end, memory; -1 when null). */
const VALUE = 0;
const KEY = 3;
const COLUMNS = 6;

export class KafkaChunk implements StreamBatch, StreamBatchPayload {
  readonly count: number;
  private readonly offsets: Float64Array;
  private readonly timestamps: Float64Array;
  private readonly places: Int32Array;
  /** The ArrayBuffers the messages' keys and values live in, as Buffers (usually one: the fetch response). */
  private readonly memories: Buffer[] = [];
  private built: StreamMessage[] | null = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    raws: readonly KafkaRawMessage[],
  ) {
    const count = raws.length;
    this.count = count;
    this.offsets = new Float64Array(count);
    this.timestamps = new Float64Array(count);
    this.places = new Int32Array(count * COLUMNS);
    let lastBuffer: ArrayBufferLike | null = null;
    let memory = -1;
    const memoryOf = (bytes: Buffer): number => {
      if (bytes.buffer !== lastBuffer) {
        lastBuffer = bytes.buffer;
        memory = this.memories.findIndex((m) => m.buffer === lastBuffer);
        if (memory < 0) memory = this.memories.push(Buffer.from(lastBuffer, 0, lastBuffer.byteLength)) - 1;
      }
      return memory;
    };
    for (let i = 0; i < count; i++) {
      const raw = raws[i] as KafkaRawMessage;
      this.offsets[i] = Number(raw.offset);
      this.timestamps[i] = Number(raw.timestamp);
      this.place(i * COLUMNS + VALUE, raw.value, memoryOf);
      this.place(i * COLUMNS + KEY, raw.key, memoryOf);
    }
  }

  private place(at: number, bytes: Buffer | null, memoryOf: (bytes: Buffer) => number): void {
    this.places[at] = bytes === null ? -1 : bytes.byteOffset;
    this.places[at + 1] = bytes === null ? -1 : bytes.byteOffset + bytes.length;
    this.places[at + 2] = bytes === null ? -1 : memoryOf(bytes);
  }

  get payload(): StreamBatchPayload {
    return this;
  }

  offsetAt(i: number): number {
    return this.offsets[i] as number;
  }

  bytesAt(i: number, out: PayloadBytes): boolean {
    const at = i * COLUMNS + VALUE;
    const start = this.places[at] as number;
    if (start < 0) return false;
    out.buffer = this.memories[this.places[at + 2] as number] as Buffer;
    out.start = start;
    out.end = this.places[at + 1] as number;
    return true;
  }

  textAt(i: number): string | null {
    const at = i * COLUMNS + VALUE;
    const start = this.places[at] as number;
    if (start < 0) return null;
    return (this.memories[this.places[at + 2] as number] as Buffer).toString('utf8', start, this.places[at + 1] as number);
  }

  private region(i: number, column: number): Buffer | null {
    const at = i * COLUMNS + column;
    const start = this.places[at] as number;
    if (start < 0) return null;
    return (this.memories[this.places[at + 2] as number] as Buffer).subarray(start, this.places[at + 1] as number);
  }

  /** Message objects, built on first access (the materializer reads `payload` instead). */
  get messages(): readonly StreamMessage[] {
    if (this.built === null) {
      const built: StreamMessage[] = new Array(this.count);
      for (let i = 0; i < this.count; i++) {
        const key = this.region(i, KEY);
        built[i] = { partition: this.partition, offset: this.offsetAt(i), key: key === null ? null : key.toString('utf8'), value: this.region(i, VALUE), timestampMs: this.timestamps[i] as number };
      }
      this.built = built;
    }
    return this.built;
  }
}
