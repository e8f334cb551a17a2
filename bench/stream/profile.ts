// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: the functions with the most
// self time, and self time per area (featuregraph folders, node_modules packages, GC, idle).
//
//   node --import tsx bench/stream/profile.ts FILE.cpuprofile [--top N]
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readCpuProfile, type CallFrame, type ProfileNode } from '../common/cpu-profile.js';
import { root } from './common.js';

export interface SelfTimeRow {
  name: string;
  where: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Wall time minus idle: what the process spent on the CPU (or in GC). */
  busyMs: number;
  functions: SelfTimeRow[];
  areas: SelfTimeRow[];
}

function locate(frame: CallFrame): string {
  if (!frame.url) return '';
  let path = frame.url;
  if (path.startsWith('file://')) path = fileURLToPath(path);
  const short = path.startsWith(root) ? relative(root, path) : path;
  return `${short}:${frame.lineNumber + 1}`;
}

/** The area a frame belongs to: a node_modules package, a top-level folder of ours, node's internals, or V8's pseudo-frames. */
function areaOf(frame: CallFrame): string {
  const name = frame.functionName;
  if (name === '(idle)' || name === '(program)' || name === '(garbage collector)' || name === '(root)') return name;
  const url = frame.url;
  if (!url) return '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = path.slice(modules + 'node_modules/'.length).split('/');
    return `npm:${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? '?')}`;
  }
  if (path.startsWith(root)) return relative(root, path).split('/')[0] ?? path;
  return path;
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = readCpuProfile(file);
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  // timeDeltas[i] is the time before sample i; the time after sample i (until the next) is its share.
  const selfById = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    const delta = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    selfById.set(id, (selfById.get(id) ?? 0) + delta);
  }
  const functions = new Map<string, { name: string; where: string; ms: number }>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, ms] of selfById) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    total += ms;
    if (frame.functionName === '(idle)') idle += ms;
    const name = frame.functionName || '(anonymous)';
    const where = locate(frame);
    const key = `${name}\u0000${where}`;
    const entry = functions.get(key) ?? { name, where, ms: 0 };
    entry.ms += ms;
    functions.set(key, entry);
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + ms);
  }
  const busy = total - idle;
  const pct = (ms: number) => Math.round((ms / Math.max(1e-9, busy)) * 1000) / 10;
  return {
    totalMs: Math.round(total),
    busyMs: Math.round(busy),
    functions: [...functions.values()]
      .filter((f) => f.name !== '(idle)')
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: Math.round(f.ms), percent: pct(f.ms) })),
    areas: [...areas]
      .filter(([area]) => area !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .map(([area, ms]) => ({ name: area, where: '', selfMs: Math.round(ms), percent: pct(ms) })),
  };
}

export function formatProfile(summary: ProfileSummary): string {
  const lines = [`busy ${summary.busyMs} ms of ${summary.totalMs} ms profiled (percentages are of busy time)`, '', 'self time by area:'];
  for (const a of summary.areas) lines.push(`  ${String(a.percent).padStart(5)}%  ${String(a.selfMs).padStart(6)} ms  ${a.name}`);
  lines.push('', 'top functions by self time:');
  for (const f of summary.functions) lines.push(`  ${String(f.percent).padStart(5)}%  ${String(f.selfMs).padStart(6)} ms  ${f.name}  ${f.where}`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } });
  const file = positionals[0];
  if (!file) {
    process.stderr.write('usage: node --import tsx bench/stream/profile.ts FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(summarizeProfile(file, Number(values.top ?? 25)))}\n`);
}
