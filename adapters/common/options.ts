// Option checking shared by every adapter (STYLE 3): each option is checked where it enters, against a
// contract that its message states with the bad value (a secret never: connection strings are redacted).
// Every option is checked, and one ConfigError names every problem found, so that a config is mended in
// one go rather than one refusal at a time.
import { ConfigError } from '../../schema/errors.js';
import { redact } from './redact.js';

/** A value as a message shows it: JSON, but NaN as NaN, a function as such, and never more than 120 characters. */
export function shown(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol' || value === undefined) return String(value);
  if (typeof value === 'function') return 'a function';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * A connection string that is not one, as a message may show it: whole (secret parameters redacted) when
 * it holds no user info; else only up to its scheme, since where a malformed one keeps its password
 * (mongodb:/user:secret@host) is anyone's guess.
 */
function shownConnectionString(value: string): string {
  if (!value.includes('@')) return shown(redact(value));
  return shown(`${/^[^:@]*:?\/*/.exec(value)?.[0] ?? ''}...`);
}

/** "a", "a" or "b", "a", "b" or "c" */
function alternatives(values: readonly string[]): string {
  const quoted = values.map((v) => JSON.stringify(v));
  return quoted.length <= 1 ? (quoted[0] ?? '') : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

/** The problems of one adapter's options; its message is the problem itself when there is one. */
export class OptionsError extends ConfigError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.length === 1 ? (problems[0] as string) : `${problems.length} problems in the options:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/**
 * Collects the problems of a set of options. Each check returns the value, or its fallback when it
 * refuses it, so that the checks after it still run; done() then throws one OptionsError naming them all.
 * `name` in every check is the option as a message names it (`snowflake source "orders": batchSize`).
 */
export class OptionCheck {
  private readonly problems: string[] = [];

  refuse(message: string): void {
    this.problems.push(message);
  }

  /** Runs a check that throws: its ConfigError (every problem of an OptionsError) is noted, and `fallback` stands for the value. */
  take<T>(check: () => T, fallback: T): T {
    try {
      return check();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.problems.push(...(error instanceof OptionsError ? error.problems : [error.message]));
      return fallback;
    }
  }

  /** An integer in [min, max]; `fallback` when absent (required when there is none). */
  integerIn(name: string, value: unknown, min: number, max: number, fallback?: number): number {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    this.refuse(`${name} must be an integer from ${min} to ${max}, got ${shown(value)}`);
    return fallback ?? min;
  }

  /** A string with something besides white space; `fallback` when absent (required when there is none). */
  nonEmptyString(name: string, value: unknown, fallback?: string): string {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value === 'string' && value.trim() !== '') return value;
    this.refuse(`${name} must be a non-empty string, got ${shown(value)}`);
    return fallback ?? '';
  }

  /** One of `allowed`; `fallback` when absent. */
  oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
    if (value === undefined) return fallback;
    if ((allowed as readonly unknown[]).includes(value)) return value as T;
    this.refuse(`${name} must be ${alternatives(allowed)}, got ${shown(value)}`);
    return fallback;
  }

  boolean(name: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value === 'boolean') return value;
    this.refuse(`${name} must be true or false, got ${shown(value)}`);
    return fallback;
  }

  /** A function (a clock, a listener); `fallback` when absent. */
  callback<F extends (...args: never[]) => unknown>(name: string, value: unknown, fallback: F): F {
    if (value === undefined) return fallback;
    if (typeof value === 'function') return value as F;
    this.refuse(`${name} must be a function, got ${shown(value)}`);
    return fallback;
  }

  /**
   * A source definition of `kind`, as `maker` (snowflakeTable, mongoCollection) makes one (null when it
   * is none), and how the adapter's messages name the source: `where` is `<source> "<name>"`, or
   * `<source>` alone while the definition or its name is refused.
   */
  sourceDefinition<D extends { kind: string; name: string }>(source: string, value: unknown, kind: D['kind'], maker: string): { definition: D | null; name: string; where: string } {
    if (typeof value !== 'object' || value === null || (value as { kind?: unknown }).kind !== kind) {
      this.refuse(`${source}: definition must be a ${kind} source (${maker}(...)), got ${shown((value as { kind?: unknown } | null | undefined)?.kind ?? value)}`);
      return { definition: null, name: '', where: source };
    }
    const definition = value as D;
    const name = this.nonEmptyString(`${source}: definition.name`, definition.name);
    return { definition, name, where: name === '' ? source : `${source} "${name}"` };
  }

  /** A connection string of one of `schemes` (`redis`, `rediss`); a bad one is shown without what may be a password. */
  connectionString(name: string, value: unknown, schemes: readonly string[]): string {
    if (typeof value === 'string' && schemes.some((scheme) => value.startsWith(`${scheme}://`))) return value;
    this.refuse(`${name} must be a connection string starting with ${schemes.map((s) => `${s}://`).join(' or ')}, got ${typeof value === 'string' ? shownConnectionString(value) : shown(value)}`);
    return '';
  }

  /** Throws one OptionsError naming every problem noted, if there is any. */
  done(): void {
    if (this.problems.length > 0) throw new OptionsError(this.problems);
  }
}
