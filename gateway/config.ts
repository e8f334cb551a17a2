// Gateway configuration: a JSON file plus environment variables, validated once at start. Every
// message names the bad key and says what it accepts.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../schema/errors.js';
import { redisOptionBounds } from '../adapters/online/redis/options.js';

const port = z.number().int().min(0).max(65535);

/** Where a Snowflake account is (sources.batch and history share it); secrets only ever come from the environment. */
const snowflakeConnection = {
  account: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  database: z.string().min(1).optional(),
  schema: z.string().min(1).optional(),
  warehouse: z.string().optional(),
  role: z.string().optional(),
  host: z.string().optional(),
  port: port.optional(),
  protocol: z.enum(['http', 'https']).optional(),
};

/** A tuning option of the Redis store, within the bounds the store itself checks. */
const redisBounded = (name: keyof typeof redisOptionBounds) => z.number().int().min(redisOptionBounds[name].min).max(redisOptionBounds[name].max).optional();

const redisTuning = {
  keyPrefix: z.string().optional(),
  commandTimeoutMs: redisBounded('commandTimeoutMs'),
  writeTimeoutMs: redisBounded('writeTimeoutMs'),
  connectTimeoutMs: redisBounded('connectTimeoutMs'),
};

/** "host:port,host:port" -> nodes, for FEATUREGRAPH_REDIS_CLUSTER_NODES. */
function parseNodes(raw: string): { host: string; port: number }[] {
  return raw.split(',').map((part) => {
    const [host, portText] = part.trim().split(':');
    return { host: host ?? '', port: Number(portText) };
  });
}

