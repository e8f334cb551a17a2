// The plain `--name value` flags of the benches without a parseArgs table (batch, training-set).

/** The value after `--name` on the command line, or `fallback` when the flag is absent. */
export function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

/**
 * Answers `--help` with `usage` (exit 0) and refuses a flag the bench does not know (exit 2), before
 * anything runs: a mistyped flag must not start a default run of many minutes.
 * @param valued flags followed by a value (`sizes` for `--sizes 1000`)
 * @param switches flags that stand alone (`profile`)
 */
export function checkFlags(usage: string, valued: readonly string[], switches: readonly string[]): void {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    process.exit(0);
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const name = arg.startsWith('--') ? arg.slice(2) : null;
    if (name !== null && valued.includes(name) && i + 1 < args.length) i++;
    else if (name === null || !switches.includes(name)) {
      console.error(`${name === null ? `unexpected argument ${JSON.stringify(arg)}` : valued.includes(name) ? `--${name} needs a value` : `unknown option --${name}`}\n\n${usage}`);
      process.exit(2);
    }
  }
}
