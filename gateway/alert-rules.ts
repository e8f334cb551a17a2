// Prometheus alerting rules generated from a feature repo, which `featuregraph alerts` writes: each view
// past its freshness SLA, or with no watermark at all, with its entity and owner as labels; each
// monitored feature over a threshold of its monitor (drift, missing, stale, null, out of range, skew)
// in a segment, by the monitor's gauges; and the pipeline around the views: the gateway or the
// materializers down, dead letters growing, online-store errors. Alerting stays Prometheus's (Alertmanager routes by the labels): these are only its rules,
// kept in step with the repo by regenerating them.
//
// Prometheus expands label and annotation values as Go templates, so text from the repo (owners,
// descriptions) goes through `literal` and can never start a template action; PromQL strings are
// written with JSON's escapes, which PromQL reads the same.
import { stringify } from 'yaml';
import type { FeatureRegistry, ResolvedEntity, ResolvedView } from '../schema/registry.js';
import type { ResolvedMonitor } from '../schema/monitors.js';
import { allSegments } from '../schema/health.js';
import { formatDuration } from '../schema/duration.js';
import { metricNames } from '../schema/telemetry.js';

/** The `store` label of online-store calls (a history store's calls carry the history store's name). */
const onlineStoreLabel = 'online';

export interface AlertRuleOptions {
  /** How long a view stays past its SLA before its alert fires (0: at the first evaluation that finds it so). */
  staleForMs: number;
  /** How long a view goes without a watermark (while the gateway is up) before its alert fires. */
  missingForMs: number;
  /** How long a job's target fails its scrapes, or is not scraped at all, before its alert fires. */
  downForMs: number;
  /** The range of increase() and rate(): dead letters and store errors within it. */
  windowMs: number;
  /** Prometheus job of the gateways (they export view freshness from the online store's watermarks). */
  gatewayJob: string;
  /** Prometheus job of the `featuregraph materialize` processes. */
  materializerJob: string;
  /** Prometheus job of the monitor's gauges (`featuregraph monitor`, or the gateways under `serve --monitor`). */
  monitorJob: string;
  /** How long the monitor goes without a successful run before its alert fires. */
  monitorStalledMs: number;
  /** Severity label of the alerts about one view (stale, no watermark, dead letters). */
  severity: string;
  /** Severity label of the alerts about the whole pipeline (a job down, online-store errors). */
  pageSeverity: string;
}

export const defaultAlertRuleOptions: AlertRuleOptions = {
  staleForMs: 0,
  missingForMs: 5 * 60_000,
  downForMs: 60_000,
  windowMs: 10 * 60_000,
  gatewayJob: 'featuregraph-gateway',
  materializerJob: 'featuregraph-materialize',
  monitorJob: 'featuregraph-monitor',
  monitorStalledMs: 10 * 60_000,
  severity: 'warning',
  pageSeverity: 'critical',
};

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface AlertRuleGroup {
  name: string;
  rules: AlertRule[];
}

/** Alert names, as Alertmanager routes and silences them. */
export const alertNames = {
  viewStale: 'FeatureViewStale',
  viewNoWatermark: 'FeatureViewNoWatermark',
  deadLetters: 'FeatureViewDeadLetters',
  jobDown: 'FeaturegraphJobDown',
  jobAbsent: 'FeaturegraphJobAbsent',
  onlineStoreErrors: 'FeaturegraphOnlineStoreErrors',
  featureDrift: 'FeatureDrift',
  featureMissing: 'FeatureMissingRate',
  featureStale: 'FeatureStaleRate',
  featureNull: 'FeatureNullRate',
  featureOutOfRange: 'FeatureOutOfRange',
  featureSkew: 'FeatureSkew',
  monitorStalled: 'FeaturegraphMonitorStalled',
} as const;

export const ruleGroupNames = { views: 'featuregraph-views', monitor: 'featuregraph-monitor', pipeline: 'featuregraph-pipeline' } as const;

/** Text a Go template prints as it is: only `{{` could start an action. */
export function literal(text: string): string {
  return text.replaceAll('{{', '{{ "{{" }}');
}

/** A PromQL string literal. */
function promString(text: string): string {
  return JSON.stringify(text);
}

/** A duration as Prometheus writes it ("0s", "1m30s"). */
export function promDuration(ms: number): string {
  return ms === 0 ? '0s' : formatDuration(ms);
}

/** SLA seconds as PromQL reads them: an integer, or a decimal for an SLA with milliseconds. */
function seconds(ms: number): string {
  return String(ms / 1000);
}

function viewLabels(view: ResolvedView, severity: string): Record<string, string> {
  return { severity: literal(severity), view: literal(view.name), entity: literal(view.entity.name), owner: literal(view.owner) };
}

