// `featuregraph health`: the monitor's health rows of a time range, computed on demand from the served
// log and the history store, printed as a table or JSON lines.
import { existsSync } from 'node:fs';
import { FeaturegraphError } from '../../schema/errors.js';
import { parseDuration } from '../../schema/duration.js';
import { healthDirections, type HealthDirection } from '../../schema/health.js';
import { parseInstant } from '../../schema/instant.js';
import { loadFeatureRepo } from '../../schema/load.js';
import type { HistoryStore } from '../../adapters/history/types.js';
import type { ServedLogStore } from '../../adapters/served-log/types.js';
import type { Baseline } from '../../materializers/monitor/baseline.js';
import { fileBaseline } from '../../materializers/monitor/baseline-file.js';
import { periodBaseline } from '../../materializers/monitor/baseline-period.js';
import { monitoredFeatures } from '../../materializers/monitor/features.js';
import { checkSegment, createHealthEngine, intervalsOf } from '../../materializers/monitor/health.js';
import { createSkewChecker } from '../../materializers/monitor/skew.js';
import { defaultMonitor } from '../../schema/monitors.js';
import type { GatewayConfig, HistoryConfig } from '../config.js';
import { openHistoryStore } from '../history.js';
import { describeSink, openServedLogStore, servedLogSink } from '../served-log/index.js';
import { healthJsonLines, healthTable } from '../health-table.js';
import { configOf, historyOf, listFlag, log, repoAndConfigOptions, type Command, type FlagValues } from './command.js';

const HOUR = 3_600_000;

const bad = (message: string) => new FeaturegraphError('BAD_USER_INPUT', message);

function instantFlag(values: FlagValues, flag: string): number | undefined {
  const raw = values[flag];
  return raw === undefined ? undefined : parseInstant(raw, `--${flag}`);
}

function durationFlag(values: FlagValues, flag: string): number | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  const ms = typeof raw === 'string' ? parseDuration(raw) : null;
  if (ms === null) throw bad(`--${flag} must be a duration such as 15m, 1h or 1d, got ${JSON.stringify(raw)}`);
  return ms;
}

function directionFlag(values: FlagValues): HealthDirection | undefined {
  const raw = values.direction;
  if (raw === undefined) return undefined;
  if (!healthDirections.includes(raw as HealthDirection)) throw bad(`--direction must be ${healthDirections.join(' or ')}, got ${JSON.stringify(raw)}`);
  return raw as HealthDirection;
}

/** What a baseline flag asks for: a training-set file, or a past period. */
export type BaselineAsked = { file: string } | { from: number; to: number };

/** --baseline FILE, or --baseline-from and --baseline-to together, or neither. */
export function baselineFlags(values: FlagValues): BaselineAsked | null {
  const file = values.baseline;
  const from = instantFlag(values, 'baseline-from');
  const to = instantFlag(values, 'baseline-to');
  if (file !== undefined && (from !== undefined || to !== undefined)) throw bad('--baseline FILE and --baseline-from/--baseline-to are two kinds of baseline: give one');
  if (typeof file === 'string') {
    if (file === '') throw bad('--baseline must name a training-set file (.parquet, .csv or .ndjson)');
    return { file };
  }
  if (from === undefined && to === undefined) return null;
  if (from === undefined || to === undefined) throw bad(`--baseline-from and --baseline-to go together: the past period to compare with, got only --baseline-${from === undefined ? 'to' : 'from'}`);
  if (!(from < to)) throw bad(`--baseline-from (${values['baseline-from']}) must be before --baseline-to (${values['baseline-to']})`);
  return { from, to };
}

/** The history store to read, or null (with the reason logged) when the config's cannot be read from here. */
async function historyFor(historyConfig: HistoryConfig, views: Parameters<typeof openHistoryStore>[1]): Promise<HistoryStore | null> {
  if (historyConfig.type === 'memory') {
    log('incoming: not computed: the history store is memory, private to the process that writes it (give --history FILE, or history embedded or snowflake in the config)');
    return null;
  }
  // Reading must not leave an empty database where a mistyped path pointed.
  if (historyConfig.type === 'embedded' && !existsSync(historyConfig.path)) throw new FeaturegraphError('INVALID_CONFIG', `history file ${historyConfig.path} does not exist (--history FILE, or history.path in the config)`);
  return openHistoryStore(historyConfig, views);
}

/**
 * The served log to read: the sink gateways with this config write to. A memory sink lives in a
 * gateway's own memory, out of this process's reach: that gateway answers featureHealth instead.
 */
async function servedLogFor(config: GatewayConfig, history: HistoryStore | null): Promise<ServedLogStore | null> {
  const found = servedLogSink(config);
  if ('off' in found) {
    log(`served: not computed: the served log is off (${found.off})`);
    return null;
  }
  if (found.sink.type === 'memory') {
    log("served: not computed: the served log is kept in the gateway's memory (servedLog.sink memory); ask that gateway's featureHealth, or log to an embedded file or a kafka topic");
    return null;
  }
  log(`served: from the served log in ${describeSink(found.sink)}`);
  return openServedLogStore(config, found.sink, { history, log });
}

