// The child processes a bench starts (servers, workers): every one is tracked, so that any way out
// of the bench stops them.
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();

/** Tracks `child` until it exits. */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** SIGKILLs every tracked child still running. */
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Kills the children when the bench exits, and on SIGINT or SIGTERM (logging that `what` are stopped) before exiting with 130. */
export function killChildrenOnExit(log: (message: string) => void, what: string): void {
  process.on('exit', killChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      log(`${signal}: stopping the ${what}`);
      killChildren();
      process.exit(130);
    });
  }
}
