// The alerting rules `featuregraph alerts` generates: per view its SLA, entity and owner; repo text that
// can never become a Go template action; YAML that reads back as the same rules; flags refused with the
// contract and the bad value. promtool and a real Prometheus judge the files in
// test/integration/alerts.prometheus.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { alertNames, alertRuleGroups, alertRulesYaml, defaultAlertRuleOptions, literal, ruleGroupNames, type AlertRule } from '../../../gateway/alert-rules.js';
import { alertRuleOptionsOf } from '../../../gateway/commands/alerts.js';
import { FeaturegraphError } from '../../../schema/errors.js';
import { alertRepo, monitorRepo, trickyOwners } from '../../fixtures/alert-repo.js';

const rulesOf = (groups: ReturnType<typeof alertRuleGroups>, group: string) => (groups.find((g) => g.name === group) as { rules: AlertRule[] }).rules;

test('a stream view gets a stale rule on its SLA, a no-watermark rule and a dead-letter rule, labelled with view, entity, owner', () => {
  const views = rulesOf(alertRuleGroups(alertRepo()), ruleGroupNames.views);
  const busy = views.filter((r) => r.labels.view === 'shop_busy');
  const labels = { severity: 'warning', view: 'shop_busy', entity: 'Shop', owner: literal(trickyOwners.stream) };
  assert.deepEqual(
    busy.map(({ alert, expr, for: wait, labels: l }) => ({ alert, expr, for: wait, labels: l })),
    [
      { alert: alertNames.viewStale, expr: 'max by (view, entity) (featuregraph_view_freshness_seconds{job="featuregraph-gateway", view="shop_busy"}) > 60', for: '0s', labels },
      { alert: alertNames.viewNoWatermark, expr: 'absent(featuregraph_view_freshness_seconds{job="featuregraph-gateway", view="shop_busy"}) and on() (max(up{job="featuregraph-gateway"}) == 1)', for: '5m', labels },
      { alert: alertNames.deadLetters, expr: 'sum by (view, topic) (increase(featuregraph_materializer_dead_letters_total{view="shop_busy"}[10m])) > 0', for: '0s', labels },
    ],
  );
  assert.equal(busy[0]?.annotations.summary, 'Feature view shop_busy is past its freshness SLA of 1m');
  assert.match(busy[0]?.annotations.description ?? '', /past its freshness SLA of 1m\. Its features are served STALE: ordersLast5m\.$/);
  // Views of tables and collections have no dead letters; an SLA with milliseconds stays exact.
  assert.deepEqual(views.filter((r) => r.labels.view === 'shop_profile').map((r) => r.alert), [alertNames.viewStale, alertNames.viewNoWatermark]);
  assert.equal(views.find((r) => r.labels.view === 'shop_profile')?.expr, 'max by (view, entity) (featuregraph_view_freshness_seconds{job="featuregraph-gateway", view="shop_profile"}) > 90');
  assert.equal(views.find((r) => r.labels.view === 'shop_hours')?.expr, 'max by (view, entity) (featuregraph_view_freshness_seconds{job="featuregraph-gateway", view="shop_hours"}) > 0.5');
});

test('the pipeline group: each job down or absent, and online-store errors, with the jobs and waits the options name', () => {
  const options = { ...defaultAlertRuleOptions, gatewayJob: 'gw "prod"', materializerJob: 'mat', downForMs: 90_000, windowMs: 300_000, pageSeverity: 'page' };
  const pipeline = rulesOf(alertRuleGroups(alertRepo(), options), ruleGroupNames.pipeline);
  assert.deepEqual(
    pipeline.map(({ alert, expr, for: wait, labels }) => ({ alert, expr, for: wait, labels })),
    [
      { alert: alertNames.jobDown, expr: 'up{job="gw \\"prod\\""} == 0', for: '1m30s', labels: { severity: 'page', job: 'gw "prod"' } },
      { alert: alertNames.jobAbsent, expr: 'absent(up{job="gw \\"prod\\""})', for: '1m30s', labels: { severity: 'page', job: 'gw "prod"' } },
      { alert: alertNames.jobDown, expr: 'up{job="mat"} == 0', for: '1m30s', labels: { severity: 'page', job: 'mat' } },
      { alert: alertNames.jobAbsent, expr: 'absent(up{job="mat"})', for: '1m30s', labels: { severity: 'page', job: 'mat' } },
      { alert: alertNames.onlineStoreErrors, expr: 'sum by (job, instance) (rate(featuregraph_store_errors_total{store="online"}[5m])) > 0', for: '0s', labels: { severity: 'page' } },
    ],
  );
  const views = rulesOf(alertRuleGroups(alertRepo(), options), ruleGroupNames.views);
  assert.match(views.find((r) => r.alert === alertNames.viewNoWatermark)?.expr ?? '', /max\(up\{job="gw \\"prod\\""\}\) == 1/);
});

