// The `featuregraph` command line: finds the command named by the first word, parses its flags and
// runs it (one module per command in commands/). Each command's --help says what it does and shows an example.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FeaturegraphError, FeatureRepoError } from '../schema/errors.js';
import type { Command, FlagValues } from './commands/command.js';
import { serve } from './commands/serve.js';
import { materialize } from './commands/materialize.js';
import { backfill } from './commands/backfill.js';
import { trainingSet } from './commands/training-set.js';
import { validate } from './commands/validate.js';
import { sdl } from './commands/sdl.js';
import { catalog } from './commands/catalog.js';
import { alerts } from './commands/alerts.js';
import { health } from './commands/health.js';
import { monitor } from './commands/monitor.js';

/** In the order the usage lists them. */
const commands: Record<string, Command> = { serve, materialize, monitor, backfill, 'training-set': trainingSet, health, validate, sdl, catalog, alerts };

/** featuregraph's version: the package.json above this module, from the sources, a build or node_modules alike. */
function version(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'featuregraph' && typeof pkg.version === 'string') return pkg.version;
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return `featuregraph: serve machine-learning features over GraphQL from the stores you already run.

Usage: featuregraph <command> [options]
       featuregraph --version

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run "featuregraph <command> --help" for a command's options and an example.
Start here: npm start (the food-delivery demo), then open http://localhost:4000/graphql.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    process.stdout.write(`${topic && commands[topic] ? commands[topic].help : usage()}\n`);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`featuregraph ${version()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`featuregraph: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  let values: FlagValues;
  try {
    ({ values } = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true }) as { values: FlagValues });
  } catch (error) {
    process.stderr.write(`featuregraph ${name}: ${error instanceof Error ? error.message : String(error)}\n\n${command.help}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(values);
  } catch (error) {
    if (error instanceof FeatureRepoError || error instanceof FeaturegraphError) {
      process.stderr.write(`featuregraph ${name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
