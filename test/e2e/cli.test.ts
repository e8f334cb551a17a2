// The featuregraph command as a user runs it: help that teaches, errors that name the problem, and
// `serve --demo` (what npm start runs) answering the README's first query.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = resolve('bin/featuregraph.mjs');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

test('--help lists every command, and each command has help with an example', () => {
  const top = run('--help');
  assert.equal(top.status, 0);
  for (const command of ['serve', 'materialize', 'monitor', 'validate', 'sdl', 'catalog', 'alerts']) {
    assert.match(top.stdout, new RegExp(`^  ${command} `, 'm'));
    const help = run(command, '--help');
    assert.equal(help.status, 0, command);
    assert.match(help.stdout, new RegExp(`^featuregraph ${command}`), command);
  }
  assert.match(run('serve', '--help').stdout, /Example:/);
});

test('--version (and -v) prints the package version, exit 0', () => {
  const { version } = JSON.parse(readFileSync(resolve('package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-v']) {
    const answer = run(flag);
    assert.equal(answer.status, 0, flag);
    assert.equal(answer.stdout, `featuregraph ${version}\n`, flag);
  }
  assert.match(run('--help').stdout, /featuregraph --version/);
});

test('an unknown command or option is refused with usage, exit 2', () => {
  const unknown = run('serv');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "serv"/);
  const option = run('validate', '--repp', 'x');
  assert.equal(option.status, 2);
  assert.match(option.stderr, /Unknown option '--repp'/);
});

test('validate names the file, view and field of each problem, exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-cli-'));
  const api = resolve('index.ts');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
  writeFileSync(join(dir, 'views.ts'), `import { entity, featureView, count, kafkaTopic } from '${api}';
export const shop = entity({ name: 'Shop', key: 'shopId', description: 'a shop' });
export const busy = featureView({ name: 'busy', entity: shop, source: kafkaTopic({ name: 'o', topic: 'o', keyField: 'shopId', eventTimeField: 't', fields: { shopId: 'string', t: 'timestamp' } }),
  features: { 'orders-1h': count({ window: '1h' }) }, freshness: '1m', ttl: '1d', owner: 'me', description: 'd' });
`);
  const result = run('validate', '--repo', dir);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /views.ts > view busy > field orders-1h: feature name "orders-1h" is not a name GraphQL can carry/);
  const ok = run('validate');
  assert.equal(ok.status, 0);
  assert.match(ok.stdout, /view restaurant_order_activity: ordersLast30m, revenueLast24h/);
});

test('sdl and catalog print what the repo serves', () => {
  assert.match(run('sdl').stdout, /type Restaurant @key\(fields: "restaurantId"\)/);
  const catalog = run('catalog', '--tag', 'eta', '--json');
  assert.deepEqual((JSON.parse(catalog.stdout) as { id: string }[]).map((f) => f.id).sort(), ['Restaurant.avgPrepSeconds7d', 'Restaurant.etaMinutes', 'Restaurant.ordersLast30m', 'Restaurant.revenueLast24h']);
});

test('alerts prints Prometheus rules of the repo, and refuses a bad flag value with its contract, exit 1', () => {
  const rules = run('alerts');
  assert.equal(rules.status, 0, rules.stderr);
  assert.match(rules.stdout, /^ {6}- alert: FeatureViewStale\n {8}expr: max by \(view, entity\) \(featuregraph_view_freshness_seconds\{job="featuregraph-gateway", view="restaurant_order_activity"\}\) > 60\n/m);
  const bad = run('alerts', '--stale-for', 'soon');
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, 'featuregraph alerts: --stale-for must be a duration such as 30s, 5m or 1h30m (or 0), got "soon"\n');
  assert.match(run('alerts', '--help').stdout, /promtool check rules/);
});

test('monitor and serve --monitor refuse flags that do not go together, naming them, exit 1', () => {
  const json = run('monitor', '--json');
  assert.equal(json.status, 1);
  assert.equal(json.stderr, 'featuregraph monitor: --json goes with --once: a running monitor reports on /metrics (--metrics-port)\n');
  const every = run('serve', '--monitor-every', '1m');
  assert.equal(every.status, 1);
  assert.equal(every.stderr, 'featuregraph serve: --monitor-every and --monitor-interval set the schedule of --monitor, which is not given\n');
  assert.match(run('monitor', '--help').stdout, /featuregraph_monitor_missing_ratio/);
});

test('serve --demo (npm start) answers the first query with demo values, and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, [bin, 'serve', '--demo', 'examples/food-delivery/demo.ts', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: '' } });
  let log = '';
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      // A hang guard: the demo loads a day of orders first (11 s at load 13 here), so it is roomy.
      const timer = setTimeout(() => reject(new Error(`no "serving" line within 120 s:\n${log}`)), 120_000);
      child.stderr.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        const match = /serving .* at (http:\/\/\S+)/.exec(log);
        if (match) {
          clearTimeout(timer);
          resolveUrl(match[1] as string);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${log}`)));
    });
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ restaurants(restaurantIds: ["r1", "r2", "r3"]) { restaurantId ordersLast30m avgPrepSeconds7d isOpen } }' }) });
    const body = (await response.json()) as { data: { restaurants: { restaurantId: string; ordersLast30m: number; avgPrepSeconds7d: number; isOpen: boolean }[] } };
    assert.deepEqual(body.data.restaurants.map((r) => r.restaurantId), ['r1', 'r2', 'r3']);
    for (const r of body.data.restaurants) {
      assert.equal(typeof r.ordersLast30m, 'number');
      assert.equal(typeof r.avgPrepSeconds7d, 'number');
      assert.equal(typeof r.isOpen, 'boolean');
    }
    assert.ok(body.data.restaurants[0]!.ordersLast30m > 0, 'the most popular restaurant had orders in the last 30 minutes');
  } finally {
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
    assert.equal(code, 0, log);
  }
});
