// `featuregraph alerts`: the Prometheus alerting rules of a repo's views and of the pipeline around them
// (gateway/alert-rules.ts), to stdout or to a file that Prometheus's rule_files names.
import { renameSync, writeFileSync } from 'node:fs';
import { FeaturegraphError } from '../../schema/errors.js';
import { loadFeatureRepo } from '../../schema/load.js';
import { alertNames, alertRuleGroups, alertRulesYaml, defaultAlertRuleOptions, promDuration, type AlertRuleOptions } from '../alert-rules.js';
import { durationFlag, repoOf, repoOption, type Command, type FlagValues } from './command.js';

const d = defaultAlertRuleOptions;

/** A name flag (a job, a severity): any non-empty text without line breaks. */
function nameFlag(values: FlagValues, flag: string, fallback: string): string {
  const raw = values[flag];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || raw.trim() === '' || /[\r\n]/.test(raw)) throw new FeaturegraphError('INVALID_CONFIG', `--${flag} must be a non-empty name on one line, got ${JSON.stringify(raw)}`);
  return raw;
}

export function alertRuleOptionsOf(values: FlagValues): AlertRuleOptions {
  return {
    staleForMs: durationFlag(values, 'stale-for', d.staleForMs, true),
    missingForMs: durationFlag(values, 'missing-for', d.missingForMs, true),
    downForMs: durationFlag(values, 'down-for', d.downForMs, true),
    windowMs: durationFlag(values, 'window', d.windowMs, false),
    gatewayJob: nameFlag(values, 'gateway-job', d.gatewayJob),
    materializerJob: nameFlag(values, 'materializer-job', d.materializerJob),
    monitorJob: nameFlag(values, 'monitor-job', d.monitorJob),
    monitorStalledMs: durationFlag(values, 'monitor-stalled', d.monitorStalledMs, false),
    severity: nameFlag(values, 'severity', d.severity),
    pageSeverity: nameFlag(values, 'page-severity', d.pageSeverity),
  };
}

export const alerts: Command = {
  summary: 'write Prometheus alerting rules for the views and monitored features of a repo',
  help: `featuregraph alerts [--repo DIR] [--out FILE] [options]

Writes Prometheus alerting rules (YAML) generated from the feature repo, to stdout or to FILE.
Per feature view, labelled view, entity, owner and severity (Alertmanager routes on them):
  ${alertNames.viewStale.padEnd(30)} the view is past its freshness SLA: the gateway's
  ${''.padEnd(30)} featuregraph_view_freshness_seconds{view} > the SLA in seconds
  ${alertNames.viewNoWatermark.padEnd(30)} no materializer has published a watermark for the view
  ${''.padEnd(30)} (its values are never STALE then), while a gateway is up
  ${alertNames.deadLetters.padEnd(30)} stream views: events went to the dead-letter topic
Per monitored feature (not monitor.off), from the monitor's gauges (featuregraph help monitor),
labelled feature, entity, view, owner, severity, and segment and direction from the series; an
entity with segments (Restaurant by city) alerts per segment (segment!="*"), one without as a whole:
  ${alertNames.featureDrift.padEnd(30)} featuregraph_monitor_psi > the feature's monitor.drift
  ${alertNames.featureMissing.padEnd(30)} missing ratio > monitor.missingRate
  ${alertNames.featureStale.padEnd(30)} stale ratio > monitor.staleRate
  ${alertNames.featureNull.padEnd(30)} null ratio > monitor.nullRate
  ${alertNames.featureOutOfRange.padEnd(30)} features with a monitor.range: out-of-range ratio > monitor.outOfRangeRate
  ${alertNames.featureSkew.padEnd(30)} skew ratio > monitor.skewRate (default 0: any disagreement)
  ${alertNames.monitorStalled.padEnd(30)} the monitor has not completed a run for --monitor-stalled
For the pipeline:
  ${alertNames.jobDown.padEnd(30)} a gateway or materializer target fails its scrapes
  ${alertNames.jobAbsent.padEnd(30)} no target of the gateway or materializer job at all
  ${alertNames.onlineStoreErrors.padEnd(30)} online-store calls fail

Options:
  --out FILE               write the rules there (replaced whole) instead of stdout
  --stale-for DURATION     how long a view stays past its SLA before ${alertNames.viewStale} fires
                           (default ${promDuration(d.staleForMs)}: the first evaluation that sees it)
  --missing-for DURATION   ${alertNames.viewNoWatermark}'s wait (default ${promDuration(d.missingForMs)}: materializers publish at start)
  --down-for DURATION      ${alertNames.jobDown} and ${alertNames.jobAbsent}'s wait (default ${promDuration(d.downForMs)})
  --window DURATION        range of increase() and rate() (default ${promDuration(d.windowMs)})
  --gateway-job NAME       the job label of the gateways' /metrics in your scrape config
                           (default ${d.gatewayJob})
  --materializer-job NAME  the job label of \`featuregraph materialize\`'s /metrics
                           (default ${d.materializerJob})
  --monitor-job NAME       the job label of the monitor's /metrics: \`featuregraph monitor\`'s, or the
                           gateways' under \`serve --monitor\` (default ${d.monitorJob})
  --monitor-stalled DURATION  ${alertNames.monitorStalled}'s wait (default ${promDuration(d.monitorStalledMs)})
  --severity LEVEL         severity of the alerts about one view or feature (default ${d.severity})
  --page-severity LEVEL    severity of the pipeline alerts (default ${d.pageSeverity})
Durations: 30s, 5m, 1h30m; the "for" options also take 0.

Example:
  featuregraph alerts --repo features --out /etc/prometheus/rules/featuregraph.yml \\
    --gateway-job featuregraph --materializer-job featuregraph-materialize
  promtool check rules /etc/prometheus/rules/featuregraph.yml
  curl -X POST http://localhost:9090/-/reload   # or restart Prometheus; its rule_files must match the file
Regenerate the rules whenever the repo's views, SLAs or owners change.`,
  options: {
    ...repoOption,
    out: { type: 'string', short: 'o' },
    'stale-for': { type: 'string' },
    'missing-for': { type: 'string' },
    'down-for': { type: 'string' },
    window: { type: 'string' },
    'gateway-job': { type: 'string' },
    'materializer-job': { type: 'string' },
    'monitor-job': { type: 'string' },
    'monitor-stalled': { type: 'string' },
    severity: { type: 'string' },
    'page-severity': { type: 'string' },
  },
  async run(values) {
    const options = alertRuleOptionsOf(values);
    const repo = repoOf(values);
    const registry = await loadFeatureRepo(repo);
    const yaml = alertRulesYaml(registry, options, `the feature repo ${repo}`);
    const out = values.out;
    if (typeof out !== 'string') {
      process.stdout.write(yaml);
      return 0;
    }
    // Renamed into place: a Prometheus reloading meanwhile reads the old rules or the new, never half.
    const temporary = `${out}.${process.pid}.tmp`;
    writeFileSync(temporary, yaml);
    renameSync(temporary, out);
    const rules = alertRuleGroups(registry, options).reduce((n, group) => n + group.rules.length, 0);
    process.stderr.write(`featuregraph alerts: wrote ${rules} rules for ${registry.views.size} views and their monitored features to ${out}\n`);
    return 0;
  },
};
