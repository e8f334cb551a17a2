// Which views `featuregraph materialize` runs. Without --views: every view whose source the config
// configures (stream views need kafka.brokers, views of tables sources.batch, views of collections
// sources.document); the others are named in one log line and skipped. Nothing left, or a view asked
// for by --views whose source is not configured, stops the start naming the settings to give.
import { ConfigError } from '../schema/errors.js';
import type { FeatureRegistry } from '../schema/registry.js';
import type { GatewayConfig } from './config.js';

type Kind = 'stream' | 'batch' | 'document';

/** The setting each source kind needs, and how to say what a view reads. */
const needs: Record<Kind, { setting: string; reads: string }> = {
  stream: { setting: 'kafka.brokers in the config (or env FEATUREGRAPH_KAFKA_BROKERS=host:port,...)', reads: 'a kafka topic' },
  batch: { setting: 'sources.batch in the config (snowflake or embedded)', reads: 'a table' },
  document: { setting: 'sources.document in the config (mongodb)', reads: 'a collection' },
};

export interface ViewChoice {
  stream: string[];
  batch: string[];
  /** Views left out, with the setting that would run them (empty when --views named them). */
  skipped: { view: string; kind: Kind }[];
}

function configured(config: GatewayConfig, kind: Kind): boolean {
  switch (kind) {
    case 'stream':
      return config.kafka !== undefined;
    case 'batch':
      return config.sources.batch !== undefined;
    case 'document':
      return config.sources.document !== undefined;
    default: {
      const unreachable: never = kind;
      throw new Error(`unknown source kind ${String(unreachable)}`);
    }
  }
}

/** "a, b read a kafka topic: set kafka.brokers ...; c reads a table: set sources.batch ..." */
export function describeSkipped(skipped: readonly { view: string; kind: Kind }[]): string {
  const byKind = new Map<Kind, string[]>();
  for (const { view, kind } of skipped) byKind.set(kind, [...(byKind.get(kind) ?? []), view]);
  return [...byKind]
    .map(([kind, views]) => `${views.join(', ')} ${views.length === 1 ? 'reads' : 'read'} ${needs[kind].reads}: set ${needs[kind].setting}`)
    .join('; ');
}

/** Chooses the views; throws a ConfigError (naming every missing setting) when it cannot run what is asked. */
export function chooseViews(registry: FeatureRegistry, config: GatewayConfig, asked?: readonly string[]): ViewChoice {
  const names = asked ?? [...registry.views.keys()];
  if (asked !== undefined && asked.length === 0) throw new ConfigError('--views names no view: give view names separated by commas, or leave it out for every view whose source is configured');
  const choice: ViewChoice = { stream: [], batch: [], skipped: [] };
  for (const name of names) {
    const kind = registry.view(name, '--views').source.kind;
    if (!configured(config, kind)) choice.skipped.push({ view: name, kind });
    else if (kind === 'stream') choice.stream.push(name);
    else choice.batch.push(name);
  }
  if (asked !== undefined && choice.skipped.length > 0) throw new ConfigError(`--views asks for views whose source is not configured: ${describeSkipped(choice.skipped)}`);
  if (choice.stream.length === 0 && choice.batch.length === 0) throw new ConfigError(`nothing to materialize: no view has a configured source (${describeSkipped(choice.skipped)})`);
  return choice;
}