function viewRules(view: ResolvedView, options: AlertRuleOptions): AlertRule[] {
  // The gateways' series only: they read the freshness from the online store's watermarks.
  const selector = `${metricNames.viewFreshness}{job=${promString(options.gatewayJob)}, view=${promString(view.name)}}`;
  const sla = formatDuration(view.freshnessMs);
  const who = literal(`${view.name} (entity ${view.entity.name}, owner ${view.owner})`);
  const features = literal(view.features.map((f) => f.name).join(', '));
  const labels = viewLabels(view, options.severity);
  const rules: AlertRule[] = [
    {
      alert: alertNames.viewStale,
      // One alert per view however many gateways export it: they all read the same online store.
      expr: `max by (view, entity) (${selector}) > ${seconds(view.freshnessMs)}`,
      for: promDuration(options.staleForMs),
      labels,
      annotations: {
        summary: literal(`Feature view ${view.name} is past its freshness SLA of ${sla}`),
        description: `${who}: its source was last fully applied {{ $value | humanizeDuration }} ago, past its freshness SLA of ${literal(sla)}. Its features are served STALE: ${features}.`,
      },
    },
    {
      alert: alertNames.viewNoWatermark,
      // Only while a gateway is up to export it: a gateway that is down is FeaturegraphJobDown's.
      expr: `absent(${selector}) and on() (max(up{job=${promString(options.gatewayJob)}}) == 1)`,
      for: promDuration(options.missingForMs),
      labels,
      annotations: {
        summary: literal(`Feature view ${view.name} has no watermark`),
        description: `${who}: no materializer has published a watermark for it, so its freshness cannot be measured (its values are never reported STALE). Is its materializer running? Features: ${features}.`,
      },
    },
  ];
  if (view.source.kind === 'stream') {
    rules.push({
      alert: alertNames.deadLetters,
      expr: `sum by (view, topic) (increase(${metricNames.materializerDeadLetters}{view=${promString(view.name)}}[${promDuration(options.windowMs)}])) > 0`,
      for: '0s',
      labels,
      annotations: {
        summary: literal(`Feature view ${view.name} refuses events (dead letters)`),
        description: `${who}: {{ $value | humanize }} events of topic ${literal(view.source.topic)} went to the dead-letter topic in the last ${literal(promDuration(options.windowMs))} (undecodable, invalid or too late). They are not in its features.`,
      },
    });
  }
  return rules;
}

function jobRules(job: string, what: string, options: AlertRuleOptions): AlertRule[] {
  const labels = { severity: literal(options.pageSeverity), job: literal(job) };
  return [
    {
      alert: alertNames.jobDown,
      expr: `up{job=${promString(job)}} == 0`,
      for: promDuration(options.downForMs),
      labels,
      annotations: {
        summary: literal(`A featuregraph ${what} is down`),
        description: `Prometheus cannot scrape {{ $labels.instance }} of job ${literal(job)} (the ${literal(what)}).`,
      },
    },
    {
      alert: alertNames.jobAbsent,
      expr: `absent(up{job=${promString(job)}})`,
      for: promDuration(options.downForMs),
      labels,
      annotations: {
        summary: literal(`No featuregraph ${what} is scraped`),
        description: `Prometheus has no target of job ${literal(job)} (the ${literal(what)}): none is running, or the job is named otherwise in its scrape config (featuregraph alerts names it by its flags).`,
      },
    },
  ];
}

function storeRules(options: AlertRuleOptions): AlertRule[] {
  const window = promDuration(options.windowMs);
  return [
    {
      alert: alertNames.onlineStoreErrors,
      expr: `sum by (job, instance) (rate(${metricNames.storeErrors}{store=${promString(onlineStoreLabel)}}[${window}])) > 0`,
      for: '0s',
      labels: { severity: literal(options.pageSeverity) },
      annotations: {
        summary: 'The online store fails calls',
        description: `{{ $labels.instance }} of job {{ $labels.job }} got {{ $value | humanize }} online-store errors per second over the last ${literal(window)}: the features it serves may be MISSING or errors.`,
      },
    },
  ];
}

/** A feature as its monitor's alerts see it: stored or request-time alike. */
interface MonitoredFeature {
  name: string;
  entity: ResolvedEntity;
  /** Null: a request-time feature. */
  view: string | null;
  owner: string;
  monitor: ResolvedMonitor;
}

function monitoredFeatures(registry: FeatureRegistry): MonitoredFeature[] {
  const features: MonitoredFeature[] = [];
  for (const f of registry.features()) features.push({ name: f.name, entity: f.view.entity, view: f.view.name, owner: f.view.owner, monitor: f.monitor });
  for (const f of registry.requestFeatures()) features.push({ name: f.name, entity: f.entity, view: null, owner: f.owner, monitor: f.monitor });
  return features.filter((f) => !f.monitor.off);
}

/** A share as the annotations say it: 10%, 0.5%. */
const percent = (share: number) => `${Number((share * 100).toPrecision(6))}%`;

/**
 * The rules of one monitored feature, one per threshold of its monitor, over the monitor's gauges (which
 * report a ratio only past monitor.minValues values, so no count filter is needed here). An entity with
 * segments is watched per segment only: a breakage in one city fires for that city, not also for the
 * whole population it drags down; an entity without segments is watched as a whole.
 */