test('repo text never starts a template action: `{{` is printed by a template of its own', () => {
  assert.equal(literal('a {{ $value }} b'), 'a {{ "{{" }} $value }} b');
  assert.equal(literal('{{{'), '{{ "{{" }}{');
  assert.equal(literal('no braces }}'), 'no braces }}');
  const stale = rulesOf(alertRuleGroups(alertRepo()), ruleGroupNames.views).find((r) => r.labels.view === 'shop_busy') as AlertRule;
  // The only template action left in the description is the generator's own.
  assert.deepEqual(stale.annotations.description?.match(/\{\{[^}]*\}\}/g), ['{{ "{{" }}', '{{ $value | humanizeDuration }}']);
});

test('the YAML reads back (YAML 1.1, as Prometheus reads it) as the same groups: "yes" and line breaks stay strings', () => {
  const text = alertRulesYaml(alertRepo(), defaultAlertRuleOptions, 'features/');
  assert.match(text, /^# Prometheus alerting rules generated by `featuregraph alerts` from features\/\.\n/);
  assert.deepEqual(parse(text, { version: '1.1' }), { groups: alertRuleGroups(alertRepo()) });
  const owners = (parse(text, { version: '1.1' }) as { groups: { rules: AlertRule[] }[] }).groups[0]?.rules.map((r) => r.labels.owner);
  assert.ok(owners?.includes('yes') && owners.includes(literal(trickyOwners.other)), JSON.stringify(owners));
  // Every expression on one line, whatever its length.
  for (const line of text.split('\n').filter((l) => l.trimStart().startsWith('expr:'))) assert.doesNotMatch(line, /expr: [>|]/);
});

test('flags: defaults, "0" for the waits, and bad values refused with the contract and the value', () => {
  assert.deepEqual(alertRuleOptionsOf({}), defaultAlertRuleOptions);
  assert.deepEqual(alertRuleOptionsOf({ 'stale-for': '0', 'missing-for': '1h30m', 'down-for': '0s', window: '30s', 'gateway-job': 'gw', 'materializer-job': 'mat', 'monitor-job': 'mon', 'monitor-stalled': '30m', severity: 'ticket', 'page-severity': 'page' }), {
    staleForMs: 0,
    missingForMs: 5_400_000,
    downForMs: 0,
    windowMs: 30_000,
    gatewayJob: 'gw',
    materializerJob: 'mat',
    monitorJob: 'mon',
    monitorStalledMs: 1_800_000,
    severity: 'ticket',
    pageSeverity: 'page',
  });
  const refused = (values: Record<string, string>, message: string) =>
    assert.throws(() => alertRuleOptionsOf(values), (error: unknown) => error instanceof FeaturegraphError && error.code === 'INVALID_CONFIG' && error.message === message);
  refused({ 'stale-for': 'soon' }, '--stale-for must be a duration such as 30s, 5m or 1h30m (or 0), got "soon"');
  refused({ window: '0' }, '--window must be a duration such as 30s, 5m or 1h30m, got "0"');
  refused({ 'down-for': '-1m' }, '--down-for must be a duration such as 30s, 5m or 1h30m (or 0), got "-1m"');
  refused({ 'gateway-job': ' ' }, '--gateway-job must be a non-empty name on one line, got " "');
  refused({ severity: 'a\nb' }, '--severity must be a non-empty name on one line, got "a\\nb"');
  refused({ 'monitor-job': '' }, '--monitor-job must be a non-empty name on one line, got ""');
  refused({ 'monitor-stalled': '0' }, '--monitor-stalled must be a duration such as 30s, 5m or 1h30m, got "0"');
});

test('each monitored feature gets a rule per threshold of its monitor, per segment where its entity has segments, labelled feature, entity, owner, view', () => {
  const rules = rulesOf(alertRuleGroups(monitorRepo(), { ...defaultAlertRuleOptions, monitorJob: 'mon' }), ruleGroupNames.monitor);
  const of = (feature: string) => rules.filter((r) => r.labels.feature === feature);
  const sel = (metric: string, entity: string, feature: string, segment: string) => `max by (feature, entity, segment, direction) (featuregraph_monitor_${metric}{job="mon", entity="${entity}", feature="${feature}", ${segment}})`;
  const busy = { severity: 'warning', feature: 'ordersLast5m', entity: 'Shop', owner: 'eta-team', view: 'shop_busy' };
  assert.deepEqual(
    of('ordersLast5m').map(({ alert, expr, for: wait, labels }) => ({ alert, expr, for: wait, labels })),
    [
      { alert: alertNames.featureDrift, expr: `${sel('psi', 'Shop', 'ordersLast5m', 'segment!="*"')} > 0.2`, for: '0s', labels: busy },
      // Its own missingRate (0.2) over the default (0.1); a range declared, so an out-of-range rule.
      { alert: alertNames.featureMissing, expr: `${sel('missing_ratio', 'Shop', 'ordersLast5m', 'segment!="*"')} > 0.2`, for: '0s', labels: busy },
      { alert: alertNames.featureStale, expr: `${sel('stale_ratio', 'Shop', 'ordersLast5m', 'segment!="*"')} > 0.1`, for: '0s', labels: busy },
      { alert: alertNames.featureNull, expr: `${sel('null_ratio', 'Shop', 'ordersLast5m', 'segment!="*"')} > 0.1`, for: '0s', labels: busy },
      { alert: alertNames.featureOutOfRange, expr: `${sel('out_of_range_ratio', 'Shop', 'ordersLast5m', 'segment!="*"')} > 0.01`, for: '0s', labels: busy },
      { alert: alertNames.featureSkew, expr: `${sel('skew_ratio', 'Shop', 'ordersLast5m', 'segment!="*"')} > 0`, for: '0s', labels: busy },
    ],
  );
  const missing = of('ordersLast5m')[1] as AlertRule;
  assert.equal(missing.annotations.summary, 'Feature Shop.ordersLast5m: values missing in segment {{ $labels.segment }} ({{ $labels.direction }})');
  assert.equal(
    missing.annotations.description,
    "Shop.ordersLast5m (owner eta-team, view shop_busy), segment {{ $labels.segment }}, {{ $labels.direction }} values over the monitor's window: {{ $value | humanizePercentage }} MISSING or EXPIRED, above its monitor.missingRate of 20%.",
  );
  // Without segments, the whole population; no range, no out-of-range rule; the owner escaped.
  assert.deepEqual(of('online').map((r) => r.alert), [alertNames.featureDrift, alertNames.featureMissing, alertNames.featureStale, alertNames.featureNull, alertNames.featureSkew]);
  assert.equal(of('online')[1]?.expr, `${sel('missing_ratio', 'Courier', 'online', 'segment="*"')} > 0.1`);
  assert.equal(of('online')[0]?.labels.owner, literal(trickyOwners.other));
  // A request-time feature: no view label, its own skew threshold.
  assert.deepEqual(of('busyScore').find((r) => r.alert === alertNames.featureSkew)?.labels, { severity: 'warning', feature: 'busyScore', entity: 'Shop', owner: 'eta-team' });
  assert.equal(of('busyScore').find((r) => r.alert === alertNames.featureSkew)?.expr, `${sel('skew_ratio', 'Shop', 'busyScore', 'segment!="*"')} > 0.05`);
  // monitor.off: no rule at all.
  assert.deepEqual(of('rating'), []);
  assert.deepEqual([...new Set(rules.map((r) => r.labels.feature))], ['ordersLast5m', 'city', 'online', 'busyScore', undefined]);
});

test('the monitor that stops completing runs has a rule of its own, on its job and wait', () => {
  const rules = rulesOf(alertRuleGroups(monitorRepo(), { ...defaultAlertRuleOptions, monitorJob: 'mon "x"', monitorStalledMs: 900_000 }), ruleGroupNames.monitor);
  const stalled = rules.at(-1) as AlertRule;
  assert.deepEqual({ alert: stalled.alert, expr: stalled.expr, for: stalled.for, labels: stalled.labels }, {
    alert: alertNames.monitorStalled,
    expr: 'time() - max(featuregraph_monitor_last_run_timestamp_seconds{job="mon \\"x\\""}) > 900',
    for: '0s',
    labels: { severity: 'warning', job: 'mon "x"' },
  });
  assert.match(stalled.annotations.description ?? '', /ended \{\{ \$value \| humanizeDuration \}\} ago \(more than 15m\)/);
});
