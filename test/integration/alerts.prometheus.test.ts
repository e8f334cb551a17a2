// `featuregraph alerts` judged by Prometheus itself: promtool accepts the rules of the seed repo and of a
// repo with hard text (and rejects that text unescaped: the check can fail); the rules loaded into the
// harness's Prometheus fire on a target of this test's own that reports a view past its SLA, with the
// view's labels and the owner exactly as the repo spells it, and clear when the view is fresh again;
// and the monitor's rules fire on a monitor target (the real gauges, fed fixed health rows) for the
// one segment that breaks, not for its population or the other segments, and clear when it mends.
// Views, jobs, rule and target files carry a per-run name, and each test removes what it added.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { requireEndpoint } from '../services/endpoints.js';
import { waitFor } from '../services/harness.js';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { addTarget, getJson, promtool, reload } from '../fixtures/prometheus.js';
import { alertNames, alertRulesYaml, defaultAlertRuleOptions } from '../../gateway/alert-rules.js';
import { metricNames } from '../../schema/telemetry.js';
import { MonitorMetrics } from '../../materializers/monitor/metrics.js';
import { PrometheusEndpoint, listenMetrics } from '../../gateway/telemetry/metrics-endpoint.js';
import { alertRepo, monitorRepo, trickyOwners } from '../fixtures/alert-repo.js';
import { healthRow } from '../fixtures/health-engine.js';

const run = randomUUID().replaceAll('-', '').slice(0, 12);

/** promtool check rules on a file. */
const checkRules = (file: string) => promtool(requireEndpoint('prometheus').promtool, ['check', 'rules', file]);

interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
}

