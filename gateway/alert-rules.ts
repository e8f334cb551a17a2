// Prometheus alerting rules generated from a feature repo, which `featuregraph alerts` writes: each view
// past its freshness SLA, or with no watermark at all, with its entity and owner as labels; and the
// pipeline around the views: the gateway or the materializers down, dead letters growing, online-store
// errors. Alerting stays Prometheus's (Alertmanager routes by the labels): these are only its rules,
// kept in step with the repo by regenerating them.
//
// Prometheus expands label and annotation values as Go templates, so text from the repo (owners,
// descriptions) goes through `literal` and can never start a template action; PromQL strings are
// written with JSON's escapes, which PromQL reads the same.
import { stringify } from 'yaml';
import type { FeatureRegistry, ResolvedView } from '../schema/registry.js';
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
} as const;

export const ruleGroupNames = { views: 'featuregraph-views', pipeline: 'featuregraph-pipeline' } as const;

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

/** The rule groups of a repo's views and of the pipeline around them. */
export function alertRuleGroups(registry: FeatureRegistry, options: AlertRuleOptions = defaultAlertRuleOptions): AlertRuleGroup[] {
  return [
    { name: ruleGroupNames.views, rules: [...registry.views.values()].flatMap((view) => viewRules(view, options)) },
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
