// The watermark-publish rule every online store applies (Redis runs the same rule as a Lua script,
// redis/scripts.ts publishWatermarksScript; the conformance suite holds both to the same records).
import { BadInputError } from '../../schema/errors.js';
import { shown } from '../common/options.js';
import type { WatermarkPublish } from './types.js';

/** What a store keeps per view: each part's watermark, and the view's record (null before its first). */
export interface HeldWatermarks {
  parts: Map<string, number>;
  record: { watermark: number; at: number } | null;
}

const isEpochMs = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);

/**
 * Refuses a publish a store could not keep exactly (a writer's bug), before anything is kept: a view
 * name, at least one part, and integer epoch ms everywhere (Redis keeps them as Lua numbers, exact
 * up to 2^53).
 */
export function checkWatermarkPublish(store: string, view: string, parts: Readonly<Record<string, number>>, at: number): void {
  const where = `${store} online store: publishWatermarks`;
  if (typeof view !== 'string' || view === '') throw new BadInputError(`${where}: view must be a non-empty string, got ${shown(view)}`);
  if (typeof parts !== 'object' || parts === null || Object.keys(parts).length === 0) throw new BadInputError(`${where} of ${view}: parts must name at least one part, got ${shown(parts)}`);
  for (const [part, watermark] of Object.entries(parts)) {
    if (part === '') throw new BadInputError(`${where} of ${view}: a part name must not be empty`);
    if (!isEpochMs(watermark)) throw new BadInputError(`${where} of ${view}: part ${shown(part)} must have an integer epoch ms watermark, got ${shown(watermark)}`);
  }
  if (!isEpochMs(at)) throw new BadInputError(`${where} of ${view}: at must be an integer epoch ms, got ${shown(at)}`);
}

/** Applies one checked publish to what a store holds for the view; `held` is updated in place. */
export function applyWatermarkPublish(view: string, held: HeldWatermarks, parts: Readonly<Record<string, number>>, at: number): WatermarkPublish {
  for (const [part, watermark] of Object.entries(parts)) held.parts.set(part, Math.max(held.parts.get(part) ?? watermark, watermark));
  const watermark = Math.min(...held.parts.values());
  const record = held.record;
  if (record !== null && record.watermark === watermark) return { current: { view, ...record }, changed: false };
  held.record = { watermark, at: record === null ? at : Math.max(at, record.at + 1) };
  return { current: { view, ...held.record }, changed: true };
}