test('promtool accepts the rules `featuregraph alerts --out` writes for the seed repo', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'featuregraph-alerts-'));
  try {
    const file = join(dir, 'featuregraph.yml');
    const cli = spawnSync(process.execPath, [resolve('bin/featuregraph.mjs'), 'alerts', '--out', file, '--stale-for', '30s'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout, '');
    assert.match(cli.stderr, /^featuregraph alerts: wrote 79 rules for 5 views and their monitored features to /);
    assert.match(readFileSync(file, 'utf8'), /featuregraph_view_freshness_seconds\{job="featuregraph-gateway", view="restaurant_order_activity"\}\) > 60\n {8}for: 30s\n/);
    const checked = await checkRules(file);
    assert.equal(checked.code, 0, checked.output);
    // 12 of the views, 62 of the monitored features and the monitor itself, 5 of the pipeline.
    assert.match(checked.output, /SUCCESS: 79 rules found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('promtool accepts the rules of a repo with quotes, braces, YAML words and line breaks, and rejects them unescaped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'featuregraph-alerts-'));
  try {
    const text = alertRulesYaml(alertRepo(), { ...defaultAlertRuleOptions, gatewayJob: 'gw "{{ x }}"', severity: '{{ sev' });
    writeFileSync(join(dir, 'tricky.yml'), text);
    const checked = await checkRules(join(dir, 'tricky.yml'));
    assert.equal(checked.code, 0, checked.output);
    assert.match(checked.output, /SUCCESS: 28 rules found/);
    // The same file without the escaping of template braces: promtool does look at the templates.
    writeFileSync(join(dir, 'raw.yml'), text.replaceAll('{{ "{{" }}', '{{'));
    const raw = await checkRules(join(dir, 'raw.yml'));
    assert.equal(raw.code, 1, raw.output);
    assert.match(raw.output, /label "owner": template: .*unexpected \{\{end\}\}/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loaded into Prometheus, FeatureViewStale fires for a view its target reports past the SLA, and clears when it is fresh', async () => {
  const { url, rulesDir, targetsDir } = requireEndpoint('prometheus');
  const suffix = `_${run}`;
  const registry = alertRepo(suffix);
  const busy = `shop_busy${suffix}`;
  const profile = `shop_profile${suffix}`;
  const hours = `shop_hours${suffix}`;
  const gatewayJob = `alerts-${run}-gateway`;
  // What the synthetic gateway reports: busy past its 1m SLA, hours fresh, profile not at all (no watermark).
  let freshness: Record<string, number> = { [busy]: 125, [hours]: 0.1 };
  const server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    const lines = Object.entries(freshness).map(([view, seconds]) => `${metricNames.viewFreshness}{view="${view}",entity="Shop"} ${seconds}`);
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(`# HELP ${metricNames.viewFreshness} Seconds since the view's watermark.\n# TYPE ${metricNames.viewFreshness} gauge\n${lines.join('\n')}\n`);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const rules = join(rulesDir, `alerts-${run}.yml`);
  let target: string | null = null;
  const ours = async () => (await getJson<{ data: { alerts: PromAlert[] } }>(`${url}/api/v1/alerts`)).data.alerts.filter((a) => a.labels.view?.endsWith(suffix));
  try {
    writeFileSync(rules, alertRulesYaml(registry, { ...defaultAlertRuleOptions, gatewayJob, materializerJob: `alerts-${run}-materialize`, missingForMs: 0 }));
    await reload(url);
    target = addTarget(targetsDir, `alerts-${run}`, `127.0.0.1:${address.port}`, gatewayJob);

    const firing = await waitFor('prometheus', `${alertNames.viewStale} and ${alertNames.viewNoWatermark} of run ${run} firing`, async () => {
      const alerts = (await ours()).filter((a) => a.state === 'firing');
      return alerts.length === 2 ? alerts : null;
    });
    const stale = firing.find((a) => a.labels.alertname === alertNames.viewStale);
    assert.deepEqual(stale?.labels, { alertname: alertNames.viewStale, severity: 'warning', view: busy, entity: 'Shop', owner: trickyOwners.stream });
    assert.equal(stale?.annotations.summary, `Feature view ${busy} is past its freshness SLA of 1m`);
    assert.match(stale?.annotations.description ?? '', new RegExp(`^${busy} \\(entity Shop, owner eta "team": \\{\\{ \\$value \\}\\} #on-call\\): its source was last fully applied 2m 5s ago, past its freshness SLA of 1m\\.`));
    const missing = firing.find((a) => a.labels.alertname === alertNames.viewNoWatermark);
    // absent() keeps the labels its selector names by equality: the view and the gateways' job.
    assert.deepEqual(missing?.labels, { alertname: alertNames.viewNoWatermark, severity: 'warning', view: profile, entity: 'Shop', owner: trickyOwners.rows, job: gatewayJob });
    // The view reported under its SLA stays quiet.
    assert.equal(firing.some((a) => a.labels.view === hours), false);

    freshness = { [busy]: 5, [hours]: 0.1, [profile]: 3 };
    await waitFor('prometheus', `every alert of run ${run} resolved`, async () => (await ours()).length === 0);
  } finally {
    if (target !== null) rmSync(target, { force: true });
    rmSync(rules, { force: true });
    await reload(url);
    await new Promise<void>((closed) => server.close(() => closed()));
  }
});

test('loaded into Prometheus, a breakage in one segment fires one monitor alert naming feature and segment, and clears when it mends', async () => {
  const { url, rulesDir, targetsDir } = requireEndpoint('prometheus');
  const suffix = `_${run}`;
  const registry = monitorRepo(suffix);
  const monitorJob = `alerts-${run}-monitor`;
  const busy = `shop_busy${suffix}`;
  // The monitor's real gauges, fed the rows a run would give: Berlin's orders missing half the time,
  // which drags the whole population over the threshold too; Paris fine; couriers fine.
  const shopRow = (segment: string, missingRate: number) => healthRow({ feature: 'ordersLast5m', entity: 'Shop', view: busy, owner: 'eta-team', segment, missingRate, psi: 0.05 });
  const courierRow = healthRow({ feature: 'online', entity: 'Courier', view: `courier_status${suffix}`, owner: trickyOwners.other, missingRate: 0.05, psi: 0.05 });
  const metrics = new MonitorMetrics(registry);
  metrics.update([shopRow('*', 0.3), shopRow('city=Berlin', 0.5), shopRow('city=Paris', 0.01), courierRow], Date.now());
  const endpoint = new PrometheusEndpoint([metrics]);
  const provider = new MeterProvider({ readers: [endpoint.reader] });
  const server = await listenMetrics(endpoint, { port: 0, host: '127.0.0.1', setting: 'the test monitor' });
  const rules = join(rulesDir, `alerts-${run}-monitor.yml`);
  let target: string | null = null;
  const ours = async () => (await getJson<{ data: { alerts: PromAlert[] } }>(`${url}/api/v1/alerts`)).data.alerts.filter((a) => a.labels.view?.endsWith(suffix) || a.labels.job === monitorJob);
  try {
    writeFileSync(rules, alertRulesYaml(registry, { ...defaultAlertRuleOptions, monitorJob, gatewayJob: `alerts-${run}-gw`, materializerJob: `alerts-${run}-mat` }));
    await reload(url);
    target = addTarget(targetsDir, `alerts-${run}-monitor`, new URL(server.url).host, monitorJob);

    const firing = await waitFor('prometheus', `a monitor alert of run ${run} firing`, async () => {
      const alerts = (await ours()).filter((a) => a.state === 'firing');
      return alerts.length > 0 ? alerts : null;
    });
    // Every rule of the group was evaluated on the same scrape: only Berlin's missing rate is over.
    assert.deepEqual(
      firing.map((a) => a.labels),
      [{ alertname: alertNames.featureMissing, severity: 'warning', feature: 'ordersLast5m', entity: 'Shop', owner: 'eta-team', view: busy, segment: 'city=Berlin', direction: 'served' }],
    );
    assert.equal(firing[0]?.annotations.summary, 'Feature Shop.ordersLast5m: values missing in segment city=Berlin (served)');
    assert.match(firing[0]?.annotations.description ?? '', new RegExp(`^Shop\\.ordersLast5m \\(owner eta-team, view ${busy}\\), segment city=Berlin, served values over the monitor's window: 50% MISSING or EXPIRED, above its monitor\\.missingRate of 20%\\.$`));

    metrics.update([shopRow('*', 0.01), shopRow('city=Berlin', 0.02), shopRow('city=Paris', 0.01), courierRow], Date.now());
    await waitFor('prometheus', `every monitor alert of run ${run} resolved`, async () => (await ours()).length === 0);
  } finally {
    if (target !== null) rmSync(target, { force: true });
    rmSync(rules, { force: true });
    await reload(url);
    await server.close();
    await provider.shutdown();
  }
});
