// The MongoDB-wire server: FerretDB v1.24 with its SQLite backend, embedded in the small Go main of
// test/services/ferretdb (the `go install` build of FerretDB panics on a missing version file).
// Built once with the machine's Go toolchain (go.ts); modules and build cache live under .cache/downloads.
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { buildGoBinary } from './go.js';
import {
  killDetached,
  portFor,
  repoRoot,
  spawnDetached,
  waitForSpawned,
  type Endpoints,
  type ServiceContext,
  type ServiceDefinition,
} from './harness.js';

const service = 'mongodb';
const label = 'ferretdb';
const host = '127.0.0.1';
const sourceDir = join(repoRoot, 'test', 'services', 'ferretdb');
const sourceFiles = ['go.mod', 'go.sum', 'main.go'].map((file) => join(sourceDir, file));

function mongoPort(): number {
  return portFor('FEATUREGRAPH_MONGODB_PORT', 27117);
}

function endpointFor(port: number): NonNullable<Endpoints['mongodb']> {
  return { url: `mongodb://${host}:${port}/` };
}

const binaryPath = (ctx: ServiceContext) => join(ctx.dir, 'bin', 'ferretdb');

function buildFerretDB(ctx: ServiceContext): void {
  buildGoBinary(service, ctx, {
    moduleDir: sourceDir,
    inputs: sourceFiles,
    binary: binaryPath(ctx),
    buildArgs: ['-trimpath', '.'],
    env: { CGO_ENABLED: '0' },
    announce: 'building FerretDB (the first build downloads Go modules: about a minute)',
  });
}

/** A real round trip through the driver the product uses, not just an open port. */
async function ping(port: number): Promise<boolean> {
  const client = new MongoClient(endpointFor(port).url, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
  try {
    const reply = await client.db('admin').command({ ping: 1 });
    return reply.ok === 1;
  } catch {
    return false;
  } finally {
    await client.close();
  }
}

const mongodb: ServiceDefinition<'mongodb'> = {
  name: 'mongodb',

  async install(ctx) {
    buildFerretDB(ctx);
  },

  async probe() {
    const port = mongoPort();
    return (await ping(port)) ? endpointFor(port) : null;
  },

  async start(ctx) {
    const port = mongoPort();
    // A server of ours that runs but does not answer would hold the port: replace it.
    await killDetached(ctx, label);
    const args = ['-host', host, '-port', String(port), '-data', join(ctx.dir, 'data'), '-log-level', 'warn'];
    const pid = spawnDetached(ctx, label, binaryPath(ctx), args);
    await waitForSpawned(service, ctx, label, pid, { server: 'FerretDB', what: `ping on ${host}:${port}`, ready: () => ping(port), timeoutMs: 30_000 });
    return endpointFor(port);
  },

  async stop(ctx) {
    await killDetached(ctx, label);
  },
};

export default mongodb;
