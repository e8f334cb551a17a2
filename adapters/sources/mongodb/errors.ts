// Driver errors as typed featuregraph errors, through tables (STYLE 5), with credentials scrubbed: a
// connection string may hold a password, and nothing that reaches a message or a cause keeps it.
import { FeaturegraphError, type ErrorCode } from '../../../schema/errors.js';
import { scrubbedError } from '../../common/redact.js';

interface ErrorClass {
  code: ErrorCode;
  retriable: boolean;
}

const unavailable: ErrorClass = { code: 'SOURCE_UNAVAILABLE', retriable: true };
const refused: ErrorClass = { code: 'SOURCE_UNAVAILABLE', retriable: false };
const badDefinition: ErrorClass = { code: 'INVALID_CONFIG', retriable: false };

/** By the driver's error class name: the server is out of reach or went away. */
const byName: Readonly<Record<string, ErrorClass>> = {
  MongoServerSelectionError: unavailable,
  MongoNetworkError: unavailable,
  MongoNetworkTimeoutError: unavailable,
  MongoPoolClearedError: unavailable,
  MongoTopologyClosedError: unavailable,
  MongoParseError: badDefinition,
};

/** By server error code (https://www.mongodb.com/docs/manual/reference/error-codes/). */
const byServerCode: Readonly<Record<number, ErrorClass>> = {
  2: badDefinition, // BadValue: the definition's filter or projection
  9: badDefinition, // FailedToParse
  14: badDefinition, // TypeMismatch
  31249: badDefinition, // path collision in a projection
  31254: badDefinition, // projection mixes inclusion and exclusion
  13: refused, // Unauthorized
  18: refused, // AuthenticationFailed
  6: unavailable, // HostUnreachable
  7: unavailable, // HostNotFound
  89: unavailable, // NetworkTimeout
  91: unavailable, // ShutdownInProgress
  189: unavailable, // PrimarySteppedDown
  262: unavailable, // ExceededTimeLimit
  11600: unavailable, // InterruptedAtShutdown
  11602: unavailable, // InterruptedDueToReplStateChange
  10107: unavailable, // NotWritablePrimary
  13435: unavailable, // NotPrimaryNoSecondaryOk
};

/** Server codes that mean "no change streams here" (FerretDB answers 238 NotImplemented). */
export const changeStreamUnsupportedCodes: ReadonlySet<number> = new Set([
  238, // NotImplemented (FerretDB)
  40573, // $changeStream is only supported on replica sets (a standalone mongod)
  40324, // unrecognized pipeline stage name
  115, // CommandNotSupported
]);

interface DriverError {
  name?: unknown;
  code?: unknown;
  message?: unknown;
}

export function classify(error: unknown): ErrorClass {
  const e = (error ?? {}) as DriverError;
  if (typeof e.code === 'number' && byServerCode[e.code]) return byServerCode[e.code] as ErrorClass;
  if (typeof e.name === 'string' && byName[e.name]) return byName[e.name] as ErrorClass;
  // Anything else (an interrupted cursor, an unexpected server answer) is worth another try later.
  return unavailable;
}

export class MongoSourceError extends FeaturegraphError {
  /** The server's error code, when the server answered one. */
  readonly serverCode: number | undefined;

  constructor(code: ErrorCode, message: string, options: { retriable: boolean; serverCode?: number; cause?: unknown }) {
    super(code, message, { retriable: options.retriable, cause: options.cause });
    this.serverCode = options.serverCode;
  }
}

/** Wraps a driver error; the cause is a scrubbed copy (scrubbedError: driver errors carry topology and connection details). */
export function wrapDriverError(source: string, action: string, error: unknown, secrets: readonly string[]): FeaturegraphError {
  if (error instanceof FeaturegraphError) return error;
  const e = (error ?? {}) as DriverError;
  const cause = scrubbedError(error, secrets);
  const kind = classify(error);
  return new MongoSourceError(kind.code, `mongodb source "${source}": ${action} failed: ${cause.message}`, {
    retriable: kind.retriable,
    ...(typeof e.code === 'number' ? { serverCode: e.code } : {}),
    cause,
  });
}