export const configSchema = z
  .object({
    port: port.default(4000),
    host: z.string().min(1).default('0.0.0.0'),
    /** Folder of the feature repo to serve. */
    repo: z.string().min(1).default('examples/food-delivery/features'),
    /** production: no introspection, GraphiQL or federation fields unless asked, no field suggestions in errors. */
    production: z.boolean().default(false),
    introspection: z.boolean().optional(),
    graphiql: z.boolean().optional(),
    /**
     * The Federation fields: `_service { sdl }` (a supergraph build reads the schema) and `_entities` (a
     * router resolves references). On by default, off in production unless set; when the environment has
     * FEATUREGRAPH_FEDERATION_TOKEN, they answer only requests carrying it (x-featuregraph-federation-token).
     */
    federation: z.object({ serviceSdl: z.boolean().optional(), entities: z.boolean().optional() }).strict().default({}),
    onlineStore: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('memory') }).strict(),
        z.object({ type: z.literal('redis'), url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'), ...redisTuning }).strict(),
        z
          .object({
            type: z.literal('redis-cluster'),
            nodes: z.array(z.object({ host: z.string().min(1), port }).strict()).min(1, 'needs at least one node'),
            username: z.string().optional(),
            password: z.string().optional(),
            ...redisTuning,
          })
          .strict(),
      ])
      .default({ type: 'memory' }),
    /** The Kafka cluster stream sources read (materialize). */
    kafka: z
      .object({
        brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port')).min(1, 'needs at least one broker'),
        clientId: z.string().optional(),
        ssl: z.boolean().optional(),
        sessionTimeoutMs: z.number().int().min(6000).optional(),
        /** Messages handed to the materializer at once; offsets are resolved after each (default 10,000). */
        chunkSize: z.number().int().positive().optional(),
        /** max.message.bytes of the dead-letter topics (default: read from each topic, which needs DescribeConfigs). */
        maxMessageBytes: z.number().int().min(1024).optional(),
      })
      .strict()
      .optional(),
    /**
     * Where batch (warehouse) and document sources are read from. Secrets never sit here: Snowflake's
     * password or private key come from FEATUREGRAPH_SNOWFLAKE_PASSWORD / _PRIVATE_KEY, MongoDB's URL
     * (which may hold a password) from FEATUREGRAPH_MONGODB_URL when not given.
     */
    sources: z
      .object({
        batch: z
          .discriminatedUnion('type', [
            z.object({ type: z.literal('embedded'), path: z.string().min(1) }).strict(),
            z
              .object({ type: z.literal('snowflake'), ...snowflakeConnection })
              .strict(),
          ])
          .optional(),
        document: z.object({ type: z.literal('mongodb'), url: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URL').optional(), database: z.string().min(1) }).strict().optional(),
      })
      .strict()
      .default({}),
    /** Where materialized changes are kept for point-in-time reads and backfills. */
    history: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('memory') }).strict(),
        z.object({ type: z.literal('embedded'), path: z.string().min(1) }).strict(),
        // Snowflake (point-in-time joins pushed down as SQL): the settings of sources.batch, plus the table
        // (default FEATUREGRAPH_HISTORY); the FEATUREGRAPH_SNOWFLAKE_* environment fills in the rest, secrets included.
        z
          .object({
            type: z.literal('snowflake'),
            ...snowflakeConnection,
            table: z.string().min(1).optional(),
          })
          .strict(),
      ])
      .default({ type: 'memory' }),
    /**
     * The served-feature log: a sample of the gateway's online answers, for the monitor. sampleRate is the
     * share of requests logged (a request with the header x-featuregraph-log: 1 is logged whatever it is);
     * 0 turns logging off entirely, the header included. The sink defaults to the history store's kind when
     * it is memory or embedded (embedded: the same file), else to kafka when `kafka` is configured; with
     * none of those, logging is off and the start log says so.
     */
    servedLog: z
      .object({
        sampleRate: z.number().min(0).max(1).default(0.02),
        /** Records waiting to be written, at most; more are dropped (counted in featuregraph_served_log_dropped_total). */
        bufferRecords: z.number().int().min(1).max(10_000_000).default(10_000),
        /** Written at least this often. */
        flushEveryMs: z.number().int().min(1).max(3_600_000).default(1000),
        sink: z
          .discriminatedUnion('type', [
            // This process's memory (a monitor in the same process); the oldest go first past maxRecords (default 100,000).
            z.object({ type: z.literal('memory'), maxRecords: z.number().int().min(1).optional() }).strict(),
            // A DuckDB file; default the embedded history's.
            z.object({ type: z.literal('embedded'), path: z.string().min(1).optional() }).strict(),
            // A topic of the `kafka` cluster (default featuregraph.served-log).
            z.object({ type: z.literal('kafka'), topic: z.string().min(1).optional() }).strict(),
          ])
          .optional(),
      })
      .strict()
      .default({ sampleRate: 0.02, bufferRecords: 10_000, flushEveryMs: 1000 }),
    /** Redis for the batch job queue (BullMQ); default: the online store's, when it is standalone Redis. */
    scheduler: z.object({ redisUrl: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(), overlapMs: z.number().int().min(0).optional() }).strict().default({}),
    materializer: z
      .object({
        groupId: z.string().min(1).default('featuregraph-materializer'),
        /** Report progress (events, rate, lag) this often. */
        progressEveryMs: z.number().int().positive().default(5000),
        /** Port of materialize's /healthz and /readyz (off when absent; 0 picks a free one). */
        healthPort: port.optional(),
        /** Port of materialize's /metrics for Prometheus (off when absent; 0 picks a free one). */
        metricsPort: port.optional(),
      })
      .strict()
      .default({ groupId: 'featuregraph-materializer', progressEveryMs: 5000 }),
    limits: z
      .object({
        maxEntitiesPerField: z.number().int().positive().default(1000),
        maxRequestBytes: z.number().int().positive().default(2 * 1024 * 1024),
        maxDepth: z.number().int().positive().default(8),
        maxAliases: z.number().int().positive().default(30),
        maxTokens: z.number().int().positive().default(5000),
        /** Request cost (gateway/request-cost.ts): about one per value a request can return, a batch's operations summed. */
        maxCost: z.number().int().positive().default(60_000),
        maxDirectives: z.number().int().positive().default(20),
        maxBatchOperations: z.number().int().positive().default(10),
      })
      .strict()
      .default({
        maxEntitiesPerField: 1000,
        maxRequestBytes: 2 * 1024 * 1024,
        maxDepth: 8,
        maxAliases: 30,
        maxTokens: 5000,
        maxCost: 60_000,
        maxDirectives: 20,
        maxBatchOperations: 10,
      }),
  })
  .strict();

export type GatewayConfig = z.infer<typeof configSchema>;
/** The `history` entry: one member per history store type (gateway/history.ts opens each). */
export type HistoryConfig = GatewayConfig['history'];
/** The `servedLog` entry (gateway/served-log/index.ts opens its sink). */
export type ServedLogConfig = GatewayConfig['servedLog'];
export type GatewayConfigInput = z.input<typeof configSchema>;