function featureRules(feature: MonitoredFeature, options: AlertRuleOptions): AlertRule[] {
  const { name, entity, monitor } = feature;
  const segment = entity.segments.length > 0 ? `segment!=${promString(allSegments)}` : `segment=${promString(allSegments)}`;
  const id = `${entity.name}.${name}`;
  const who = literal(`${id} (owner ${feature.owner}${feature.view === null ? ', request-time' : `, view ${feature.view}`})`);
  const labels: Record<string, string> = { severity: literal(options.severity), feature: literal(name), entity: literal(entity.name), owner: literal(feature.owner) };
  if (feature.view !== null) labels.view = literal(feature.view);
  const rule = (alert: string, metric: string, threshold: number, what: string, setting: string, value: string): AlertRule => ({
    alert,
    // One alert per segment and direction however many monitors report it.
    expr: `max by (feature, entity, segment, direction) (${metric}{job=${promString(options.monitorJob)}, entity=${promString(entity.name)}, feature=${promString(name)}, ${segment}}) > ${threshold}`,
    for: '0s',
    labels,
    annotations: {
      summary: `${literal(`Feature ${id}: ${what}`)} in segment {{ $labels.segment }} ({{ $labels.direction }})`,
      description: `${who}, segment {{ $labels.segment }}, {{ $labels.direction }} values over the monitor's window: ${value}, above its monitor.${setting} of ${literal(setting === 'drift' ? String(threshold) : percent(threshold))}.`,
    },
  });
  const rules = [
    rule(alertNames.featureDrift, metricNames.monitorPsi, monitor.drift, 'drift against the baseline', 'drift', 'population stability index {{ $value | printf "%.3f" }} against the baseline'),
    rule(alertNames.featureMissing, metricNames.monitorMissingRatio, monitor.missingRate, 'values missing', 'missingRate', '{{ $value | humanizePercentage }} MISSING or EXPIRED'),
    rule(alertNames.featureStale, metricNames.monitorStaleRatio, monitor.staleRate, 'values stale', 'staleRate', '{{ $value | humanizePercentage }} STALE'),
    rule(alertNames.featureNull, metricNames.monitorNullRatio, monitor.nullRate, 'values null', 'nullRate', '{{ $value | humanizePercentage }} of the present values null'),
  ];
  if (monitor.range !== null) {
    const [min, max] = monitor.range;
    rules.push(rule(alertNames.featureOutOfRange, metricNames.monitorOutOfRangeRatio, monitor.outOfRangeRate, `values outside [${min}, ${max}]`, 'outOfRangeRate', `{{ $value | humanizePercentage }} of the numbers outside ${literal(`[${min}, ${max}]`)}`));
  }
  rules.push(rule(alertNames.featureSkew, metricNames.monitorSkewRatio, monitor.skewRate, 'training/serving skew', 'skewRate', '{{ $value | humanizePercentage }} of the served values recomputed by a SERVED read disagreed (featureHealth lists examples)'));
  return rules;
}

/** The monitor itself: no successful run for a while, so every feature's gauges are old. */
function monitorStalledRule(options: AlertRuleOptions): AlertRule {
  const late = promDuration(options.monitorStalledMs);
  return {
    alert: alertNames.monitorStalled,
    expr: `time() - max(${metricNames.monitorLastRun}{job=${promString(options.monitorJob)}}) > ${seconds(options.monitorStalledMs)}`,
    for: '0s',
    labels: { severity: literal(options.severity), job: literal(options.monitorJob) },
    annotations: {
      summary: 'The feature monitor has not completed a run for a while',
      description: `The last successful run of job ${literal(options.monitorJob)} ended {{ $value | humanizeDuration }} ago (more than ${literal(late)}): its runs fail (see its log and featuregraph_monitor_failures_total), and every feature's health gauges are that old.`,
    },
  };
}

/** The rule groups of a repo's views, of its monitored features and of the pipeline around them. */
export function alertRuleGroups(registry: FeatureRegistry, options: AlertRuleOptions = defaultAlertRuleOptions): AlertRuleGroup[] {
  return [
    { name: ruleGroupNames.views, rules: [...registry.views.values()].flatMap((view) => viewRules(view, options)) },
    { name: ruleGroupNames.monitor, rules: [...monitoredFeatures(registry).flatMap((feature) => featureRules(feature, options)), monitorStalledRule(options)] },
    {
      name: ruleGroupNames.pipeline,
      rules: [...jobRules(options.gatewayJob, 'gateway', options), ...jobRules(options.materializerJob, 'materializer', options), ...storeRules(options)],
    },
  ];
}

/**
 * A Prometheus rule file. YAML 1.1 quoting, as Prometheus's parser reads it: an owner such as "yes"
 * or "0123" stays a string. Lines are never folded, so each expression reads on one line.
 */
export function alertRulesYaml(registry: FeatureRegistry, options: AlertRuleOptions = defaultAlertRuleOptions, generatedFrom?: string): string {
  const head = `# Prometheus alerting rules generated by \`featuregraph alerts\`${generatedFrom === undefined ? '' : ` from ${generatedFrom.replaceAll('\n', ' ')}`}.\n# Regenerate them when the feature repo changes; edits here are lost then.\n`;
  return head + stringify({ groups: alertRuleGroups(registry, options) }, { lineWidth: 0, version: '1.1', aliasDuplicateObjects: false });
}
