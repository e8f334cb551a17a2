// Prometheus from Debian's `prometheus` package (2.42 on bookworm, promtool included), run by hand
// with the harness's own config and data folder under .cache/services/prometheus: the package's own
// service (port 9090) is never used. It scrapes and evaluates rules every second. Tests write rule
// files into rulesDir and load them with POST /-/reload (allowed by --web.enable-lifecycle), and add
// scrape targets as file_sd target groups in targetsDir, which Prometheus watches.
// Port FEATUREGRAPH_PROMETHEUS_PORT (default 19090).
import { mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  aptInstall,
  commandExists,
  httpOk,
  killDetached,
  portFor,
  run,
  spawnDetached,
  waitForSpawned,
  type Endpoints,
  type ServiceContext,
  type ServiceDefinition,
} from './harness.js';

const service = 'prometheus';
const label = 'prometheus';
const host = '127.0.0.1';

function prometheusPort(): number {
  return portFor('FEATUREGRAPH_PROMETHEUS_PORT', 19090);
}

function paths(ctx: ServiceContext): { config: string; data: string; rules: string; targets: string } {
  return { config: join(ctx.dir, 'prometheus.yml'), data: join(ctx.dir, 'data'), rules: join(ctx.dir, 'rules'), targets: join(ctx.dir, 'targets') };
}

function endpointFor(ctx: ServiceContext, port: number): NonNullable<Endpoints['prometheus']> {
  const { rules, targets } = paths(ctx);
  return { url: `http://${host}:${port}`, rulesDir: rules, targetsDir: targets, promtool: run(service, 'sh', ['-c', 'command -v promtool']).trim() };
}

/**
 * JSON, which Prometheus's YAML parser reads as well. Intervals of a second keep tests' bounded
 * waits short; a folder of target files (not one shared file) lets suites running at once each add
 * and remove their own targets. A target group's `job` label names its job.
 */
function config(ctx: ServiceContext): string {
  const { rules, targets } = paths(ctx);
  return JSON.stringify(
    {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [join(rules, '*.yml'), join(rules, '*.yaml')],
      scrape_configs: [{ job_name: 'featuregraph-tests', file_sd_configs: [{ files: [join(targets, '*.json')], refresh_interval: '1s' }] }],
    },
    null,
    2,
  );
}

/** Ready, and running this harness's config: another Prometheus on the port would ignore rulesDir. */
async function answers(ctx: ServiceContext, port: number): Promise<boolean> {
  const url = `http://${host}:${port}`;
  const ready = await httpOk(`${url}/-/ready`);
  if (ready === null) return false;
  await ready.body?.cancel();
  const flags = await httpOk(`${url}/api/v1/status/flags`);
  const body = (await flags?.json().catch(() => null)) as { data?: Record<string, string> } | null | undefined;
  const running = body?.data?.['config.file'];
  return running !== undefined && samePath(running, paths(ctx).config);
}

/** Checkouts reach one shared .cache through different symlinks: compare the files, not the spelling. */
function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

const prometheus: ServiceDefinition<'prometheus'> = {
  name: service,

  async install(ctx) {
    if (commandExists('prometheus') && commandExists('promtool')) return;
    ctx.log('installing prometheus from Debian packages');
    aptInstall(service, ['prometheus']);
  },

  async probe(ctx) {
    const port = prometheusPort();
    return (await answers(ctx, port)) ? endpointFor(ctx, port) : null;
  },

  async start(ctx) {
    const port = prometheusPort();
    await killDetached(ctx, label);
    // Fresh series, rules and targets on every start, like Redis with persistence off.
    const p = paths(ctx);
    for (const dir of [p.data, p.rules, p.targets]) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    }
    writeFileSync(p.config, `${config(ctx)}\n`);
    const args = [`--config.file=${p.config}`, `--storage.tsdb.path=${p.data}`, `--web.listen-address=${host}:${port}`, '--web.enable-lifecycle', '--log.level=warn'];
    const pid = spawnDetached(ctx, label, 'prometheus', args);
    await waitForSpawned(service, ctx, label, pid, { server: 'Prometheus', what: `/-/ready on ${host}:${port}`, ready: () => answers(ctx, port), timeoutMs: 60_000 });
    return endpointFor(ctx, port);
  },

  async stop(ctx) {
    await killDetached(ctx, label);
  },
};

export default prometheus;