function describeIssues(error: z.ZodError, origin: string): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      return `  - ${key}: ${issue.message}`;
    })
    .join('\n')
    .replace(/^/, `invalid configuration (${origin}):\n`);
}

/** Environment variables that override the file, and the key each sets. */
const envKeys: [string, string[], (raw: string) => unknown][] = [
  ['PORT', ['port'], Number],
  ['FEATUREGRAPH_PORT', ['port'], Number],
  ['FEATUREGRAPH_HOST', ['host'], String],
  ['FEATUREGRAPH_REPO', ['repo'], String],
  ['FEATUREGRAPH_PRODUCTION', ['production'], (raw) => raw === 'true' || raw === '1'],
  ['FEATUREGRAPH_INTROSPECTION', ['introspection'], (raw) => raw === 'true' || raw === '1'],
  ['FEATUREGRAPH_GRAPHIQL', ['graphiql'], (raw) => raw === 'true' || raw === '1'],
  ['FEATUREGRAPH_FEDERATION_SDL', ['federation', 'serviceSdl'], (raw) => raw === 'true' || raw === '1'],
  ['FEATUREGRAPH_FEDERATION_ENTITIES', ['federation', 'entities'], (raw) => raw === 'true' || raw === '1'],
];

/** Environment variables that choose the online store (they replace the file's choice whole). */
function onlineStoreFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> | undefined {
  if (env.FEATUREGRAPH_REDIS_CLUSTER_NODES) {
    return { type: 'redis-cluster', nodes: parseNodes(env.FEATUREGRAPH_REDIS_CLUSTER_NODES), password: env.FEATUREGRAPH_REDIS_PASSWORD || undefined };
  }
  if (env.FEATUREGRAPH_REDIS_URL) return { type: 'redis', url: env.FEATUREGRAPH_REDIS_URL };
  return undefined;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = (typeof next === 'object' && next !== null ? next : (node[key] = {})) as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

export interface LoadConfigOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from the command line; they win over the file and the environment. */
  overrides?: Partial<GatewayConfigInput>;
}

export function loadConfig(options: LoadConfigOptions = {}): GatewayConfig {
  const env = options.env ?? process.env;
  let raw: Record<string, unknown> = {};
  const file = options.file ?? env.FEATUREGRAPH_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  }
  for (const [name, path, parse] of envKeys) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, path, parse(value));
  }
  const store = onlineStoreFromEnv(env);
  if (store) raw.onlineStore = store;
  if (env.FEATUREGRAPH_KAFKA_BROKERS) raw.kafka = { ...(raw.kafka as object | undefined), brokers: env.FEATUREGRAPH_KAFKA_BROKERS.split(',').map((b) => b.trim()) };
  if (env.FEATUREGRAPH_MATERIALIZER_GROUP) raw.materializer = { ...(raw.materializer as object | undefined), groupId: env.FEATUREGRAPH_MATERIALIZER_GROUP };
  for (const [key, value] of Object.entries(options.overrides ?? {})) if (value !== undefined) raw[key] = value;
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, file ? `file ${file} and environment` : 'environment and flags'));
  return parsed.data;
}

export function introspectionEnabled(config: GatewayConfig): boolean {
  return config.introspection ?? !config.production;
}

export function graphiqlEnabled(config: GatewayConfig): boolean {
  return config.graphiql ?? !config.production;
}

/** The header a supergraph's router (or `rover subgraph introspect -H`) sends the federation token in. */
export const federationTokenHeader = 'x-featuregraph-federation-token';

export interface FederationAccess {
  serviceSdl: boolean;
  entities: boolean;
  /** When set, the federation fields answer only requests carrying it in federationTokenHeader. */
  token: string | null;
}

/** Which federation fields answer, and to whom; the token comes from the environment only (it is a secret). */
export function federationAccess(config: GatewayConfig, env: NodeJS.ProcessEnv = process.env): FederationAccess {
  const token = env.FEATUREGRAPH_FEDERATION_TOKEN;
  if (token !== undefined && token !== '' && (token.length < 16 || /\s/.test(token))) {
    // The value itself never appears in a message: it is a secret.
    throw new ConfigError(`FEATUREGRAPH_FEDERATION_TOKEN must be at least 16 characters without spaces (it has ${token.length})`);
  }
  return {
    serviceSdl: config.federation.serviceSdl ?? !config.production,
    entities: config.federation.entities ?? !config.production,
    token: token === undefined || token === '' ? null : token,
  };
}
