// Durations in feature definitions are strings such as "30s", "30m", "24h", "7d" or "1h30m".
const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const durationPattern = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const partPattern = /(\d+)(ms|s|m|h|d|w)/g;

export type Duration = string;

/** Milliseconds of a duration string, or null when it is not one. */
export function parseDuration(text: string): number | null {
  if (typeof text !== 'string' || !durationPattern.test(text)) return null;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(partPattern)) total += Number(amount) * unitMs[unit as keyof typeof unitMs];
  return total > 0 && Number.isSafeInteger(total) ? total : null;
}

export function formatDuration(ms: number): string {
  const order: [keyof typeof unitMs, number][] = [['d', unitMs.d], ['h', unitMs.h], ['m', unitMs.m], ['s', unitMs.s], ['ms', 1]];
  let rest = ms;
  let text = '';
  for (const [unit, size] of order) {
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text || '0ms';
}
