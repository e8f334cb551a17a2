// Jaeger v2 all-in-one (an OpenTelemetry Collector with Jaeger's extensions), pinned at v1.75.0 by
// the tool directive of test/services/jaeger/go.mod and built once with the machine's Go toolchain
// (go.ts). It runs on the harness's own config: OTLP receivers, in-memory trace storage and the
// query API, nothing else, so that no default port of the all-in-one (8888, 13133, 5778, ...) is taken.
// Ports: query API FEATUREGRAPH_JAEGER_PORT (default 16687), its gRPC side FEATUREGRAPH_JAEGER_QUERY_GRPC_PORT
// (16688), OTLP FEATUREGRAPH_JAEGER_OTLP_GRPC_PORT (14317) and FEATUREGRAPH_JAEGER_OTLP_HTTP_PORT (14318).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGoBinary } from './go.js';
import {
  httpOk,
  killDetached,
  portFor,
  portOpen,
  repoRoot,
  spawnDetached,
  waitForSpawned,
  type Endpoints,
  type ServiceContext,
  type ServiceDefinition,
} from './harness.js';

const service = 'jaeger';
const label = 'jaeger';
const host = '127.0.0.1';
const moduleDir = join(repoRoot, 'test', 'services', 'jaeger');

interface Ports {
  query: number;
  queryGrpc: number;
  otlpGrpc: number;
  otlpHttp: number;
}

function ports(): Ports {
  return {
    query: portFor('FEATUREGRAPH_JAEGER_PORT', 16687),
    queryGrpc: portFor('FEATUREGRAPH_JAEGER_QUERY_GRPC_PORT', 16688),
    otlpGrpc: portFor('FEATUREGRAPH_JAEGER_OTLP_GRPC_PORT', 14317),
    otlpHttp: portFor('FEATUREGRAPH_JAEGER_OTLP_HTTP_PORT', 14318),
  };
}

function endpointFor(p: Ports): NonNullable<Endpoints['jaeger']> {
  return { otlpHttp: `http://${host}:${p.otlpHttp}`, otlpGrpc: `http://${host}:${p.otlpGrpc}`, queryUrl: `http://${host}:${p.query}` };
}

const binaryPath = (ctx: ServiceContext) => join(ctx.dir, 'bin', 'jaeger');

function buildJaeger(ctx: ServiceContext): void {
  buildGoBinary(service, ctx, {
    moduleDir,
    inputs: ['go.mod', 'go.sum'].map((file) => join(moduleDir, file)),
    binary: binaryPath(ctx),
    // The toolchain's default flags (cgo as the machine has it, no -trimpath): a hand-run `go build`
    // in this folder then shares the harness's build cache. Jaeger is some 2,000 packages, and a
    // different flag set compiles every one of them again.
    buildArgs: ['github.com/jaegertracing/jaeger/cmd/jaeger'],
    announce: 'building Jaeger (2,000 packages: about 8 minutes on two cores, more when they are busy; a fresh cache first downloads modules for a minute)',
  });
}

/**
 * JSON, which the collector's YAML config reader takes as well. Traces live in memory, bounded so
 * that a long benchmark cannot grow the process without limit; metrics about the collector itself
 * are off, or it would serve them on port 8888. No batch processor: each export is stored at once,
 * so a test finds its span on its first query (the SDKs batch on their side already).
 */
function config(p: Ports): string {
  return JSON.stringify(
    {
      service: {
        extensions: ['jaeger_storage', 'jaeger_query'],
        pipelines: { traces: { receivers: ['otlp'], exporters: ['jaeger_storage_exporter'] } },
        telemetry: { metrics: { level: 'none' }, logs: { level: 'warn' } },
      },
      extensions: {
        jaeger_storage: { backends: { memstore: { memory: { max_traces: 20_000 } } } },
        jaeger_query: {
          storage: { traces: 'memstore' },
          http: { endpoint: `${host}:${p.query}` },
          grpc: { endpoint: `${host}:${p.queryGrpc}` },
          // On by default in v2: the query service would trace itself to localhost:4317, which
          // nothing here serves, and log a connection error every few seconds.
          enable_tracing: false,
        },
      },
      receivers: { otlp: { protocols: { grpc: { endpoint: `${host}:${p.otlpGrpc}` }, http: { endpoint: `${host}:${p.otlpHttp}` } } } },
      exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
    },
    null,
    2,
  );
}

/**
 * The query API lists services and the OTLP receivers take an (empty) export. The collector starts
 * its extensions before its receivers, so the query API alone answers too early.
 */
async function answers(p: Ports): Promise<boolean> {
  const { otlpHttp, queryUrl } = endpointFor(p);
  const services = await httpOk(`${queryUrl}/api/services`);
  if (services === null) return false;
  await services.body?.cancel();
  const exported = await httpOk(`${otlpHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceSpans":[]}' });
  if (exported === null) return false;
  await exported.body?.cancel();
  return portOpen(p.otlpGrpc);
}

const jaeger: ServiceDefinition<'jaeger'> = {
  name: service,

  async install(ctx) {
    buildJaeger(ctx);
  },

  async probe() {
    const p = ports();
    return (await answers(p)) ? endpointFor(p) : null;
  },

  async start(ctx) {
    const p = ports();
    await killDetached(ctx, label);
    const configFile = join(ctx.dir, 'config.yaml');
    writeFileSync(configFile, `${config(p)}\n`);
    const pid = spawnDetached(ctx, label, binaryPath(ctx), ['--config', configFile]);
    await waitForSpawned(service, ctx, label, pid, { server: 'Jaeger', what: `the query API on ${host}:${p.query} and OTLP on ${p.otlpHttp}/${p.otlpGrpc}`, ready: () => answers(p), timeoutMs: 60_000 });
    return endpointFor(p);
  },

  async stop(ctx) {
    await killDetached(ctx, label);
  },
};

export default jaeger;
