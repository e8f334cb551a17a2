// Documents as source rows, apart from the driver so that they can be tested alone: field paths,
// BSON values as JSON-safe feature values, projections, and definition filters inside change streams.
import { BSON, type Document } from 'mongodb';
import { ConfigError } from '../../../schema/errors.js';

/** A field path a definition may name: dotted segments, none empty, none starting with `$`. */
export function validateFieldPath(where: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.split('.').some((segment) => segment === '' || segment.startsWith('$'))) {
    throw new ConfigError(`${where} must be a field path like "menuSize" or "stats.menuSize" (no empty segment, none starting with $), got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The value at a dotted path, or undefined. Arrays are not traversed: a feature is one value. */
export function valueAt(document: Document, path: string): unknown {
  let current: unknown = document;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/**
 * A BSON value as a JSON-safe feature value: ObjectId as its hex string, Date as an ISO string, Decimal128
 * and Long as numbers (Long as a string beyond 2^53), Binary as base64, nested arrays and objects likewise.
 */
export function normalizeValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object') return typeof value === 'bigint' ? (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()) : value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(normalizeValue);
  if (value instanceof BSON.ObjectId) return value.toHexString();
  if (value instanceof BSON.Decimal128) return Number(value.toString());
  if (value instanceof BSON.Long) return Number.isSafeInteger(value.toNumber()) ? value.toNumber() : value.toString();
  if (value instanceof BSON.Double || value instanceof BSON.Int32) return value.valueOf();
  if (value instanceof BSON.Binary) return Buffer.from(value.buffer).toString('base64');
  if (value instanceof BSON.Timestamp) return value.toNumber();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeValue(v)]));
}

/** The entity key of a document as a string; null when the document has none (it names no entity). */
export function keyOf(value: unknown): string | null {
  const normalized = normalizeValue(value);
  if (normalized === null || typeof normalized === 'object') return null;
  return String(normalized);
}

/** A document's updated-at (a Date, or an epoch-ms number) in epoch ms; null when it is neither. */
export function epochMsOf(value: unknown): number | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.getTime();
  if (typeof value === 'number') return Number.isFinite(value) ? Math.floor(value) : null;
  if (value instanceof BSON.Long || value instanceof BSON.Double || value instanceof BSON.Int32 || value instanceof BSON.Decimal128) return epochMsOf(Number(value.toString()));
  return null;
}

/**
 * The projection for key, updated-at and columns. A path under another selected path is left out:
 * MongoDB rejects `{a: 1, "a.b": 1}` as a path collision, and `a` already carries `a.b`.
 */
export function projectionFor(paths: readonly string[]): Record<string, 1> {
  const unique = [...new Set(paths)];
  const kept = unique.filter((path) => !unique.some((other) => other !== path && path.startsWith(`${other}.`)));
  return Object.fromEntries(kept.map((path) => [path, 1 as const]));
}

const logical = new Set(['$and', '$or', '$nor']);

/**
 * A definition's find filter rewritten to match change events on their `fullDocument`. Field conditions
 * move under `fullDocument.`; $and/$or/$nor recurse; other top-level operators ($expr, $where, $text)
 * have no such rewrite, so a filter using them cannot follow a change stream.
 */
export function filterOnFullDocument(filter: Readonly<Record<string, unknown>>, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, condition] of Object.entries(filter)) {
    if (logical.has(field)) {
      if (!Array.isArray(condition)) throw new ConfigError(`${where}: ${field} must hold an array of filters`);
      out[field] = condition.map((sub: unknown) => filterOnFullDocument(sub as Record<string, unknown>, where));
    } else if (field.startsWith('$')) {
      throw new ConfigError(`${where}: the filter's top-level ${field} cannot be applied to change events; use field conditions, $and, $or or $nor`);
    } else {
      out[`fullDocument.${field}`] = condition;
    }
  }
  return out;
}

/** Resume tokens travel as canonical Extended JSON strings, so the checkpoint store keeps plain text. */
export function serializeToken(token: unknown): string {
  return BSON.EJSON.stringify(token as Document, { relaxed: false });
}

export function parseToken(text: string, where: string): Document {
  try {
    const parsed: unknown = BSON.EJSON.parse(text, { relaxed: false });
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Document;
  } catch {
    throw new ConfigError(`${where}: resumeAfter must be a token this source produced (Extended JSON of an object), got ${JSON.stringify(text.slice(0, 80))}`);
  }
}
