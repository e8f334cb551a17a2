// The plain `--name value` flags of the benches that take no --help (batch, training-set).

/** The value after `--name` on the command line, or `fallback` when the flag is absent. */
export function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}
