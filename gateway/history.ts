// Opens the history store the config names: every command that reads or writes history (serve,
// materialize, backfill, training-set) comes through here. The topologies it supports:
//   - memory: private to its process; worth opening only where materializers run in that process
//     (`serve --demo`). `materialize` warns and keeps none: nothing else could read it.
//   - embedded (a DuckDB file): any number of processes of one machine side by side, in any start
//     order. DuckDB lets one process open a file, so the first one to open it owns it and serves the
//     store to the others over a local socket (adapters/history/embedded/shared.ts); when the owner
//     stops or dies, a client takes the file over and retries what was in flight.
//   - snowflake: one warehouse table shared by every process of every machine, at scale.
import { FeaturegraphError } from '../schema/errors.js';
import type { HistoryStore } from '../adapters/history/types.js';
import type { CheckpointStore } from '../adapters/sources/types.js';
import type { ResolvedView } from '../schema/registry.js';
import type { HistoryConfig } from './config.js';

export interface OpenHistoryOptions {
  /** The views this process writes or reads: the embedded store keeps their changes in typed tables from the first append. */
  views?: readonly ResolvedView[];
  env?: NodeJS.ProcessEnv;
  /** Where to say who owns an embedded file, and when ownership moves. */
  log?: (message: string) => void;
  /** How long an embedded client keeps trying to reach or become the owner (default 30 s). */
  takeoverMs?: number;
}

/** The store, and where it keeps checkpoints of jobs that write it (an embedded file keeps them beside the data). */
export interface OpenedHistory {
  store: HistoryStore;
  checkpoints: CheckpointStore | null;
}

/** Opens the configured store; an embedded file becomes this process's, or is used through the process that has it. */
export async function openHistory(config: HistoryConfig, options: OpenHistoryOptions = {}): Promise<OpenedHistory> {
  switch (config.type) {
    case 'memory': {
      const { MemoryHistoryStore } = await import('../adapters/history/memory.js');
      return { store: new MemoryHistoryStore(), checkpoints: null };
    }
    case 'embedded': {
      const { SharedEmbeddedHistoryStore } = await import('../adapters/history/embedded/shared.js');
      const store = await SharedEmbeddedHistoryStore.open(config.path, {
        ...(options.views ? { views: options.views } : {}),
        ...(options.log ? { log: options.log } : {}),
        ...(options.takeoverMs === undefined ? {} : { takeoverMs: options.takeoverMs }),
      });
      return { store, checkpoints: store };
    }
    case 'snowflake': {
      const { SnowflakeHistoryStore, snowflakeHistoryOptions } = await import('../adapters/history/snowflake/index.js');
      return { store: await SnowflakeHistoryStore.open(snowflakeHistoryOptions(config, options.env ?? process.env)), checkpoints: null };
    }
    default: {
      const unreachable: never = config;
      throw new FeaturegraphError('INVALID_CONFIG', `unknown history store ${JSON.stringify(unreachable)}`);
    }
  }
}

export async function openHistoryStore(config: HistoryConfig, options: OpenHistoryOptions = {}): Promise<HistoryStore> {
  return (await openHistory(config, options)).store;
}

/** The config's history in words, for logs: never a secret (only the type and the file or table). */
export function describeHistory(config: HistoryConfig): string {
  switch (config.type) {
    case 'memory':
      return 'memory history store (private to this process)';
    case 'embedded':
      return `embedded history store ${config.path}`;
    case 'snowflake':
      return `snowflake history store (table ${config.table ?? 'FEATUREGRAPH_HISTORY'})`;
    default: {
      const unreachable: never = config;
      return String(unreachable);
    }
  }
}
