// The servers bench:online measures, as child processes: started once they say where they serve,
// stopped with SIGTERM (then SIGKILL), their last lines kept for error messages.
import { spawn, type ChildProcess } from 'node:child_process';
import { track } from '../common/children.js';
import type { Variant } from './variants.js';

export interface Server {
  name: Variant;
  child: ChildProcess;
  host: string;
  port: number;
  /** The last lines it wrote on stderr, for error messages. */
  tail(): string;
}

/** Spawns a server and resolves once it logs "serving ... at http://HOST:PORT/...". */
export function startServer(name: Variant, args: string[], env: NodeJS.ProcessEnv, cwd: string, timeoutMs = 60_000): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const lines: string[] = [];
  const tail = () => lines.slice(-20).join('\n');
  return new Promise((resolvePromise, reject) => {
    let ready = false;
    const timer = setTimeout(() => reject(new Error(`${name} server did not start within ${timeoutMs} ms:\n${tail()}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        lines.push(line);
        if (lines.length > 200) lines.shift();
        const match = ready ? null : /serving(?: .*)? at http:\/\/([^/:\s]+):(\d+)\//.exec(line);
        if (match) {
          ready = true;
          clearTimeout(timer);
          resolvePromise({ name, child, host: match[1] as string, port: Number(match[2]), tail });
        }
      }
    };
    // Both streams are drained for the whole run: a full pipe would stall the server.
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${name} server exited (${signal ?? `code ${code}`}) before it was ready:\n${tail()}`));
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited within graceMs. Resolves when it is gone. */
export async function stopServer(server: Server, log: (message: string) => void, graceMs = 10_000): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    log(`${server.name} server ignored SIGTERM for ${graceMs} ms; killing it`);
    child.kill('SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}
