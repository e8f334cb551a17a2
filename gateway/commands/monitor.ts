// `featuregraph monitor`: the health engine over a sliding window, every minute, as gauges on
// --metrics-port (materializers/monitor/loop.ts and metrics.ts); or once, as a table. `serve --monitor`
// runs the same loop inside a gateway (startMonitorLoop below).
import { formatDuration } from '../../schema/duration.js';
import { ConfigError } from '../../schema/errors.js';
import { loadFeatureRepo } from '../../schema/load.js';
import { MonitorLoop } from '../../materializers/monitor/loop.js';
import { MonitorMetrics } from '../../materializers/monitor/metrics.js';
import type { HealthEngine } from '../../materializers/monitor/types.js';
import type { Timers } from '../../materializers/batch/in-process-scheduler.js';
import { Health } from '../health.js';
import { healthJsonLines, healthTable } from '../health-table.js';
import { baselineFlags } from './health.js';
import { openMonitorSources, refuseMemoryServedLog, type MonitorSources } from '../monitor-sources.js';
import { startTelemetry } from '../telemetry/sdk.js';
import { configOf, defaultRepo, durationFlag, log, portFlag, repoAndConfigOptions, type Command, type FlagValues } from './command.js';
import { healthEveryMs, runUntilStopped, serveMetricsPort, type Closers } from './long-running.js';

export interface MonitorSchedule {
  /** How often a run starts. */
  everyMs: number;
  /** The sliding window each run computes: [now - intervalMs, now). */
  intervalMs: number;
}

export const defaultMonitorSchedule: MonitorSchedule = { everyMs: 60_000, intervalMs: 3_600_000 };

/** The schedule of the flags `every` and `interval` (serve names them --monitor-every and --monitor-interval). */
export function monitorScheduleOf(values: FlagValues, flags: { every: string; interval: string } = { every: 'every', interval: 'interval' }): MonitorSchedule {
  return { everyMs: durationFlag(values, flags.every, defaultMonitorSchedule.everyMs, false), intervalMs: durationFlag(values, flags.interval, defaultMonitorSchedule.intervalMs, false) };
}

/** One run over the window ending `now`, as the table (or JSON lines) --once prints. */
export async function monitorOnce(engine: HealthEngine, schedule: MonitorSchedule, now: number, json: boolean): Promise<string> {
  const rows = await engine.health({ from: now - schedule.intervalMs, to: now });
  if (rows.length === 0) return '';
  const window = `[${new Date(now - schedule.intervalMs).toISOString()}, ${new Date(now).toISOString()})`;
  return json ? `${healthJsonLines(rows)}\n` : `${window}\n${healthTable(rows)}\n`;
}

/** Timers that keep the process up: the loop is what a monitor process is for. */
const keptTimers: Timers = { setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) };

/** Starts the loop over the sources, its rows to `metrics`, stopped with what the command opened. */
export function startMonitorLoop(opened: Closers, sources: MonitorSources, metrics: MonitorMetrics, schedule: MonitorSchedule, options: { timers?: Timers; where: string }): MonitorLoop {
  const loop = new MonitorLoop({ engine: sources.engine, ...schedule, metrics, log, timers: options.timers });
  opened.add(() => loop.stop());
  loop.start();
  const served = sources.servedLog === null ? 'no served log (nothing is logged: served rows are absent)' : `the ${sources.servedLog} served log`;
  log(`monitor ${options.where}: every ${formatDuration(schedule.everyMs)}, the last ${formatDuration(schedule.intervalMs)} of ${served} and of the history store`);
  return loop;
}

