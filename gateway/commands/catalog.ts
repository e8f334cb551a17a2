// `featuregraph catalog`: the featureCatalog of GraphQL on the command line, as a table or JSON.
import { loadFeatureRepo } from '../../schema/load.js';
import { catalogOf, searchCatalog } from '../../resolvers/catalog.js';
import { repoOf, repoOption, type Command } from './command.js';

export const catalog: Command = {
  summary: 'list and search the features of a repo',
  help: `featuregraph catalog [--repo DIR] [--search TEXT] [--entity NAME] [--tag TAG] [--json]

The same catalog as the featureCatalog GraphQL field.

Example:
  featuregraph catalog --tag eta`,
  options: { ...repoOption, search: { type: 'string', short: 's' }, entity: { type: 'string', short: 'e' }, tag: { type: 'string', short: 't' }, json: { type: 'boolean' } },
  async run(values) {
    const registry = await loadFeatureRepo(repoOf(values));
    const found = searchCatalog(catalogOf(registry), { search: values.search as string, entity: values.entity as string, tag: values.tag as string });
    if (values.json) process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
    else for (const f of found) process.stdout.write(`${f.id.padEnd(32)} ${f.type.padEnd(9)} ${f.sourceKind.padEnd(9)} ${f.owner.padEnd(14)} ${f.tags.join(',')}\n`);
    return 0;
  },
};
