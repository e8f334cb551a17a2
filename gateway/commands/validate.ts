// `featuregraph validate`: loads a repo, checks every definition together, and lists what it defines.
import { loadFeatureRepo } from '../../schema/load.js';
import { repoOf, repoOption, type Command } from './command.js';

export const validate: Command = {
  summary: 'check a feature repo and list what it defines',
  help: `featuregraph validate [--repo DIR]

Loads every module of the repo and checks all definitions together. Each problem names its
file, view and field; the exit code is 1 when there is any.

Example:
  featuregraph validate --repo examples/food-delivery/features`,
  options: repoOption,
  async run(values) {
    const registry = await loadFeatureRepo(repoOf(values));
    for (const entity of registry.entities.values()) {
      process.stdout.write(`${entity.name} (key ${entity.key})\n`);
      for (const view of entity.views) process.stdout.write(`  view ${view.name}: ${view.features.map((f) => f.name).join(', ')}\n`);
      for (const feature of entity.requestFeatures.values()) process.stdout.write(`  request-time ${feature.name}(${Object.keys(feature.def.arguments).join(', ')})\n`);
    }
    process.stdout.write('ok\n');
    return 0;
  },
};
