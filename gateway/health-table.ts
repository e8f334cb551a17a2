// HealthRows as people read them (an aligned table, one line per feature, segment, direction and
// interval) and as programs do (JSON lines, instants in ISO-8601): `featuregraph health` prints them.
import type { HealthRow } from '../schema/health.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const dash = '-';
const percent = (share: number): string => (share * 100).toFixed(1);
/** Four significant digits, without an exponent for the sizes features have. */
const number = (value: number | null): string => (value === null ? dash : String(Number(value.toPrecision(4))));

interface Column {
  title: string;
  value: (row: HealthRow) => string;
  /** Numbers align right. */
  right?: boolean;
}

const columns = (intervals: boolean): Column[] => [
  { title: 'feature', value: (r) => `${r.entity}.${r.feature}` },
  { title: 'segment', value: (r) => r.segment },
  { title: 'direction', value: (r) => r.direction },
  ...(intervals ? [{ title: 'from', value: (r: HealthRow) => iso(r.from) }] : []),
  { title: 'values', value: (r) => String(r.values), right: true },
  { title: 'missing%', value: (r) => percent(r.missingRate), right: true },
  { title: 'stale%', value: (r) => percent(r.staleRate), right: true },
  { title: 'null%', value: (r) => percent(r.nullRate), right: true },
  { title: 'range%', value: (r) => percent(r.outOfRangeRate), right: true },
  { title: 'mean', value: (r) => number(r.mean), right: true },
  { title: 'p50', value: (r) => number(r.p50), right: true },
  { title: 'p99', value: (r) => number(r.p99), right: true },
  { title: 'psi', value: (r) => (r.psi === null ? dash : r.psi.toFixed(3)), right: true },
  { title: 'skew', value: (r) => (r.skewRate === null ? dash : `${percent(r.skewRate)}% of ${r.skewChecked}`), right: true },
];

/** The rows as an aligned table with a header line; the interval's start is a column when the rows span several. */
export function healthTable(rows: readonly HealthRow[]): string {
  const shown = columns(new Set(rows.map((r) => r.from)).size > 1);
  const cells = [shown.map((c) => c.title), ...rows.map((row) => shown.map((c) => c.value(row)))];
  const widths = shown.map((_, i) => Math.max(...cells.map((line) => (line[i] as string).length)));
  return cells
    .map((line) => line.map((cell, i) => (shown[i]?.right ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number))).join('  ').trimEnd())
    .join('\n');
}

/** One JSON object per row and line, `from` and `to` as ISO-8601 text. */
export function healthJsonLines(rows: readonly HealthRow[]): string {
  return rows.map((row) => JSON.stringify({ ...row, from: iso(row.from), to: iso(row.to) })).join('\n');
}
