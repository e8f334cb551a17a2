#!/usr/bin/env node
// `npm run test:busy [-- command...]`: runs a command (default `npm test`) while one CPU-bound
// process per core competes with it, so that tests whose verdict depends on the machine's speed fail
// here rather than on a loaded CI machine. Prints the load average at start and end and the wall time.
import { spawn } from 'node:child_process';
import { availableParallelism, constants, loadavg, setPriority } from 'node:os';

const help = `usage: npm run test:busy [-- command [args...]]

Starts one CPU-bound busy process per core (FEATUREGRAPH_BUSY_PROCS overrides the count), at nice 0
like the tests, then runs the command (default: npm test) and stops them when it ends, fails, or
this script is interrupted or killed. The command's exit status is this script's.
Load averages and wall time go to stderr: the command's own last line stays last on stdout.

  npm run test:busy                          # the whole suite on a busy machine
  npm run test:busy -- bash .ci/run          # CI's script
  npm run test:busy -- node --import tsx --test test/integration/redis-outage.test.ts`;

// `npm run test:busy -- cmd` hands over `cmd`; a direct `node test/busy.mjs -- cmd` keeps the `--`.
const args = process.argv[2] === '--' ? process.argv.slice(3) : process.argv.slice(2);
if (args[0] === '--help' || args[0] === '-h') {
  console.log(help);
  process.exit(0);
}
const command = args.length > 0 ? args : ['npm', 'test'];
const raw = process.env.FEATUREGRAPH_BUSY_PROCS;
const count = raw === undefined || raw === '' ? availableParallelism() : Number(raw);
if (!Number.isInteger(count) || count < 0 || count > 64) {
  console.error(`FEATUREGRAPH_BUSY_PROCS must be an integer from 0 to 64, got ${JSON.stringify(raw)}`);
  process.exit(2);
}

// A busy loop that never yields still notices, every 100 ms, that this script is gone (it is then
// re-parented), so even a SIGKILL of this script leaves no burner behind. The script's pid is passed
// in: a burner still starting when the script died would otherwise take its new parent for this one.
const burnerSource = `const parent = Number(process.argv[1]);
for (;;) {
  if (process.ppid !== parent) process.exit(0);
  const until = Date.now() + 100;
  while (Date.now() < until);
}`;

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const say = (line) => process.stderr.write(`[test:busy] ${line}\n`);

const burners = [];
for (let i = 0; i < count; i++) {
  const burner = spawn(process.execPath, ['-e', burnerSource, String(process.pid)], { stdio: 'ignore' });
  try {
    // Niced 0 even when this script runs niced: the burners compete with the tests as equals.
    setPriority(burner.pid, 0);
  } catch {
    // Raising priority needs privileges; a burner at this script's own nice level still competes.
  }
  burners.push(burner);
}
const stopBurners = () => {
  for (const burner of burners) if (burner.exitCode === null && burner.signalCode === null) burner.kill('SIGKILL');
};
process.on('exit', stopBurners);

const started = Date.now();
say(`${burners.length} busy processes (pids ${burners.map((b) => b.pid).join(', ')}); load average ${load()} at start; running: ${command.join(' ')}`);
const child = spawn(command[0], command.slice(1), { stdio: 'inherit' });

let signalled = null;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    signalled = signal;
    stopBurners();
    // A terminal's Ctrl-C already reached the command (same process group); a kill of this script alone did not.
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}

child.once('error', (error) => {
  stopBurners();
  say(`cannot run ${command[0]}: ${error.message}`);
  process.exit(127);
});
child.once('exit', (code, signal) => {
  stopBurners();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  say(`${command.join(' ')} ended (${signal ?? `exit ${code}`}) after ${seconds} s wall time; load average ${load()} at end`);
  const by = signal ?? signalled;
  process.exit(by !== null ? 128 + (constants.signals[by] ?? 15) : (code ?? 1));
});
