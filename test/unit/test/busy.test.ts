// npm run test:busy (test/busy.mjs): the busy processes run while the command runs, and none is left
// behind when the command ends or when the script itself is SIGKILLed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAlive } from '../../services/harness.js';
import { waitUntil } from '../../fixtures/wait.js';

const script = 'test/busy.mjs';

/**
 * A command for the script to run: prints its own pid and the pids of its siblings that are busy
 * loops (children of the script, found in /proc), then waits `waitMs` and exits with `code`.
 */
const reporter = (waitMs: number, code: number) => `
const fs = require('node:fs');
const burners = [];
for (const entry of fs.readdirSync('/proc')) {
  if (!/^\\d+$/.test(entry) || Number(entry) === process.pid) continue;
  try {
    const stat = fs.readFileSync('/proc/' + entry + '/stat', 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === process.ppid && fs.readFileSync('/proc/' + entry + '/cmdline', 'utf8').includes('process.ppid')) burners.push(Number(entry));
  } catch {}
}
console.log(JSON.stringify({ self: process.pid, burners }));
setTimeout(() => process.exit(${code}), ${waitMs});`;

function run(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const report = async () => {
    await waitUntil(() => stdout.includes('\n'), 60_000, () => `the command's report: ${stdout} ${stderr}`, 20);
    return JSON.parse(stdout.split('\n')[0] as string) as { self: number; burners: number[] };
  };
  return { child, exited, report, output: () => ({ stdout, stderr }) };
}

/** Those of `pids` that are still busy loops (a pid reused by another process does not count). */
function running(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      return isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('process.ppid');
    } catch {
      return false;
    }
  });
}

test('test:busy runs the command beside one busy process each, passes its exit status on, and stops them', async () => {
  const busy = run(['--', process.execPath, '-e', reporter(0, 3)], { FEATUREGRAPH_BUSY_PROCS: '2' });
  const { burners } = await busy.report();
  assert.equal(burners.length, 2, `busy processes while the command ran: ${JSON.stringify(burners)}`);
  assert.deepEqual(await busy.exited, { code: 3, signal: null });
  const { stderr } = busy.output();
  assert.match(stderr, /2 busy processes .*; load average [\d.]+ [\d.]+ [\d.]+ at start; running: /);
  assert.match(stderr, /ended \(exit 3\) after [\d.]+ s wall time; load average [\d.]+ [\d.]+ [\d.]+ at end/);
  await waitUntil(() => running(burners).length === 0, 30_000, () => `busy processes left after the command ended: ${JSON.stringify(running(burners))}`);
});

test('test:busy leaves no busy process behind when it is SIGKILLed, even before they started', async () => {
  // Killed as soon as it names its busy processes, which are then still starting: each must notice by
  // itself that the script is gone. The command exits by itself.
  const busy = run(['--', process.execPath, '-e', 'setTimeout(() => undefined, 2000)'], { FEATUREGRAPH_BUSY_PROCS: '2' });
  let burners: number[] = [];
  try {
    await waitUntil(() => /\(pids [\d, ]+\)/.test(busy.output().stderr), 60_000, () => `the script naming its busy processes: ${busy.output().stderr}`, 1);
    busy.child.kill('SIGKILL');
    burners = (/\(pids ([\d, ]+)\)/.exec(busy.output().stderr)?.[1] ?? '').split(', ').map(Number);
    assert.equal(burners.length, 2);
    await busy.exited;
    await waitUntil(() => running(burners).length === 0, 30_000, () => `busy processes left after the script was killed: ${JSON.stringify(running(burners))}`);
  } finally {
    for (const pid of running(burners)) process.kill(pid, 'SIGKILL');
  }
});

test('test:busy refuses a bad process count', async () => {
  const busy = run(['--', process.execPath, '-e', ''], { FEATUREGRAPH_BUSY_PROCS: 'many' });
  assert.deepEqual(await busy.exited, { code: 2, signal: null });
  assert.equal(busy.output().stderr.trim(), 'FEATUREGRAPH_BUSY_PROCS must be an integer from 0 to 64, got "many"');
});
