// Opens the history store the config names: every command that reads or writes history (serve,
// materialize, backfill, training-set) comes through here. The topologies it supports:
//   - memory: private to its process; worth opening only where materializers run in that process
//     (`serve --demo`). `materialize` warns and keeps none: nothing else could read it.
//   - embedded (a DuckDB file): any number of processes of one machine side by side, in any start
//     order. DuckDB lets one process open a file, so the first one to open it owns it and serves the
//     store to the others over a local socket (adapters/history/embedded/shared.ts); when the owner
//     stops or dies, a client takes the file over and retries what was in flight.
//   - snowflake: one warehouse table shared by every process of every machine, at scale.
import { ConfigError, FeaturegraphError } from '../schema/errors.js';
import { retryWithBackoff, type BackoffOptions } from '../schema/backoff.js';
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
      const { MemoryHistoryStore } = await import('../adapters/history/memory/index.js');
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
      let settings;
      try {
        settings = snowflakeHistoryOptions(config, options.env ?? process.env);
      } catch (error) {
        // The setting's place first: the same variables serve sources.batch too.
        if (error instanceof ConfigError) throw new ConfigError(`history (snowflake): ${error.message}`);
        throw error;
      }
      return { store: await SnowflakeHistoryStore.open(settings), checkpoints: null };
    }
    default: {
      const unreachable: never = config;
      throw new FeaturegraphError('INVALID_CONFIG', `unknown history store ${JSON.stringify(unreachable)}`);
    }
  }
}

export interface WaitForHistoryOptions extends OpenHistoryOptions {
  /** Stops the wait (it then rejects with WaitAborted). */
  signal?: AbortSignal;
  backoff?: BackoffOptions;
  /** Told each failure that is waited out (a server not reachable yet), before the pause. */
  onWait?: (error: unknown) => void;
}

/**
 * Opens the configured store, waiting with jittered backoff for as long as it takes while it fails in a
 * way a wait can mend (a server not reachable yet, a file held by a process that does not share it).
 * Anything else (a missing secret, refused credentials, a file that cannot be created) is thrown at once.
 */
export function openHistoryWaiting(config: HistoryConfig, options: WaitForHistoryOptions = {}): Promise<OpenedHistory> {
  return retryWithBackoff(() => openHistory(config, options), {
    ...options.backoff,
    what: describeHistory(config),
    signal: options.signal,
    // The stores classify what a wait mends; an error they did not classify is a bug or a broken setup.
    unknownRetriable: false,
    onRetry: (error) => options.onWait?.(error),
  });
}

export async function openHistoryStore(config: HistoryConfig, options: OpenHistoryOptions = {}): Promise<HistoryStore> {
  return (await openHistory(config, options)).store;
}

/** Where the config's history lives, for health reports: the file, or the server and table; never a secret. */
export function historyTarget(config: HistoryConfig, env: NodeJS.ProcessEnv = process.env): string {
  switch (config.type) {
    case 'memory':
      return 'memory, private to this process';
    case 'embedded':
      return `embedded ${config.path}`;
    case 'snowflake': {
      // As the connection resolves it: the environment's settings win over the file's.
      const protocol = env.FEATUREGRAPH_SNOWFLAKE_PROTOCOL || config.protocol || 'https';
      const account = env.FEATUREGRAPH_SNOWFLAKE_ACCOUNT || config.account;
      const givenHost = env.FEATUREGRAPH_SNOWFLAKE_HOST || config.host;
      const host = givenHost || `${account ?? '<account>'}.snowflakecomputing.com`;
      const port = (givenHost && (env.FEATUREGRAPH_SNOWFLAKE_PORT || config.port)) || (protocol === 'http' ? 80 : 443);
      return `snowflake ${host}:${port}, table ${config.table ?? 'FEATUREGRAPH_HISTORY'}`;
    }
    default: {
      const unreachable: never = config;
      return String(unreachable);
    }
  }
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
