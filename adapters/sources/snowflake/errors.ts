// Driver errors as typed featuregraph errors, through a table (STYLE 5), with every secret scrubbed: a
// message or cause that reaches a log or a client never holds a password or a private key.
import { FeaturegraphError, type ErrorCode } from '../../../schema/errors.js';
import { scrubbedError } from '../../common/redact.js';

/** The subset of a snowflake-sdk error this module reads (SnowflakeError in the driver's types). */
interface DriverError {
  name?: unknown;
  code?: unknown;
  sqlState?: unknown;
  message?: unknown;
}

interface ErrorClass {
  code: ErrorCode;
  retriable: boolean;
  /** The session may be gone: drop the connection, the next call logs in again. */
  reconnect: boolean;
}

const unavailable: ErrorClass = { code: 'SOURCE_UNAVAILABLE', retriable: true, reconnect: true };
const badCredentials: ErrorClass = { code: 'SOURCE_UNAVAILABLE', retriable: false, reconnect: true };
const badDefinition: ErrorClass = { code: 'INVALID_CONFIG', retriable: false, reconnect: false };
const busy: ErrorClass = { code: 'SOURCE_UNAVAILABLE', retriable: true, reconnect: false };

/** By the driver's error class name (lib/errors.js). */
const byName: Readonly<Record<string, ErrorClass>> = {
  NetworkError: unavailable,
  RequestFailedError: unavailable,
  LargeResultSetError: unavailable,
  // A proxy or a half-down server answered something that is not Snowflake's JSON.
  UnexpectedContentError: unavailable,
};

/** By Snowflake's numeric error code (as number or string). */
const byCode: Readonly<Record<string, ErrorClass>> = {
  '390100': badCredentials, // incorrect username or password
  '390101': badCredentials, // user not found
  '390144': badCredentials, // JWT token invalid (key-pair authentication)
  '394300': badCredentials, // private key could not be decoded
  '390102': badCredentials, // user locked
  '401004': unavailable, // the session token was refused
  '405503': unavailable, // the driver's connection was terminated
  '390111': unavailable, // session no longer exists
  '390112': unavailable, // session expired
  '390114': unavailable, // authentication token expired
  '000604': unavailable, // statement cancelled
  '000630': unavailable, // statement reached its timeout
  '002002': busy, // fakesnow: the session is running another statement (SQLSTATE 42710, not a definition error)
  '002003': badDefinition, // object does not exist or not authorized
  '000904': badDefinition, // invalid identifier
  '001003': badDefinition, // SQL compilation error: syntax
};

export function classify(error: unknown): ErrorClass {
  const e = (error ?? {}) as DriverError;
  const code = e.code === undefined || e.code === null ? '' : String(e.code);
  const byNumber = byCode[code];
  if (byNumber) return byNumber;
  const byClass = typeof e.name === 'string' ? byName[e.name] : undefined;
  if (byClass) return byClass;
  // SQLSTATE class 42: syntax error or access rule violation, i.e. the definition names something wrong.
  if (typeof e.sqlState === 'string' && e.sqlState.startsWith('42')) return badDefinition;
  // Anything else (a warehouse hiccup, an unexpected server answer) is worth another try later.
  return unavailable;
}

/** A failure of a Snowflake statement or session, for the source and the history store alike. */
export class SnowflakeError extends FeaturegraphError {
  /** The driver's error code, when there is one (e.g. 401001 network error, 002003 object missing). */
  readonly driverCode: string | undefined;

  constructor(code: ErrorCode, message: string, options: { retriable: boolean; driverCode?: string; cause?: unknown }) {
    super(code, message, { retriable: options.retriable, cause: options.cause });
    this.driverCode = options.driverCode;
  }
}

/** The row source's name for it, part of the public API (the history store uses SnowflakeError). */
export { SnowflakeError as SnowflakeSourceError };

/** Wraps a driver error for the row source named `source`. */
export function wrapDriverError(source: string, action: string, error: unknown, secrets: readonly string[]): SnowflakeError {
  return wrapSnowflakeError(`snowflake source "${source}"`, action, error, secrets, 'SOURCE_UNAVAILABLE');
}

/**
 * Wraps a driver error; `subject` starts the message, `unavailable` is the owner's code for "cannot be
 * used now". The cause is a scrubbed copy (scrubbedError), not the driver's object: driver errors can
 * carry HTTP request details.
 */
export function wrapSnowflakeError(subject: string, action: string, error: unknown, secrets: readonly string[], unavailable: ErrorCode): SnowflakeError {
  if (error instanceof SnowflakeError) return error;
  const e = (error ?? {}) as DriverError;
  const cause = scrubbedError(error, secrets);
  const kind = classify(error);
  const driverCode = e.code === undefined || e.code === null ? undefined : String(e.code);
  const code = kind.code === 'SOURCE_UNAVAILABLE' ? unavailable : kind.code;
  return new SnowflakeError(code, `${subject}: ${action} failed: ${cause.message}`, { retriable: kind.retriable, driverCode, cause });
}

export function needsReconnect(error: unknown): boolean {
  if (error instanceof SnowflakeError) return error.code === 'SOURCE_UNAVAILABLE' || error.code === 'HISTORY_STORE_UNAVAILABLE';
  return classify(error).reconnect;
}
