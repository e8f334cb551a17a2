// Loads a feature repo folder: every module in it (tests excepted) is imported, and the definitions
// it exports are validated together. A module that fails to import is reported like any other issue.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FeatureRepoError } from './errors.js';
import type { FeatureRegistry } from './registry.js';
import { buildRegistry, type RepoModule } from './validate.js';

const moduleExtensions = /\.(ts|mts|js|mjs)$/;
const skipped = /(\.test\.|\.spec\.|\.d\.ts$)/;

export function listRepoModules(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listRepoModules(path));
    else if (moduleExtensions.test(entry.name) && !skipped.test(entry.name)) files.push(path);
  }
  return files.sort();
}

export async function loadRepoModules(dir: string): Promise<RepoModule[]> {
  const root = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new FeatureRepoError([{ file: dir, message: 'no such feature repo folder' }]);
  const modules: RepoModule[] = [];
  const failures: { file: string; message: string }[] = [];
  for (const path of listRepoModules(root)) {
    const file = relative(process.cwd(), path);
    try {
      modules.push({ file, exports: (await import(pathToFileURL(path).href)) as Record<string, unknown> });
    } catch (error) {
      failures.push({ file, message: `could not be loaded: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
  if (failures.length > 0) throw new FeatureRepoError(failures);
  if (modules.length === 0) throw new FeatureRepoError([{ file: dir, message: 'the folder holds no .ts or .js module' }]);
  return modules;
}

export async function loadFeatureRepo(dir: string): Promise<FeatureRegistry> {
  return buildRegistry(await loadRepoModules(dir));
}
