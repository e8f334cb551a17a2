// The gateway: Apollo Server 5 behind our own node:http handler, which owns /healthz, /readyz, /metrics,
// the offline GraphiQL page and the refusals that happen before GraphQL (body size, malformed JSON).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ROOT_CONTEXT, type Context, type Meter, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { unwrapResolverError } from '@apollo/server/errors';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, parse, specifiedRules, type GraphQLFormattedError, type GraphQLSchema, type ValidationRule } from 'graphql';
import { FeaturegraphError } from '../schema/errors.js';
import type { FeatureRegistry } from '../schema/registry.js';
import { generateSdl } from '../schema/sdl.js';
import { servedLogHeader } from '../schema/served-log.js';
import type { OnlineStore } from '../adapters/online/types.js';
import type { HistoryStore } from '../adapters/history/types.js';
import type { HealthEngine } from '../materializers/monitor/types.js';
import { buildResolvers, clientView, createRequestContext, ServingTelemetry, type GatewayServices, type HistogramSource, type PriorRead, type RequestContext, type ServedLogSink } from '../resolvers/index.js';
import { FastPath, type GraphqlRequestBody } from '../resolvers/plan/index.js';
import { federationAccess, graphiqlEnabled, introspectionEnabled, type GatewayConfig } from './config.js';
import { graphiqlAsset, graphiqlPage } from './graphiql.js';
import { csrfRefusal, mimeEssence } from './csrf.js';
import { BodyTooLargeError, readBody, sendGraphqlError, sendJson } from './http.js';
import { RequestGuard, type OperationRequest } from './request-guard.js';
import { defaultTrainingSetLimits, trainingSetEndpoint, type TrainingSetLimits } from './training-set-http.js';
import { Health } from './health.js';
import { listen } from './listen.js';
import { watchHistory, watchOnlineStore } from './dependencies.js';
import { historyTarget } from './history.js';
import { storeFailuresPlugin } from './store-failures.js';
import { telemetryPlugin } from './telemetry/plugin.js';
import { traceHttpRequest } from './telemetry/http-span.js';
import { metricsPath, type MetricsEndpoint } from './telemetry/metrics-endpoint.js';
import { watchViewFreshness } from './telemetry/freshness.js';
import { featureHealthResolvers } from './feature-health.js';
import { servedLogPlugin } from './served-log/plugin.js';

/** The OpenTelemetry a gateway reports to (gateway/telemetry/sdk.ts starts it from OTEL_*); each part optional. */
export interface GatewayTelemetry {
  /** Spans of requests, operations and store reads; none without. */
  tracer?: Tracer | null;
  /** Metrics of feature reads, durations, store calls and view freshness; none without. */
  meter?: Meter | null;
  /** Where the serving paths' histograms go (default: the meter's own instruments). */
  histograms?: HistogramSource | null;
  /** How an incoming trace context is read (default W3C traceparent). */
  propagator?: TextMapPropagator;
  /** Served at /metrics (a 404 without). */
  metrics?: MetricsEndpoint | null;
}

export interface GatewayOptions {
  config: GatewayConfig;
  registry: FeatureRegistry;
  store: OnlineStore;
  /** Where asOf reads and training sets read the past; without one they answer AS_OF_UNAVAILABLE. */
  history?: HistoryStore;
  now?: () => number;
  log?: (message: string) => void;
  /** Answer known operations from compiled plans in front of Apollo (default on). */
  fastPath?: boolean;
  /** Bounds of POST /training-set. */
  trainingSetLimits?: Partial<TrainingSetLimits>;
  /** Where secrets come from (FEATUREGRAPH_FEDERATION_TOKEN); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** What /readyz reports (default: the online store and the history store, probed on each request). */
  health?: Health;
  /** Default none: no span, no metric, and the serving paths skip it all. */
  telemetry?: GatewayTelemetry;
  /**
   * Where a sample of the online answers is logged (both paths, asOf reads and training sets aside);
   * default none. It decides once per HTTP request, for every operation of a batch.
   */
  servedLog?: ServedLogSink | null;
  /** What GraphQL featureHealth computes with; without one it answers MONITOR_UNAVAILABLE. */
  featureHealth?: HealthEngine | null;
}

