// How the commands that run until stopped (serve, materialize, monitor) start and stop: everything they open is
// closed once, in reverse order, on SIGINT or SIGTERM or when a later step of the start fails.
import type { Health } from '../health.js';
import type { ListenTarget } from '../listen.js';
import type { Telemetry } from '../telemetry/sdk.js';
import { listenMetrics } from '../telemetry/metrics-endpoint.js';

/** How often serve and materialize probe their dependencies, to log a change when it happens. */
export const healthEveryMs = 2000;

/** What a command opened, closed once in reverse order (a connection left open keeps a failed process alive). */
export class Closers {
  private readonly closers: (() => Promise<void>)[] = [];

  add(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  async closeAll(): Promise<void> {
    while (this.closers.length > 0) await (this.closers.pop() as () => Promise<void>)().catch(() => undefined);
  }
}

/**
 * Stops a long-running command once on SIGINT or SIGTERM, then exits 0; installed before the start, so
 * that a signal during a wait (a broker, a history store) stops it too. Returns whether it is stopping.
 */
function stopOnSignals(log: (message: string) => void, doing: string, stop: () => Promise<void>): () => boolean {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: ${doing}`);
    await stop();
    process.exit(0);
  };
  // `on`, not `once`: tsx's loader ends the process on a signal nobody else listens to.
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  return () => stopping;
}

export interface RunUntilStoppedOptions {
  log: (message: string) => void;
  /** What the signal's log line says the process does, e.g. "shutting down". */
  doing: string;
  /** Stopped with what was opened, so that no probe outlives it. */
  health: Health;
  /** Called first on a signal, before anything is closed (to abort the waits of the start). */
  onSignal?: () => void;
}

/**
 * Runs `start`, which adds everything it opens to `opened`, then keeps the process up until a signal
 * (the returned promise never resolves). A start that fails closes what it had opened and rethrows,
 * unless a signal came meanwhile: the shutdown then closes it and exits.
 */
export async function runUntilStopped(options: RunUntilStoppedOptions, start: (opened: Closers, stopping: () => boolean) => Promise<void>): Promise<number> {
  const { health } = options;
  const opened = new Closers();
  const stopping = stopOnSignals(options.log, options.doing, async () => {
    options.onSignal?.();
    health.stop();
    await opened.closeAll();
  });
  try {
    await start(opened, stopping);
  } catch (error) {
    if (stopping()) return new Promise<number>(() => {});
    health.stop();
    await opened.closeAll();
    throw error;
  }
  return new Promise<number>(() => {});
}

/** Serves the process's metrics on a port of its own (--metrics-port), closed with what the command opened. */
export async function serveMetricsPort(opened: Closers, telemetry: Telemetry, target: ListenTarget, log: (message: string) => void): Promise<void> {
  if (!telemetry.metrics) {
    log('no metrics to serve on --metrics-port: OTEL_METRICS_EXPORTER=none (or OTEL_SDK_DISABLED=true) turned them off');
    return;
  }
  const server = await listenMetrics(telemetry.metrics, target);
  opened.add(server.close);
  log(`metrics at ${server.url}/metrics`);
}