export const monitor: Command = {
  summary: 'compute feature health (missing, stale, null, range, drift, skew per segment) as metrics',
  help: `featuregraph monitor [--repo DIR] [--config FILE] [--every DURATION] [--interval DURATION] [--metrics-port N]
                     [--baseline FILE | --baseline-from TIME --baseline-to TIME]
featuregraph monitor --once [--json] [--repo DIR] [--config FILE] [--interval DURATION]

Every --every, computes the health of every monitored feature over the last --interval, per segment
(Restaurant by city, User by country, and * for the whole population) and per direction: served
(what gateways answered, from the served log) and incoming (what materializers wrote, from the
history store). --metrics-port serves them for Prometheus, labelled feature, entity, view, owner,
segment and direction:
  featuregraph_monitor_values                 values counted in the window
  featuregraph_monitor_missing_ratio          MISSING or EXPIRED values
  featuregraph_monitor_stale_ratio            STALE values
  featuregraph_monitor_null_ratio             present but null
  featuregraph_monitor_out_of_range_ratio     numbers outside the feature's monitor.range
  featuregraph_monitor_psi                    drift against the baseline (population stability index)
  featuregraph_monitor_skew_ratio             served values a SERVED read recomputes differently
  featuregraph_monitor_last_run_timestamp_seconds, featuregraph_monitor_failures_total
A ratio is reported only for a row of at least the feature's monitor.minValues values (30 by
default); a segment no longer seen disappears at the next run. A run that fails is logged and
counted, and the gauges keep the last successful run's values. \`featuregraph alerts\` writes the rules
that watch them (--monitor-job names this process's scrape job).

The served log must be one other processes read (config servedLog.sink embedded or kafka): a memory
served log lives inside its gateway, so this command refuses it; run \`featuregraph serve --monitor\`
there instead, which runs this same loop in the gateway (its gauges on the gateway's /metrics).

  --repo DIR           feature repo folder (default ${defaultRepo})
  --config FILE        JSON config: history, servedLog, kafka (where the served log and history are)
  --every DURATION     how often a run starts (default ${formatDuration(defaultMonitorSchedule.everyMs)})
  --interval DURATION  the window each run computes, ending now (default ${formatDuration(defaultMonitorSchedule.intervalMs)})
  --metrics-port N     serve /metrics on this port (unless OTEL_METRICS_EXPORTER=none)
  --once               compute the window once, print it as a table and exit
  --json               with --once: one JSON object per row instead of the table
  --baseline FILE      drift (psi) is measured against a training-set export (.parquet, .csv, .ndjson)
  --baseline-from TIME, --baseline-to TIME
                       ... or against a past period of the same data, read once at start
                       (without a baseline, psi is not computed and FeatureDrift never fires)

Example:
  featuregraph monitor --config featuregraph.json --metrics-port 9465
  featuregraph monitor --config featuregraph.json --once --interval 15m`,
  options: { ...repoAndConfigOptions, every: { type: 'string' }, interval: { type: 'string' }, 'metrics-port': { type: 'string' }, once: { type: 'boolean' }, json: { type: 'boolean' }, baseline: { type: 'string' }, 'baseline-from': { type: 'string' }, 'baseline-to': { type: 'string' } },
  async run(values) {
    const schedule = monitorScheduleOf(values);
    const baseline = baselineFlags(values);
    const once = values.once === true;
    if (values.json === true && !once) throw new ConfigError('--json goes with --once: a running monitor reports on /metrics (--metrics-port)');
    if (once && values['metrics-port'] !== undefined) throw new ConfigError('--metrics-port serves a running monitor; --once prints one run and exits');
    const metricsPort = values['metrics-port'] === undefined ? undefined : portFlag(values['metrics-port'], 'metrics-port');
    const config = configOf(values);
    const registry = await loadFeatureRepo(config.repo);
    const health = new Health({ log });
    if (once) {
      const sources = await openMonitorSources(config, registry, { log, health, baseline });
      try {
        refuseMemoryServedLog(sources.servedLog);
        process.stdout.write(await monitorOnce(sources.engine, schedule, Date.now(), values.json === true));
      } finally {
        await sources.close();
      }
      return 0;
    }
    return runUntilStopped({ log, doing: 'stopping after the run in progress', health }, async (opened) => {
      const metrics = new MonitorMetrics(registry);
      // Closed last: the last run's metrics are flushed to OTLP, when it is configured.
      const telemetry = await startTelemetry({ serviceName: 'featuregraph-monitor', producers: [metrics] });
      opened.add(() => telemetry.shutdown());
      log(`telemetry: ${telemetry.description}`);
      if (metricsPort !== undefined) await serveMetricsPort(opened, telemetry, { port: metricsPort, host: config.host, setting: '--metrics-port' }, log);
      const sources = await openMonitorSources(config, registry, { log, health, baseline });
      opened.add(() => sources.close());
      refuseMemoryServedLog(sources.servedLog);
      health.watch(healthEveryMs);
      startMonitorLoop(opened, sources, metrics, schedule, { timers: keptTimers, where: 'running' });
    });
  },
};