export interface Gateway {
  readonly schema: GraphQLSchema;
  readonly fastPath: FastPath | null;
  /** The checks every GraphQL request passes first, on both paths: federation access, cost. */
  readonly guard: RequestGuard;
  readonly apollo: ApolloServer<RequestContext>;
  readonly http: Server;
  /** Starts listening; resolves with the URL of /graphql. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Names beginning with "__" are reserved for introspection; a fragment named so could hide depth from limits. */
const reservedFragmentNames: ValidationRule = (context) => ({
  FragmentDefinition(node) {
    if (node.name.value.startsWith('__')) {
      context.reportError(new GraphQLError(`fragment name "${node.name.value}" is reserved: names beginning with "__" belong to introspection`, { nodes: [node] }));
    }
  },
});

/** The operations a request asks to run, as sent: a POST body (one, or a batch) or GET parameters. */
function operationsOf(method: string, url: URL, body: unknown): OperationRequest[] {
  const operation = (item: unknown): OperationRequest => {
    const fields = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
    return { query: fields.query, operationName: fields.operationName, variables: fields.variables };
  };
  if (method === 'GET') {
    const { searchParams } = url;
    return [{ query: searchParams.get('query') ?? undefined, operationName: searchParams.get('operationName') ?? undefined, variables: searchParams.get('variables') ?? undefined }];
  }
  return Array.isArray(body) ? body.map(operation) : [operation(body)];
}

/** A request header's text (Node joins a repeated header's values with ", "; only set-cookie comes as a list). */
const headerValue = (value: string | string[] | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

/** /readyz of a gateway whose caller declared nothing: the online store, and the history store when there is one. */
function defaultHealth(options: GatewayOptions, log: (message: string) => void): Health {
  const health = new Health({ log });
  watchOnlineStore(health, options.store, options.config.onlineStore, 'reads of stored features answer ONLINE_STORE_UNAVAILABLE');
  if (options.history) watchHistory(health, options.history, historyTarget(options.config.history), 'asOf reads and training sets answer HISTORY_STORE_UNAVAILABLE');
  return health;
}

/** The gateway's schema; GraphQL featureHealth computes with `healthEngine` (without one, it answers MONITOR_UNAVAILABLE). */
export function buildSchema(registry: FeatureRegistry, healthEngine: HealthEngine | null = null): GraphQLSchema {
  const resolvers = buildResolvers(registry);
  const health = featureHealthResolvers(registry, healthEngine);
  Object.assign(resolvers.Query as object, health.Query);
  resolvers.FeatureHealth = health.FeatureHealth;
  return buildSubgraphSchema([{ typeDefs: parse(generateSdl(registry)), resolvers: resolvers as GraphQLResolverMap<unknown> }]);
}

/** db.system.name of a store, by the semantic conventions where they name it. */
const dbSystems: Record<string, string> = { redis: 'redis', 'redis-cluster': 'redis', embedded: 'duckdb', snowflake: 'snowflake' };

/** Routes whose requests get a span: the probes and scrapes that come every few seconds would bury them. */
const tracedRoutes = new Set(['/graphql', '/training-set']);

function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const unwrapped = unwrapResolverError(error);
  const original = unwrapped instanceof GraphQLError && unwrapped.originalError ? unwrapped.originalError : unwrapped;
  // A coded error shows its message and code; an unknown failure keeps its code but not its message.
  if (original instanceof FeaturegraphError || (formatted.extensions?.code === 'INTERNAL_SERVER_ERROR' && !(original instanceof GraphQLError))) {
    const view = clientView(original);
    return { ...formatted, message: view.message, extensions: { ...formatted.extensions, ...view.extensions } };
  }
  return formatted;
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, registry, store } = options;
  const log = options.log ?? (() => {});
  const schema = buildSchema(registry, options.featureHealth ?? null);
  const limits = config.limits;
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true },
    maxAliases: { n: limits.maxAliases },
    // Cost is the gateway's own (request-guard.ts): it counts list arguments and variables, which armor cannot see.
    costLimit: { enabled: false },
    // graphql-js enforces the token limit while parsing (parseOptions below): a clean 400, not a plugin's 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: limits.maxDirectives },
    blockFieldSuggestion: { enabled: config.production },
  }).protect();

  const servedLog = options.servedLog ?? null;
  const services: GatewayServices = { registry, store, history: options.history, limits: { maxEntitiesPerField: limits.maxEntitiesPerField }, now: options.now, servedLog };
  const { tracer = null, meter = null, histograms = null, metrics = null, propagator = new W3CTraceContextPropagator() } = options.telemetry ?? {};
  // Null unless something listens: then the serving paths check this one value and skip the rest.
  const serving = tracer || meter ? new ServingTelemetry({ tracer, meter, histograms, onlineSystem: dbSystems[store.name] ?? store.name, historySystem: options.history && (dbSystems[options.history.name] ?? options.history.name) }) : null;
  if (meter) watchViewFreshness(meter, registry, store, { log, now: options.now });
  const apollo = new ApolloServer<RequestContext>({
    schema,
    introspection: introspectionEnabled(config),
    csrfPrevention: true,
    // Every operation must arrive as text, so that the guard can bound it before it runs (a persisted
    // query's hash would carry new variables past it).
    persistedQueries: false,
    // The CLI owns signals and calls close(): two stop() calls at once would wait on each other forever.
    stopOnTerminationSignals: false,
    parseOptions: { maxTokens: limits.maxTokens },
    allowBatchedHttpRequests: true,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: config.production,
    validationRules: [...armor.validationRules, reservedFragmentNames],
    // graphql-armor's typings point at Apollo's CommonJS build; the plugin objects are the same.
    plugins: [...(armor.plugins as unknown as ApolloServerPlugin<RequestContext>[]), ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled(), storeFailuresPlugin, ...(serving ? [telemetryPlugin] : []), ...(servedLog ? [servedLogPlugin] : [])],
    formatError,
  });
  await apollo.start();
  const fastPath = options.fastPath === false
    ? null
    : new FastPath({ registry, schema, store, rules: [...specifiedRules, ...armor.validationRules, reservedFragmentNames], maxEntitiesPerField: limits.maxEntitiesPerField, maxTokens: limits.maxTokens, now: options.now });

  const federation = federationAccess(config, options.env ?? process.env);
  if (config.production && (federation.serviceSdl || federation.entities) && federation.token === null) {
    log('federation fields are on in production without FEATUREGRAPH_FEDERATION_TOKEN: any client that reaches this port can read _service and call _entities');
  }
  const guard = new RequestGuard({ schema, registry, maxCost: limits.maxCost, maxTokens: limits.maxTokens, federation });

  const health = options.health ?? defaultHealth(options, log);
  const showGraphiql = graphiqlEnabled(config);
  const handleTrainingSet = trainingSetEndpoint({ registry, history: options.history, now: options.now ?? Date.now, limits: { ...defaultTrainingSetLimits, ...options.trainingSetLimits }, log });

  /** A browser opening /graphql gets the GraphiQL page: a GET that runs nothing. */
  const wantsGraphiqlPage = (req: IncomingMessage, method: string, url: URL) => method === 'GET' && showGraphiql && !url.searchParams.has('query') && (req.headers.accept ?? '').includes('text/html');

  async function handleGraphql(req: IncomingMessage, res: ServerResponse, url: URL, trace: Context): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    if (wantsGraphiqlPage(req, method, url)) {
      const html = graphiqlPage('/graphql');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
      res.end(html);
      return;
    }
    let body: unknown = undefined;
    if (method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, limits.maxRequestBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) return sendGraphqlError(res, 413, 'LIMIT_EXCEEDED', `request body is larger than ${limits.maxRequestBytes} bytes`);
        throw error;
      }
      // JSON only when the content-type says so, parsed: "text/plain;charset=json" is text (Apollo refuses it).
      if (mimeEssence(req.headers['content-type'] ?? '') === 'application/json') {
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch (error) {
          return sendGraphqlError(res, 400, 'BAD_REQUEST', `request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (Array.isArray(body) && body.length > limits.maxBatchOperations) {
          return sendGraphqlError(res, 400, 'LIMIT_EXCEEDED', `a batch may hold at most ${limits.maxBatchOperations} operations, this one has ${body.length}`);
        }
      } else {
        body = text;
      }
    }
    const refusal = guard.check(operationsOf(method, url, body), req.headers);
    if (refusal) return sendGraphqlError(res, refusal.status, refusal.code, refusal.message, refusal.extensions);
    const telemetry = serving?.request(trace) ?? null;
    const logged = servedLog !== null && servedLog.sampled(headerValue(req.headers[servedLogHeader]));
    // A store read the fast path made before handing the request over: Apollo answers from it.
    let prior: PriorRead | undefined;
    if (fastPath && method === 'POST' && typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const operation = telemetry?.startOperation() ?? null;
      const answer = await fastPath.answer(body as GraphqlRequestBody, operation, logged ? servedLog : null);
      if (answer.body !== null) {
        res.writeHead(200, { 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer.body) });
        res.end(answer.body);
        operation?.finish('fast');
        return;
      }
      // Apollo goes on with the same operation: one span, whichever path answers.
      if (operation) telemetry?.handOver(operation);
      prior = answer.read;
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers, search: url.search, body },
      context: async () => createRequestContext(services, prior, telemetry, logged),
    });
    telemetry?.finishPending();
    const outHeaders: Record<string, string> = {};
    for (const [key, value] of response.headers) outHeaders[key] = value;
    res.statusCode = response.status ?? 200;
    for (const [key, value] of Object.entries(outHeaders)) res.setHeader(key, value);
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }

  /** Content types each route that runs something accepts, for the CSRF refusal's message. */
  const acceptedContentTypes = (pathname: string) => (pathname === '/training-set' ? 'application/json or text/csv' : 'application/json');

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const trace = serving?.tracer && tracedRoutes.has(url.pathname) ? traceHttpRequest(serving.tracer, propagator, req, res, url.pathname, url.pathname) : ROOT_CONTEXT;
    // Before anything runs, on every path: any POST, and every GraphQL request (Apollo checks GETs too).
    if (method === 'POST' || (url.pathname === '/graphql' && !wantsGraphiqlPage(req, method, url))) {
      const refusal = csrfRefusal(req.headers, acceptedContentTypes(url.pathname));
      if (refusal !== null) {
        req.resume();
        return sendGraphqlError(res, 400, 'BAD_REQUEST', refusal);
      }
    }
    switch (url.pathname) {
      case '/graphql':
        return handleGraphql(req, res, url, trace);
      case '/training-set':
        return handleTrainingSet(req, res, url);
      case '/healthz':
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz':
        return health.answer(res);
      case metricsPath:
        if (metrics) return metrics.handle(req, res);
        return sendJson(res, 404, { error: 'this gateway runs without metrics (OTEL_METRICS_EXPORTER=none, or OTEL_SDK_DISABLED=true)' });
      default: {
        if (showGraphiql && url.pathname.startsWith('/graphiql/')) {
          const asset = graphiqlAsset(url.pathname.slice('/graphiql/'.length));
          if (asset) {
            res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': 'public, max-age=86400' });
            res.end(asset.body);
            return;
          }
        }
        return sendJson(res, 404, { error: `no route ${url.pathname}; GraphQL is at /graphql` });
      }
    }
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!res.headersSent) sendGraphqlError(res, 500, 'INTERNAL', 'internal error');
      else res.end();
    });
  });
  http.keepAliveTimeout = 65_000;

  return {
    schema,
    fastPath,
    guard,
    apollo,
    http,
    listen: async () => {
      const port = await listen(http, { port: config.port, host: config.host, setting: "--port, env PORT or the config's port" });
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
      return `http://${host}:${port}/graphql`;
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeIdleConnections();
      });
      await apollo.stop();
    },
  };
}

