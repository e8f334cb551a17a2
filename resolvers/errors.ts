// What a GraphQL client sees of a failure: a featuregraph error's own message, with its code (and whether
// retrying may help) in `extensions`; anything else masked, since a backend's message may name hosts or
// credentials. Both serving paths show errors through clientView: the gateway's formatError and the
// store failures collapsed per field path (store-failures.ts).
import { GraphQLError } from 'graphql';
import { FeaturegraphError, type ErrorCode } from '../schema/errors.js';

/** A refusal a resolver makes itself, with extra extensions (a limit, the instants compared). */
export function graphqlError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

/** What a client may see of `error`: a coded error's message and code; for anything else, "internal error". */
export function clientView(error: unknown): { message: string; extensions: Record<string, unknown> } {
  if (error instanceof FeaturegraphError) return { message: error.message, extensions: { code: error.code, retriable: error.retriable } };
  return { message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
