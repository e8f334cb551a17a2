// Decodes and validates one stream message against its source's declared fields. A message that
// fails gets a reason for the dead-letter topic instead of an exception.
import type { EventFieldType, StreamSourceDefinition } from '../../schema/types.js';
import type { StreamMessage } from '../../adapters/sources/types.js';

export interface DecodedEvent {
  key: string;
  eventTime: number;
  fields: Record<string, unknown>;
}

export type DecodeResult = { ok: true; event: DecodedEvent } | { ok: false; reason: string };

function checkType(type: EventFieldType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'timestamp':
      return (typeof value === 'string' && !Number.isNaN(Date.parse(value))) || (typeof value === 'number' && Number.isFinite(value));
    case 'string[]':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    default: {
      const unreachable: never = type;
      throw new Error(`unknown event field type ${String(unreachable)}`);
    }
  }
}

export function toEpochMs(value: unknown): number {
  return typeof value === 'number' ? value : Date.parse(String(value));
}

export type ParseResult = { ok: true; fields: Record<string, unknown> } | { ok: false; reason: string };

/** Parses a message's JSON once; every view reading the topic validates the same object. */
export function parseMessage(message: StreamMessage): ParseResult {
  if (message.value === null) return { ok: false, reason: 'empty message (tombstone)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof message.value === 'string' ? message.value : message.value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'not a JSON object' };
  return { ok: true, fields: parsed as Record<string, unknown> };
}

const declaredFields = new WeakMap<StreamSourceDefinition, [string, EventFieldType, boolean][]>();

function fieldsOf(source: StreamSourceDefinition): [string, EventFieldType, boolean][] {
  let fields = declaredFields.get(source);
  if (!fields) {
    fields = Object.entries(source.fields).map(([name, type]) => [name, type, name === source.keyField || name === source.eventTimeField]);
    declaredFields.set(source, fields);
  }
  return fields;
}

/** Checks a parsed event against its source's declared fields. */
export function validateEvent(source: StreamSourceDefinition, fields: Record<string, unknown>): DecodeResult {
  let eventTime = Number.NaN;
  for (const [name, type, required] of fieldsOf(source)) {
    const value = fields[name];
    if (value === undefined || value === null) {
      if (required) return { ok: false, reason: `missing required field "${name}"` };
      continue;
    }
    if (type === 'timestamp' && name === source.eventTimeField) {
      eventTime = toEpochMs(value);
      if ((typeof value !== 'string' && typeof value !== 'number') || !Number.isFinite(eventTime)) return { ok: false, reason: `field "${name}" must be timestamp, got ${JSON.stringify(value)?.slice(0, 80)}` };
      continue;
    }
    if (!checkType(type, value)) return { ok: false, reason: `field "${name}" must be ${type}, got ${JSON.stringify(value)?.slice(0, 80)}` };
  }
  const key = fields[source.keyField];
  if (typeof key !== 'string' || key === '') return { ok: false, reason: `key field "${source.keyField}" must be a non-empty string` };
  if (Number.isNaN(eventTime)) eventTime = toEpochMs(fields[source.eventTimeField]);
  return { ok: true, event: { key, eventTime, fields } };
}

export function decodeMessage(source: StreamSourceDefinition, message: StreamMessage): DecodeResult {
  const parsed = parseMessage(message);
  return parsed.ok ? validateEvent(source, parsed.fields) : parsed;
}
