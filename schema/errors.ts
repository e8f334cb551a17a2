// Typed errors shared by every layer. Each carries a stable `code` (what clients see in GraphQL
// `extensions.code`), whether retrying may help, and the underlying cause. Nothing here knows GraphQL.

export type ErrorCode =
  | 'INVALID_FEATURE_REPO'
  | 'INVALID_CONFIG'
  | 'BAD_USER_INPUT'
  | 'LIMIT_EXCEEDED'
  | 'ONLINE_STORE_UNAVAILABLE'
  | 'ONLINE_STORE_TIMEOUT'
  | 'SOURCE_UNAVAILABLE'
  | 'HISTORY_STORE_UNAVAILABLE'
  | 'AS_OF_UNAVAILABLE'
  | 'MONITOR_UNAVAILABLE'
  | 'REQUEST_FEATURE_FAILED'
  | 'INVALID_FEATURE_VALUE'
  | 'UNSUPPORTED_CAPABILITY'
  | 'DEAD_LETTER_FAILED'
  | 'INTERNAL';

export class FeaturegraphError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/**
 * The one rule for whether another try may mend a failure. A FeaturegraphError says so itself, by its
 * `retriable`. Any other error (a driver's, a socket's) was classified by nobody: by default it counts
 * as retriable, since most such failures pass (a connection reset); a caller for which an unclassified
 * error rather means a bug or a broken setup passes `unknownRetriable` false.
 */
export function isRetriable(error: unknown, unknownRetriable = true): boolean {
  return error instanceof FeaturegraphError ? error.retriable : unknownRetriable;
}

/** One problem found in a feature repo, located by file, view and field. */
export interface RepoIssue {
  file: string;
  view?: string;
  field?: string;
  message: string;
}

export function formatRepoIssue(issue: RepoIssue): string {
  const where = [issue.file, issue.view && `view ${issue.view}`, issue.field && `field ${issue.field}`].filter(Boolean).join(' > ');
  return `${where}: ${issue.message}`;
}

export class FeatureRepoError extends FeaturegraphError {
  readonly issues: readonly RepoIssue[];

  constructor(issues: readonly RepoIssue[]) {
    super('INVALID_FEATURE_REPO', `the feature repo has ${issues.length} problem(s):\n${issues.map((i) => `  - ${formatRepoIssue(i)}`).join('\n')}`);
    this.issues = issues;
  }
}

export class ConfigError extends FeaturegraphError {
  constructor(message: string) {
    super('INVALID_CONFIG', message);
  }
}

export class BadInputError extends FeaturegraphError {
  constructor(message: string) {
    super('BAD_USER_INPUT', message);
  }
}

export class OnlineStoreError extends FeaturegraphError {
  constructor(store: string, message: string, options: { timeout?: boolean; cause?: unknown } = {}) {
    super(options.timeout ? 'ONLINE_STORE_TIMEOUT' : 'ONLINE_STORE_UNAVAILABLE', `online store ${store}: ${message}`, { retriable: true, cause: options.cause });
  }
}

export class UnsupportedCapabilityError extends FeaturegraphError {
  constructor(store: string, capability: string) {
    super('UNSUPPORTED_CAPABILITY', `${store} does not support ${capability}`);
  }
}

/**
 * A stream materializer stopped: retrying its batch cannot help (its dead-letter topic refuses every
 * write). Never retriable, so a stream source that sees it, as any failure that is not retriable, stops
 * consuming, applies and commits nothing after it, and reports it, instead of fetching the batch again
 * forever.
 */
export class StreamHaltError extends FeaturegraphError {
  constructor(code: 'DEAD_LETTER_FAILED', message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retriable: false, cause: options.cause });
  }
}
