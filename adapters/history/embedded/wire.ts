// The wire between the owner of an embedded history file and its clients (shared.ts): frames of a
// 4-byte big-endian length and a v8.serialize payload. v8 rather than JSON because history values are
// whatever events carried: Infinity, NaN, -0, nested arrays and Dates come back as they were sent,
// where JSON would turn the first three into null or 0 (a sum that overflowed would read 0).
//
// A request is { id, method, args }; the owner answers { id, result } or { id, error } once, and may
// send { id, progress } before (an export's rows done). { id, leaving } says the owner is closing
// and did not run the call: the client treats it like a lost connection (takes over, retries).
import { deserialize, serialize } from 'node:v8';
import { FeaturegraphError, type ErrorCode } from '../../../schema/errors.js';
import type { FeatureRead } from '../../../schema/snapshot.js';
import type { ScanCursor } from './index.js';
import type { HistoryRecord, HistoryScan, PointInTimeRow, TimeMode, ViewWatermark } from '../types.js';
import type { ViewDescriptor } from './views.js';
import type { ServedCursor, ServedPage } from './served-log.js';
import type { ServedRecord } from '../../../schema/served-log.js';
import type { ServedLogRange } from '../../served-log/types.js';

/** Bumped when a method or a payload changes shape; a client refuses an owner that speaks another. */
export const protocolVersion = 3;

/** Largest frame either side accepts: a readAsOf of 10,000 rows x 50 features is about 40 MB. */
export const maxFrameBytes = 512 * 1024 * 1024;

/** A point-in-time query with its views as descriptors: features name their view by index. */
export interface WireQuery {
  mode: TimeMode;
  views: ViewDescriptor[];
  features: { view: number; name: string }[];
}

export interface WireExport {
  query: WireQuery;
  rows: { path: string; keyColumn: string; asOfColumn: string };
  out: string;
}

/** Every call a client may make: its arguments and its result. */
export interface Calls {
  hello: { args: [protocol: number]; result: { protocol: number; pid: number; path: string } };
  /** Lays out the typed tables of the client's views (so its appends go straight to them). */
  prepare: { args: [views: ViewDescriptor[]]; result: null };
  append: { args: [records: HistoryRecord[]]; result: null };
  appendWatermarks: { args: [changes: ViewWatermark[]]; result: null };
  readAsOf: { args: [query: WireQuery, rows: PointInTimeRow[]]; result: FeatureRead[][] };
  scanPage: { args: [scan: HistoryScan, after: ScanCursor | null]; result: { records: HistoryRecord[]; next: ScanCursor | null } };
  count: { args: [view: string]; result: number };
  exportTrainingSet: { args: [spec: WireExport]; result: { rows: number } };
  getCheckpoint: { args: [name: string]; result: string | null };
  setCheckpoint: { args: [name: string, value: string]; result: null };
  /** The served log kept in the file (served-log.ts). */
  appendServed: { args: [records: ServedRecord[]]; result: null };
  servedPage: { args: [range: ServedLogRange, after: ServedCursor | null]; result: ServedPage };
}

export type Method = keyof Calls;
export const methods: readonly Method[] = ['hello', 'prepare', 'append', 'appendWatermarks', 'readAsOf', 'scanPage', 'count', 'exportTrainingSet', 'getCheckpoint', 'setCheckpoint', 'appendServed', 'servedPage'];

export interface Request<M extends Method = Method> {
  id: number;
  method: M;
  args: Calls[M]['args'];
}

/** An error as it crosses: the code of a FeaturegraphError (null for any other error) and its message. */
export interface WireError {
  code: ErrorCode | null;
  message: string;
  retriable: boolean;
}

export type Reply =
  | { id: number; result: unknown }
  | { id: number; error: WireError }
  | { id: number; progress: [rowsDone: number, rowsTotal: number] }
  | { id: number; leaving: true };

export function encodeFrame(message: Request | Reply): Buffer {
  const body = serialize(message);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * Splits a byte stream into messages. A frame's bytes are joined once, when all of them have come
 * (joining at every chunk would copy a 40 MB frame hundreds of times). Throws on a frame larger than
 * maxFrameBytes: the peer is not one of ours.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private held = 0;
  private need: number | null = null;

  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.held += chunk.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.held < 4) return out;
      if (this.need === null) {
        const first = this.chunks[0] as Buffer;
        const head = first.length >= 4 ? first : Buffer.concat(this.chunks, this.held);
        this.need = head.readUInt32BE(0);
        if (this.need > maxFrameBytes) throw new Error(`frame of ${this.need} bytes is larger than ${maxFrameBytes}`);
      }
      if (this.held < 4 + this.need) return out;
      const joined = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.held);
      out.push(deserialize(joined.subarray(4, 4 + this.need)));
      const rest = joined.subarray(4 + this.need);
      this.chunks = rest.length === 0 ? [] : [rest];
      this.held = rest.length;
      this.need = null;
    }
  }
}

export function toWireError(error: unknown): WireError {
  if (error instanceof FeaturegraphError) return { code: error.code, message: error.message, retriable: error.retriable };
  return { code: null, message: error instanceof Error ? error.message : String(error), retriable: false };
}

/** The error a client throws for an owner's: coded as it was, so callers cannot tell the owner was remote. */
export function fromWireError(error: WireError): Error {
  if (error.code === null) return new Error(error.message);
  return new FeaturegraphError(error.code, error.message, { retriable: error.retriable });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

export function isRequest(value: unknown): value is Request {
  return isObject(value) && typeof value.id === 'number' && typeof value.method === 'string' && (methods as readonly string[]).includes(value.method) && Array.isArray(value.args);
}

export function isReply(value: unknown): value is Reply {
  return isObject(value) && typeof value.id === 'number' && ('result' in value || 'error' in value || 'progress' in value || 'leaving' in value);
}
