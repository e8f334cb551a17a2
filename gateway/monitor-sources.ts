// What the monitor computes from, opened in one place for `featuregraph monitor` and `serve --monitor`:
// the served log, the history store, and the health engine over them with its skew checker.
import { ConfigError, FeaturegraphError } from '../schema/errors.js';
import type { FeatureRegistry } from '../schema/registry.js';
import type { HistoryStore } from '../adapters/history/types.js';
import type { ServedLogStore } from '../adapters/served-log/types.js';
import type { HealthEngine } from '../materializers/monitor/types.js';
import type { GatewayConfig } from './config.js';
import type { Health } from './health.js';

export interface MonitorSources {
  engine: HealthEngine;
  /** The served log's store ('memory', 'embedded', 'kafka'); null when nothing is logged (served rows are then absent). */
  servedLog: string | null;
  /** Closes what was opened here (not what the caller shared). */
  close(): Promise<void>;
}

export interface MonitorSourceOptions {
  log: (message: string) => void;
  health: Health;
  /** The caller's history store, when it has one open (serve): shared, not opened again. */
  history?: HistoryStore;
  /** The caller's served log (serve: the one its gateway logs to, a memory one included): shared, not opened again. */
  servedLog?: ServedLogStore | null;
}

// TODO(merge): open the served log with openServedLog (gateway/served-log/index.ts, part A) unless the
// caller shares its own, the history store as the commands do (openServeHistory) unless shared, the skew
// checker with createSkewChecker (materializers/monitor/skew.ts, part D) and the engine with
// createHealthEngine (materializers/monitor/health.ts, part C) over them; close what was opened here.
export async function openMonitorSources(_config: GatewayConfig, _registry: FeatureRegistry, _options: MonitorSourceOptions): Promise<MonitorSources> {
  throw new FeaturegraphError('UNSUPPORTED_CAPABILITY', 'the monitor is not built yet: its health engine, skew checker and served log are not in this build');
}

/**
 * A served log that lives in a gateway's memory cannot be read by another process: a monitor of its
 * own would see no served data at all, so it is refused, naming the ways that work.
 */
export function refuseMemoryServedLog(servedLog: string | null): void {
  if (servedLog === 'memory') {
    throw new ConfigError(
      'the served log is the memory sink: it lives in the memory of the gateway that logs it, where no other process can read it. Run the monitor inside that gateway (featuregraph serve --monitor), or log to a shared sink (config servedLog.sink embedded or kafka)',
    );
  }
}
