// The stream benchmark: featuregraph's stream materializer against a bare kafkajs consumer measured in
// the same run (throughput), and how soon an event is readable through GraphQL (freshness).
//
//   npm run bench:stream [-- --events N] [--rate R] [--duration S] [--rounds N] [--profile] ...
//
// One JSON line per result on stdout; progress, the services' CPU and (with --profile) where the
// materializer's time went on stderr. See bench/stream/README.md for what each number means.
import { openContext } from './context.js';
import { freshness } from './freshness.js';
import { freshnessBaseline } from './freshness-baseline.js';
import { readOptions } from './options.js';
import { host, log, reportProfiles } from './report.js';
import { servicesUp } from './services.js';
import { throughput } from './throughput.js';
import { killChildren, killChildrenOnExit } from '../common/children.js';

async function main(): Promise<void> {
  const options = readOptions();
  killChildrenOnExit(log, 'workers');
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const services = await servicesUp();
  log(`node ${host.node}, ${host.cpus} cpus (${host.cpu}); redis ${services.redis.url}, kafka ${services.brokers.join(',')}; run ${runId}`);
  const ctx = await openContext(services, options, runId);
  try {
    if (options.only !== 'freshness') await throughput(ctx);
    if (options.only !== 'throughput') await freshness(ctx, await freshnessBaseline(ctx));
  } finally {
    killChildren();
    await ctx.close();
  }
  reportProfiles(ctx.profiles);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
