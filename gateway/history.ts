// Opens the history store the config names. Which processes may share one store decides the supported
// topologies, because the embedded store is a DuckDB file and DuckDB lets one process at a time open a
// file for writing (a second open fails on the file lock, read-only or not):
//   - one process: `serve --demo` (or any serve with in-process materializers) writes and reads the
//     same store, memory or an embedded file;
//   - a gateway over an embedded file another process filled (backfill, materialize) once that process
//     has finished: training sets from a frozen history;
//   - gateways and materializers as separate processes, live: a shared store, Snowflake.
// A memory store is private to its process: only worth opening where materializers run in-process.
import { FeaturegraphError } from '../schema/errors.js';
import type { HistoryStore } from '../adapters/history/types.js';
import type { ResolvedView } from '../schema/registry.js';
import type { HistoryConfig } from './config.js';

/** What went wrong opening the store, coded, with what to do instead when the file is held elsewhere. */
export class HistoryStoreOpenError extends FeaturegraphError {
  constructor(message: string, cause: unknown) {
    super('HISTORY_STORE_UNAVAILABLE', message, { cause });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function openEmbedded(path: string, views: readonly ResolvedView[] | undefined): Promise<HistoryStore> {
  const { EmbeddedHistoryStore } = await import('../adapters/history/embedded.js');
  try {
    return await EmbeddedHistoryStore.open(path, views ? { views } : {});
  } catch (error) {
    const held = /Could not set lock on file|Conflicting lock/i.exec(describe(error));
    if (held) {
      const pid = /\(PID (\d+)\)/.exec(describe(error))?.[1];
      throw new HistoryStoreOpenError(
        `the embedded history file ${path} is open in another process${pid ? ` (pid ${pid})` : ''}: DuckDB lets one process at a time use a file. ` +
          'Stop that process first (a finished backfill or materialize), run the materializers in this process (serve --demo), ' +
          'or use a history store that several processes share (history.type "snowflake").',
        error,
      );
    }
    throw new HistoryStoreOpenError(`cannot open the embedded history file ${path}: ${describe(error)}`, error);
  }
}

export interface OpenHistoryOptions {
  /** The views this process writes or reads: the embedded store keeps their changes in typed tables from the first append. */
  views?: readonly ResolvedView[];
  env?: NodeJS.ProcessEnv;
}

export async function openHistoryStore(config: HistoryConfig, options: OpenHistoryOptions = {}): Promise<HistoryStore> {
  switch (config.type) {
    case 'memory': {
      const { MemoryHistoryStore } = await import('../adapters/history/memory.js');
      return new MemoryHistoryStore();
    }
    case 'embedded':
      return openEmbedded(config.path, options.views);
    case 'snowflake': {
      const { SnowflakeHistoryStore, snowflakeHistoryOptions } = await import('../adapters/history/snowflake/index.js');
      return SnowflakeHistoryStore.open(snowflakeHistoryOptions(config, options.env ?? process.env));
    }
    default: {
      const unreachable: never = config;
      throw new FeaturegraphError('INVALID_CONFIG', `unknown history store ${JSON.stringify(unreachable)}`);
    }
  }
}
