// Install stamps: an install step records a hash of everything it was built from, so that `up`
// redoes the step only when one of those inputs changed (a pin, a source file, a toolchain).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Hash of the given files' contents plus extra strings (e.g. a toolchain version). */
export function inputsHash(files: readonly string[], extra: readonly string[] = []): string {
  const hash = createHash('sha256');
  // Lengths go in with each part, so that moving bytes from one input to the next changes the hash.
  const add = (part: string | Buffer) => hash.update(`${part.length}:`).update(part);
  for (const file of files) add(readFileSync(file));
  for (const value of extra) add(value);
  return hash.digest('hex');
}

/** True when the stamp at `path` records `hash`, i.e. the step it guards is done for these inputs. */
export function stampMatches(path: string, hash: string): boolean {
  return existsSync(path) && readFileSync(path, 'utf8').trim() === hash;
}

/** Written only after the guarded step succeeded: an interrupted step is redone next time. */
export function writeStamp(path: string, hash: string): void {
  writeFileSync(path, `${hash}\n`);
}
