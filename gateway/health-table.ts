// Health rows for a person at a terminal: one line per feature, segment, direction and interval,
// columns aligned, rates as percentages; or JSON lines for a program (times as ISO-8601).
import type { HealthRow } from '../schema/health.js';

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
const number = (value: number | null) => (value === null ? '-' : Number.isInteger(value) ? String(value) : value.toPrecision(4));

const columns: readonly { head: string; cell: (row: HealthRow) => string; left?: boolean }[] = [
  { head: 'feature', cell: (row) => `${row.entity}.${row.feature}`, left: true },
  { head: 'segment', cell: (row) => row.segment, left: true },
  { head: 'direction', cell: (row) => row.direction, left: true },
  { head: 'values', cell: (row) => String(row.values) },
  { head: 'missing', cell: (row) => percent(row.missingRate) },
  { head: 'stale', cell: (row) => percent(row.staleRate) },
  { head: 'null', cell: (row) => percent(row.nullRate) },
  { head: 'range', cell: (row) => percent(row.outOfRangeRate) },
  { head: 'mean', cell: (row) => number(row.mean) },
  { head: 'p50', cell: (row) => number(row.p50) },
  { head: 'p99', cell: (row) => number(row.p99) },
  { head: 'psi', cell: (row) => (row.psi === null ? '-' : row.psi.toFixed(3)) },
  { head: 'skew', cell: (row) => (row.skewRate === null ? '-' : `${percent(row.skewRate)} of ${row.skewChecked}`) },
];

/** The rows as an aligned table under a header line, each interval's rows after a line naming it. */
export function healthTable(rows: readonly HealthRow[]): string {
  const cells = [columns.map((c) => c.head), ...rows.map((row) => columns.map((c) => c.cell(row)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] as string).length)));
  const [head, ...lines] = cells.map((line) => line.map((cell, i) => (columns[i]?.left ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ').trimEnd());
  const out = [head as string];
  let interval = '';
  rows.forEach((row, i) => {
    const named = `[${new Date(row.from).toISOString()}, ${new Date(row.to).toISOString()})`;
    if (named !== interval) out.push(named);
    interval = named;
    out.push(lines[i] as string);
  });
  return `${out.join('\n')}\n`;
}

/** One JSON object per row, its interval's ends as ISO-8601 text. */
export function healthJsonLines(rows: readonly HealthRow[]): string {
  return rows.map((row) => `${JSON.stringify({ ...row, from: new Date(row.from).toISOString(), to: new Date(row.to).toISOString() })}\n`).join('');
}
