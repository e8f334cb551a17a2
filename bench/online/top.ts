// Prints the functions that spent the most CPU themselves (self time) in a V8 .cpuprofile, such as
// the one `npm run bench:online -- --profile` writes for the gateway.
//
//   node --import tsx bench/online/top.ts FILE.cpuprofile [--limit 25] [--since-ms N]
//
// Self time of a function = the time between each of its samples and the next, summed over every
// node of the same function (url, line, column). For TypeScript run through tsx, V8 saw transpiled
// code (tsx strips whitespace, so nearly everything is on line 1): this tool transpiles each .ts file
// again the way tsx does (esbuild, the same options) and maps positions back to the .ts source with
// the source map. A position that cannot be mapped, or whose source line does not name the function,
// is shown as V8 saw it, marked "(transpiled)".
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCpuProfile, type CallFrame } from '../common/cpu-profile.js';

const { values: flags, positionals } = parseArgs({
  options: { limit: { type: 'string', default: '25' }, 'since-ms': { type: 'string', default: '0' } },
  allowPositionals: true,
  strict: true,
});
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: node --import tsx bench/online/top.ts FILE.cpuprofile [--limit 25] [--since-ms N]\n');
  process.exit(2);
}
const limit = Number(flags.limit);
// Skipping the first N ms leaves out start-up (module loading, TypeScript transpiling) when wanted.
const sinceUs = Number(flags['since-ms']) * 1000;

const profile = readCpuProfile(file);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));

interface Transform {
  code: string;
  map: string;
}
type Transpile = (source: string, file: string) => Transform;

/**
 * esbuild with tsx's options (tsx 4: target this Node, sourcemap, minifyWhitespace, keepNames, esm).
 * esbuild comes with tsx; without it, positions stay as V8 saw them.
 */
async function loadTranspiler(): Promise<Transpile | null> {
  try {
    const esbuild = await import('esbuild');
    return (source, file) =>
      esbuild.transformSync(source, { loader: 'ts', format: 'esm', target: `node${process.versions.node}`, sourcemap: true, minifyWhitespace: true, keepNames: true, sourcefile: file });
  } catch {
    return null;
  }
}

const transpile = await loadTranspiler();
const sourceMaps = new Map<string, { map: SourceMap; lines: string[] } | null>();

function mapped(path: string, frame: CallFrame): { line: number; column: number } | null {
  if (!transpile || !/\.[cm]?tsx?$/.test(path) || !existsSync(path)) return null;
  let entry = sourceMaps.get(path);
  if (entry === undefined) {
    try {
      const source = readFileSync(path, 'utf8');
      const { map } = transpile(source, path);
      entry = { map: new SourceMap(JSON.parse(map) as SourceMapPayload), lines: source.split('\n') };
    } catch {
      entry = null;
    }
    sourceMaps.set(path, entry);
  }
  if (!entry) return null;
  const found = entry.map.findEntry(frame.lineNumber, frame.columnNumber);
  if (!('originalLine' in found) || typeof found.originalLine !== 'number') return null;
  // Trust the mapping only where the source line names the function (anonymous ones cannot be checked).
  const text = entry.lines[found.originalLine] ?? '';
  if (frame.functionName && !frame.functionName.split('.').some((part) => text.includes(part))) return null;
  return { line: found.originalLine, column: found.originalColumn };
}

function place(frame: CallFrame): string {
  if (!frame.url) return ''; // V8's own entries: (program), (idle), (garbage collector)
  let where = frame.url;
  let position: { line: number; column: number } | null = null;
  if (where.startsWith('file://')) {
    const path = fileURLToPath(where);
    position = mapped(path, frame);
    // Paths relative to the working directory are shorter and still clickable in most terminals.
    const rel = relative(process.cwd(), path);
    where = rel.startsWith('..') ? path : rel;
  }
  // Both V8 and source maps count lines and columns from 0.
  if (position) return `${where}:${position.line + 1}:${position.column + 1}`;
  const transpiled = /\.[cm]?tsx?$/.test(where) ? ' (transpiled)' : '';
  return `${where}:${frame.lineNumber + 1}:${frame.columnNumber + 1}${transpiled}`;
}

// Self time per sample is the delta to the next sample (what V8's own tools use).
const selfUs = new Map<string, { name: string; where: string; us: number }>();
let totalUs = 0;
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  at += profile.timeDeltas[i] ?? 0;
  const next = profile.timeDeltas[i + 1] ?? 0;
  if (at - profile.startTime < sinceUs) continue;
  const node = byId.get(profile.samples[i] as number);
  if (!node) continue;
  const frame = node.callFrame;
  const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}|${frame.columnNumber}`;
  let entry = selfUs.get(key);
  if (!entry) selfUs.set(key, (entry = { name: frame.functionName || '(anonymous)', where: place(frame), us: 0 }));
  entry.us += next;
  totalUs += next;
}

// Shares are of busy time: a server waiting for requests (idle) says nothing about where its work goes.
const idleUs = [...selfUs.values()].filter((e) => e.name === '(idle)' && e.where === '').reduce((n, e) => n + e.us, 0);
const busyUs = totalUs - idleUs;
const rows = [...selfUs.values()]
  .filter((e) => !(e.name === '(idle)' && e.where === ''))
  .sort((a, b) => b.us - a.us)
  .slice(0, limit);
process.stdout.write(
  `${file}: ${(totalUs / 1000).toFixed(0)} ms sampled${sinceUs ? ` after the first ${sinceUs / 1000} ms` : ''}, ` +
    `${(busyUs / 1000).toFixed(0)} ms busy, ${(idleUs / 1000).toFixed(0)} ms idle; shares are of busy time\n`,
);
process.stdout.write(`${'self ms'.padStart(9)} ${'busy %'.padStart(7)}  function  location\n`);
for (const row of rows) {
  process.stdout.write(`${(row.us / 1000).toFixed(1).padStart(9)} ${((100 * row.us) / (busyUs || 1)).toFixed(1).padStart(6)}%  ${row.name}  ${row.where}\n`);
}
