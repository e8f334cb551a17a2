// `featuregraph sdl`: the subgraph SDL a repo serves.
import { loadFeatureRepo } from '../../schema/load.js';
import { generateSdl } from '../../schema/sdl.js';
import { repoOf, repoOption, type Command } from './command.js';

export const sdl: Command = {
  summary: 'print the GraphQL schema (SDL) a repo serves',
  help: `featuregraph sdl [--repo DIR]

Prints the subgraph SDL: entity types with @key, one field per feature (its description carries
owner, source, freshness SLA, ttl and tags), the lookup, list and training-set roots.`,
  options: repoOption,
  async run(values) {
    process.stdout.write(generateSdl(await loadFeatureRepo(repoOf(values))));
    return 0;
  },
};
