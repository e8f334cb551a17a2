// Chooses the implementation behind each source definition of a repo from the config: Kafka for
// streams, Snowflake or the embedded SQL database for tables, MongoDB for collections. One source
// instance per definition, opened on first use.
import type { GatewayConfig } from './config.js';
import { ConfigError } from '../schema/errors.js';
import type { BatchSourceDefinition, DocumentSourceDefinition } from '../schema/types.js';
import type { RowSource } from '../adapters/sources/types.js';

export interface RowSources {
  rows(def: BatchSourceDefinition | DocumentSourceDefinition): RowSource;
  /** Which source kinds the config can serve. */
  serves(kind: 'batch' | 'document'): boolean;
  close(): Promise<void>;
}

/** Opens lazily behind a RowSource whose first read waits for the real one. */
function deferred(name: string, open: () => Promise<RowSource>): RowSource {
  let opened: Promise<RowSource> | null = null;
  const get = () => (opened ??= open());
  return {
    name,
    async *read(options) {
      yield* (await get()).read(options);
    },
    async *listKeys() {
      const source = await get();
      if (!source.listKeys) return;
      yield* source.listKeys();
    },
    async close() {
      if (opened) await (await opened).close();
    },
  };
}

/**
 * Refuses at start what no run could mend: a configured source kind whose connection lacks a setting or
 * a secret. Without this a scheduled run would fail on the missing secret, and be retried forever.
 */
export async function checkRowSourceSettings(config: GatewayConfig, kinds: ReadonlySet<'batch' | 'document'>, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const batch = config.sources.batch;
  if (kinds.has('batch') && batch?.type === 'snowflake') {
    const { snowflakeConnectionFromConfig } = await import('../adapters/sources/snowflake/client.js');
    try {
      snowflakeConnectionFromConfig(batch, env);
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(`sources.batch (snowflake): ${error.message}`);
      throw error;
    }
  }
  const document = config.sources.document;
  if (kinds.has('document') && document && !(document.url ?? env.FEATUREGRAPH_MONGODB_URL)) {
    throw new ConfigError('sources.document (mongodb): no server: set sources.document.url or env FEATUREGRAPH_MONGODB_URL');
  }
}

export function rowSourcesFor(config: GatewayConfig, env: NodeJS.ProcessEnv = process.env): RowSources {
  const opened = new Map<string, RowSource>();
  const batch = config.sources.batch;
  const document = config.sources.document;
  return {
    serves: (kind) => (kind === 'batch' ? batch !== undefined : document !== undefined),
    rows(def) {
      const existing = opened.get(def.name);
      if (existing) return existing;
      let source: RowSource;
      if (def.kind === 'batch') {
        if (!batch) throw new ConfigError(`source ${def.name} reads a table: configure sources.batch (snowflake or embedded)`);
        if (batch.type === 'embedded') {
          source = deferred(def.name, async () => (await import('../adapters/sources/embedded/index.js')).openEmbeddedSource(batch.path, def));
        } else {
          source = deferred(def.name, async () => {
            const { SnowflakeRowSource, snowflakeConnectionFromConfig } = await import('../adapters/sources/snowflake/index.js');
            // File settings fill in what the environment does not say; secrets only ever come from the environment.
            return new SnowflakeRowSource({ connection: snowflakeConnectionFromConfig(batch, env), definition: def });
          });
        }
      } else {
        if (!document) throw new ConfigError(`source ${def.name} reads a collection: configure sources.document (mongodb)`);
        const url = document.url ?? env.FEATUREGRAPH_MONGODB_URL;
        if (!url) throw new ConfigError('sources.document.url or env FEATUREGRAPH_MONGODB_URL must name the MongoDB server');
        source = deferred(def.name, async () => {
          const { MongoRowSource } = await import('../adapters/sources/mongodb/index.js');
          return new MongoRowSource({ url, database: document.database, definition: def });
        });
      }
      opened.set(def.name, source);
      return source;
    },
    async close() {
      await Promise.all([...opened.values()].map((s) => s.close().catch(() => undefined)));
      opened.clear();
    },
  };
}
