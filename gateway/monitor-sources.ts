// What the monitor computes from, opened in one place for `featuregraph monitor` and `serve --monitor`:
// the served log, the history store, and the health engine over them with its skew checker.
import { ConfigError } from '../schema/errors.js';
import type { FeatureRegistry } from '../schema/registry.js';
import type { HistoryStore } from '../adapters/history/types.js';
import type { ServedLogStore } from '../adapters/served-log/types.js';
import type { HealthEngine } from '../materializers/monitor/types.js';
import type { Baseline } from '../materializers/monitor/baseline.js';
import { createHealthEngine } from '../materializers/monitor/health.js';
import { fileBaseline } from '../materializers/monitor/baseline-file.js';
import { periodBaseline } from '../materializers/monitor/baseline-period.js';
import { monitoredFeatures } from '../materializers/monitor/features.js';
import { healthDirections } from '../schema/health.js';
import type { BaselineAsked } from './commands/health.js';
import { createSkewChecker } from '../materializers/monitor/skew.js';
import { openHistoryStore } from './history.js';
import { describeSink, openServedLogStore, servedLogSink } from './served-log/index.js';
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
  /** What drift is measured against (none: psi is null): a training-set file, or a past period read once at start. */
  baseline?: BaselineAsked | null;
}

/**
 * Opens what the caller does not share: the served log its config's gateways write (servedLogSink's
 * default follows the history), the history store (a memory one is private to the process that writes
 * it: no incoming rows then), the skew checker over that history, and the engine over all of them.
 */
export async function openMonitorSources(config: GatewayConfig, registry: FeatureRegistry, options: MonitorSourceOptions): Promise<MonitorSources> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    let history: HistoryStore | null = options.history ?? null;
    if (!history && config.history.type !== 'memory') {
      const opened = await openHistoryStore(config.history, { views: [...registry.views.values()], log: options.log });
      closers.push(() => opened.close());
      history = opened;
    } else if (!history) options.log('monitor: incoming rows and skew not computed: the history store is memory, private to the process that writes it');
    let servedLog: ServedLogStore | null = options.servedLog ?? null;
    let servedLogName: string | null = servedLog?.name ?? null;
    if (options.servedLog === undefined) {
      const found = servedLogSink(config);
      if ('off' in found) options.log(`monitor: served rows not computed: the served log is off (${found.off})`);
      else if (found.sink.type === 'memory') servedLogName = 'memory';
      else {
        const store = await openServedLogStore(config, found.sink, { history, log: options.log });
        closers.push(() => store.close());
        servedLog = store;
        servedLogName = store.name;
        options.log(`monitor: served rows from ${describeSink(found.sink)}`);
      }
    }
    const skew = history ? createSkewChecker({ registry, history }) : null;
    const asked = options.baseline ?? null;
    let baseline: Baseline | null = null;
    if (asked !== null && 'file' in asked) baseline = await fileBaseline(registry, asked.file, { where: '--baseline' });
    else if (asked !== null) baseline = await periodBaseline({ servedLog, history }, monitoredFeatures(registry, {}), asked, healthDirections);
    if (baseline) options.log(`monitor: drift against ${baseline.description}`);
    const engine = createHealthEngine({ registry, servedLog, history, skew, baseline });
    return { engine, servedLog: servedLogName, close };
  } catch (error) {
    await close();
    throw error;
  }
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
