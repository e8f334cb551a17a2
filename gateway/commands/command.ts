// What every `featuregraph` command is to the dispatcher (gateway/cli.ts), and the flags they share:
// --repo, --config, ports, --history FILE, and the timestamped log line on stderr.
import type { ParseArgsConfig } from 'node:util';
import { FeaturegraphError } from '../../schema/errors.js';
import { parseDuration } from '../../schema/duration.js';
import { loadConfig, type GatewayConfig, type GatewayConfigInput, type HistoryConfig } from '../config.js';

/** The flags of one command line, as node:util parseArgs gives them (strict: only the command's own). */
export type FlagValues = Record<string, string | boolean | undefined>;

export interface Command {
  summary: string;
  /** What the command does, its flags and an example: `--help` prints it, and a bad flag prints it after the error. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Resolves with the exit code; a FeaturegraphError or FeatureRepoError it throws becomes one line and exit 1. */
  run(values: FlagValues): Promise<number>;
}

export const defaultRepo = 'examples/food-delivery/features';

export const repoOption = { repo: { type: 'string', short: 'r' } } as const;

/** --repo and --config, the flags of every command that reads the config. */
export const repoAndConfigOptions = { ...repoOption, config: { type: 'string', short: 'c' } } as const;

/** The repo folder of a command that reads no config: --repo, else the seed repo. */
export function repoOf(values: FlagValues): string {
  return (values.repo as string | undefined) ?? defaultRepo;
}

/** The config of --config (or env FEATUREGRAPH_CONFIG) and the environment, with --repo and the command's own flags over them. */
export function configOf(values: FlagValues, overrides: Partial<GatewayConfigInput> = {}): GatewayConfig {
  return loadConfig({ file: values.config as string | undefined, overrides: { ...(values.repo ? { repo: values.repo as string } : {}), ...overrides } });
}

/** The history store of --history FILE (an embedded file), else the config's. */
export function historyOf(values: FlagValues, config: GatewayConfig): HistoryConfig {
  return typeof values.history === 'string' ? { type: 'embedded', path: values.history } : config.history;
}

export function portFlag(raw: string | boolean | undefined, flag: string): number {
  const port = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(port) || port < 0 || port > 65535) throw new FeaturegraphError('INVALID_CONFIG', `--${flag} must be a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
  return port;
}

/** A duration flag: "0" or "0s", or a duration such as 30s, 5m, 1h30m. */
export function durationFlag(values: FlagValues, flag: string, fallback: number, allowZero: boolean): number {
  const raw = values[flag];
  if (raw === undefined) return fallback;
  if (typeof raw === 'string') {
    if (allowZero && (raw === '0' || raw === '0s')) return 0;
    const ms = parseDuration(raw);
    if (ms !== null) return ms;
  }
  throw new FeaturegraphError('INVALID_CONFIG', `--${flag} must be a duration such as 30s, 5m or 1h30m${allowZero ? ' (or 0)' : ''}, got ${JSON.stringify(raw)}`);
}

/** A comma-separated flag as its non-empty items, trimmed. */
export function listFlag(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** The log of the commands that run a while: one timestamped line on stderr, leaving stdout to results. */
export function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
}
