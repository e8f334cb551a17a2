// Smoke tests of the Prometheus test/services starts: it answers, promtool tells a valid rule file
// from a broken one, a rule file written to rulesDir is loaded on a reload and evaluated, and a target
// added to targetsDir is scraped. Files and job names carry a per-run name, and each test removes
// what it added, so that suites sharing the server never see each other's rules or targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireEndpoint } from '../services/endpoints.js';
import { waitFor } from '../services/harness.js';
import { addTarget, getJson, promtool, query, reload } from '../fixtures/prometheus.js';

const run = `smoke_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

/** Rule files as JSON, which Prometheus and promtool read as YAML. */
const ruleFile = (expr: string) => `${JSON.stringify({ groups: [{ name: run, rules: [{ alert: 'SmokeAlways', expr, labels: { severity: 'none' } }] }] }, null, 2)}\n`;

test('prometheus: answers /-/ready', async () => {
  const { url } = requireEndpoint('prometheus');
  const response = await fetch(`${url}/-/ready`);
  assert.equal(response.status, 200, await response.text());
});

test('prometheus: promtool check rules accepts a valid rule file and rejects a broken one', async () => {
  const { promtool: path } = requireEndpoint('prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'featuregraph-rules-'));
  try {
    writeFileSync(join(dir, 'valid.yml'), ruleFile('vector(1) > 0'));
    writeFileSync(join(dir, 'broken.yml'), ruleFile('sum(up'));
    const valid = await promtool(path, ['check', 'rules', join(dir, 'valid.yml')]);
    assert.equal(valid.code, 0, valid.output);
    assert.match(valid.output, /SUCCESS: 1 rules found/);
    const broken = await promtool(path, ['check', 'rules', join(dir, 'broken.yml')]);
    assert.equal(broken.code, 1, broken.output);
    assert.match(broken.output, /FAILED/);
    assert.match(broken.output, /unclosed left parenthesis/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

interface RulesReply {
  data: { groups: { name: string; file: string; rules: { name: string; type: string; state?: string }[] }[] };
}

test('prometheus: a rule file written to rulesDir is loaded on POST /-/reload and evaluated', async () => {
  const { url, rulesDir } = requireEndpoint('prometheus');
  const file = join(rulesDir, `${run}.yml`);
  const ownGroup = async () => (await getJson<RulesReply>(`${url}/api/v1/rules`)).data.groups.find((group) => group.name === run);
  try {
    writeFileSync(file, ruleFile('vector(1)'));
    await reload(url);
    const group = await waitFor('prometheus', `rule group ${run} in /api/v1/rules`, ownGroup);
    // Checkouts reach the shared .cache through symlinks: Prometheus names the file by its real path.
    assert.equal(group.file, realpathSync(file));
    assert.deepEqual(group.rules.map((rule) => [rule.name, rule.type]), [['SmokeAlways', 'alerting']]);
    // An alert without `for` fires on its first evaluation: the rule is evaluated, not only listed.
    await waitFor('prometheus', `alert SmokeAlways of ${run} firing`, async () => (await ownGroup())?.rules[0]?.state === 'firing');
  } finally {
    rmSync(file, { force: true });
    await reload(url);
  }
  assert.equal(await ownGroup(), undefined, 'the rule group is gone after its file is removed and Prometheus reloaded');
});

test('prometheus: a target added to targetsDir is scraped', async () => {
  const { url, targetsDir } = requireEndpoint('prometheus');
  const server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end('# HELP featuregraph_smoke_value A constant for the harness smoke test.\n# TYPE featuregraph_smoke_value gauge\nfeaturegraph_smoke_value 42\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const instance = `127.0.0.1:${address.port}`;
  const file = addTarget(targetsDir, run, instance, run);
  try {
    const up = await waitFor('prometheus', `a successful scrape of job ${run}`, async () => {
      const samples = await query(url, `up{job="${run}"} == 1`);
      return samples.length > 0 ? samples : null;
    });
    assert.deepEqual(up.map((sample) => sample.metric.instance), [instance]);
    const values = await query(url, `featuregraph_smoke_value{job="${run}"}`);
    assert.deepEqual(values.map((sample) => sample.value[1]), ['42']);
  } finally {
    rmSync(file, { force: true });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
