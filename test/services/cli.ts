// `test/services/up [name...]`, `test/services/down [name...]`, `test/services/status`.
// Idempotent: `up` reuses a service that already answers; `down` stops only what this harness started.
import { allServices, contextFor, readEndpoints, writeEndpoint, ServiceError, type ServiceDefinition, type ServiceName } from './harness.js';

const loaders: Record<ServiceName, () => Promise<{ default: ServiceDefinition }>> = {
  redis: () => import('./redis.js'),
  'redis-cluster': () => import('./redis-cluster.js'),
  kafka: () => import('./kafka.js'),
  mongodb: () => import('./mongodb.js'),
  snowflake: () => import('./snowflake.js'),
  feast: () => import('./feast.js'),
  prometheus: () => import('./prometheus.js'),
  jaeger: () => import('./jaeger.js'),
};

const usage = `usage: test/services/up [service...] | test/services/down [service...] | test/services/status

Installs (cached in .cache/, git-ignored), starts and stops the real servers the integration tests use.
Services: ${allServices.join(', ')} (default: all).
Ports can be moved with FEATUREGRAPH_<SERVICE>_PORT (see each service module); the cache folder
with FEATUREGRAPH_CACHE_DIR. Under CI=true a service that cannot start fails with its name.`;

function parseNames(args: string[]): ServiceName[] {
  if (args.length === 0) return [...allServices];
  for (const arg of args) {
    if (!(allServices as readonly string[]).includes(arg)) {
      throw new Error(`unknown service "${arg}"; known services: ${allServices.join(', ')}`);
    }
  }
  return args as ServiceName[];
}

export async function up(names: ServiceName[]): Promise<{ started: ServiceName[]; failed: { name: ServiceName; error: string }[] }> {
  const started: ServiceName[] = [];
  const failed: { name: ServiceName; error: string }[] = [];
  for (const name of names) {
    const ctx = contextFor(name);
    const t0 = Date.now();
    try {
      const service = (await loaders[name]()).default;
      const existing = await service.probe(ctx);
      if (existing) {
        writeEndpoint(name, existing);
        ctx.log(`already up (${JSON.stringify(existing)})`);
        continue;
      }
      await service.install(ctx);
      const endpoint = await service.start(ctx);
      writeEndpoint(name, endpoint);
      started.push(name);
      ctx.log(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s (${JSON.stringify(endpoint)})`);
    } catch (error) {
      const message = error instanceof ServiceError ? error.message : `${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      failed.push({ name, error: message });
      ctx.log(`FAILED to start: ${message}`);
    }
  }
  return { started, failed };
}

export async function down(names: ServiceName[]): Promise<void> {
  for (const name of [...names].reverse()) {
    const ctx = contextFor(name);
    const service = (await loaders[name]()).default;
    await service.stop(ctx);
    writeEndpoint(name, undefined);
    ctx.log('stopped');
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || rest.includes('--help')) {
    process.stdout.write(`${usage}\n`);
    return command === undefined ? 2 : 0;
  }
  const names = parseNames(rest);
  switch (command) {
    case 'up': {
      const { failed } = await up(names);
      if (failed.length > 0) {
        process.stderr.write(`services that could not start: ${failed.map((f) => f.name).join(', ')}\n`);
        for (const f of failed) process.stderr.write(`- ${f.error}\n`);
        return 1;
      }
      process.stdout.write(`${JSON.stringify(readEndpoints(), null, 2)}\n`);
      return 0;
    }
    case 'down':
      await down(names);
      return 0;
    case 'status': {
      const endpoints = readEndpoints();
      for (const name of names) process.stdout.write(`${name}: ${endpoints[name] ? JSON.stringify(endpoints[name]) : 'down'}\n`);
      return 0;
    }
    default:
      process.stderr.write(`unknown command "${command}"\n${usage}\n`);
      return 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