export const health: Command = {
  summary: "the monitor's health of features per segment: missing, stale, null rates, distribution, drift, skew",
  help: `featuregraph health [--from TIME] [--to TIME] [--interval DURATION] [--feature f1,f2] [--entity NAME]
                   [--segment city=Berlin] [--direction served|incoming]
                   [--baseline FILE | --baseline-from TIME --baseline-to TIME] [--json]
                   [--repo DIR] [--config FILE] [--history FILE]

Computes, per feature, per population segment (each value of the entity's segment features, e.g.
city=Berlin, and * for everyone) and per interval, what the monitor watches:
  served     what gateways answered, from the served log: values, missing% (MISSING or EXPIRED),
             stale%, null% (of values served), range% (numbers outside the monitor's range), mean,
             p50, p99, and skew (values a SERVED recomputation disagrees with, when checked)
  incoming   what materializers wrote, from the history store: each change read back as of its
             event time, so a window's value is the count or sum then, not the raw event
and psi, the population stability index against a baseline (above a feature's monitor.drift,
default ${defaultMonitor.drift}, it has drifted). Rows over fewer than a feature's monitor.minValues values (default
${defaultMonitor.minValues}) are shown but say little.

  --from, --to TIME    the range [from, to): ISO-8601 (2026-06-01T12:00:00Z; no offset means UTC) or
                       epoch ms; default the hour before now
  --interval DURATION  cut the range in steps (15m, 1h, 1d); default one interval, the whole range
  --feature f1,f2      only these features (name, or Entity.feature); default every monitored one
  --entity NAME        only this entity's features
  --segment SEGMENT    only this segment: feature=value (city=Berlin), or * for whole populations
  --direction DIR      only served or only incoming rows
  --baseline FILE      compare with a training-set export (.parquet, .csv or .ndjson with the key
                       column and feature columns; with the segment features' columns, each segment
                       with ${defaultMonitor.minValues}+ values gets its own baseline, others the population's)
  --baseline-from, --baseline-to TIME
                       compare with a past period of the same data instead
  --json               one JSON object per row and line (instants in ISO-8601) instead of a table
  --history FILE       an embedded history file (DuckDB), instead of history in the config; it may be
                       in use by a running serve or materialize

Examples:
  featuregraph health --history history.duckdb --from 2026-06-01T00:00:00Z --to 2026-06-02T00:00:00Z \\
    --interval 1h --feature ordersLast30m --baseline train.parquet
  featuregraph health --history history.duckdb --segment city=Berlin --json | jq .missingRate`,
  options: {
    ...repoAndConfigOptions,
    history: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    interval: { type: 'string' },
    feature: { type: 'string' },
    entity: { type: 'string' },
    segment: { type: 'string' },
    direction: { type: 'string' },
    baseline: { type: 'string' },
    'baseline-from': { type: 'string' },
    'baseline-to': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const to = instantFlag(values, 'to') ?? Date.now();
    const from = instantFlag(values, 'from') ?? to - HOUR;
    if (!(from < to)) throw bad(`--from (${new Date(from).toISOString()}) must be before --to (${new Date(to).toISOString()})`);
    const intervalMs = durationFlag(values, 'interval');
    const direction = directionFlag(values);
    const baselineAsked = baselineFlags(values);
    const segment = values.segment as string | undefined;
    const entity = values.entity as string | undefined;
    const query = { from, to, ...(intervalMs === undefined ? {} : { intervalMs }), ...(direction ? { direction } : {}), ...(segment === undefined ? {} : { segment }), ...(entity === undefined ? {} : { entity }) };
    try {
      intervalsOf(query);
    } catch (error) {
      throw bad(`--interval: ${error instanceof Error ? error.message : String(error)}`);
    }
    const config = configOf(values);
    const registry = await loadFeatureRepo(config.repo);
    const features = typeof values.feature === 'string' ? listFlag(values.feature) : undefined;
    const monitored = monitoredFeatures(registry, { ...(features ? { features } : {}), ...(entity === undefined ? {} : { entity }) }, { features: '--feature', entity: '--entity' });
    checkSegment(segment, monitored, '--segment');
    const historyConfig = historyOf(values, config);
    const history = direction === 'served' ? null : await historyFor(historyConfig, { views: [...registry.views.values()], log });
    // The served log's default sink follows the history read (an embedded file holds both).
    const servedLog = direction === 'incoming' ? null : await servedLogFor({ ...config, history: historyConfig }, history).catch(async (error: unknown) => {
      await history?.close();
      throw error;
    });
    try {
      if (servedLog === null && history === null) throw new FeaturegraphError('INVALID_CONFIG', `nothing to compute${direction ? ` for --direction ${direction}` : ''}: no served log and no history store could be read (see above)`);
      let baseline: Baseline | null = null;
      if (baselineAsked !== null && 'file' in baselineAsked) baseline = await fileBaseline(registry, baselineAsked.file, { ...(entity === undefined ? {} : { entity }), where: '--baseline' });
      else if (baselineAsked !== null) baseline = await periodBaseline({ servedLog, history }, monitored, baselineAsked, direction ? [direction] : healthDirections);
      log(`health of ${monitored.length} features from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}; baseline: ${baseline?.description ?? 'none (psi -)'}`);
      const engine = createHealthEngine({ registry, servedLog, history, baseline, skew: history && servedLog ? createSkewChecker({ registry, history }) : null });
      const rows = await engine.health({ ...query, ...(features ? { features } : {}) });
      process.stdout.write(rows.length === 0 ? '' : `${values.json ? healthJsonLines(rows) : healthTable(rows)}\n`);
      return 0;
    } finally {
      await servedLog?.close();
      await history?.close();
    }
  },
};
