#!/usr/bin/env node
// The test entry point behind `npm test`: brings up the real services the integration suites need
// (test/services), runs every suite with node's test runner, stops what it started, and ends with
// the plain line "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const help = `usage: npm test [-- options] [file-or-folder...]

  (no options)    unit, conformance (memory), end-to-end and integration suites; starts the services
  --unit          only suites that need no external server (no services are started)
  --integration   only test/integration (starts the services)
  --keep          leave the services running afterwards (faster reruns of one suite)

Integration suites talk to real servers started by test/services/up (see README).
On a busy machine: npm run test:busy [-- command...] runs this (or the command) while one CPU-bound
process per core competes with it (test/busy.mjs --help).`;

const args = process.argv.slice(2);
if (args.includes('--help')) {
  console.log(help);
  process.exit(0);
}
const unitOnly = args.includes('--unit');
const integrationOnly = args.includes('--integration');
const keep = args.includes('--keep');
const explicit = args.filter((a) => !a.startsWith('--'));

const skipDirs = new Set(['node_modules', 'dist', '.cache', '.git', 'bench']);
function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skipDirs.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(path));
    else if (entry.name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}
const isIntegration = (file) => relative(root, file).split(sep).slice(0, 2).join('/') === 'test/integration';

let files = explicit.length > 0 ? explicit.flatMap((p) => (p.endsWith('.ts') ? [join(root, p)] : findTests(join(root, p)))) : findTests(root);
if (unitOnly) files = files.filter((f) => !isIntegration(f));
if (integrationOnly) files = files.filter(isIntegration);
files.sort();
const needsServices = files.some(isIntegration);

function services(command, names = []) {
  return spawnSync(join(root, 'test/services', command), names, { stdio: ['ignore', 'ignore', 'inherit'], cwd: root });
}

// `status` names every service the harness knows, one line each: "<name>: down" or "<name>: <endpoint>".
const known = [];
const before = new Set();
if (needsServices) {
  const status = spawnSync(join(root, 'test/services/status'), [], { encoding: 'utf8', cwd: root });
  for (const line of (status.stdout ?? '').split('\n')) {
    if (!line) continue;
    const name = line.split(':')[0];
    known.push(name);
    if (!line.endsWith(': down')) before.add(name);
  }
  const result = services('up');
  if (result.status !== 0) {
    console.error('The services the integration suites need did not start (see above).');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

const summaryDir = join(root, '.cache', 'test');
mkdirSync(summaryDir, { recursive: true });
// One file per run: two runs at once (two checkouts sharing a cache) must not read each other's counts.
const summaryFile = join(summaryDir, `summary-${process.pid}.txt`);
rmSync(summaryFile, { force: true });

const run = spawnSync(
  process.execPath,
  [
    '--import', 'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'test/summary-reporter.mjs')}`, `--test-reporter-destination=${summaryFile}`,
    ...files,
  ],
  { stdio: 'inherit', cwd: root, env: { ...process.env, FEATUREGRAPH_TEST: '1' } },
);

if (needsServices && !keep) {
  const startedHere = known.filter((name) => !before.has(name));
  if (startedHere.length > 0) services('down', startedHere);
}

const summary = existsSync(summaryFile) ? readFileSync(summaryFile, 'utf8').trim() : '0 passed, 1 failed';
rmSync(summaryFile, { force: true });
console.log(summary);
process.exit(run.status ?? 1);
