// Where featuregraph errors become GraphQL errors: the code reaches clients in `extensions`, and
// nothing from a backend's message (hosts, credentials) leaks past the error's own message.
import { GraphQLError } from 'graphql';
import { FeaturegraphError, type ErrorCode } from '../schema/errors.js';

export function graphqlError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export function toGraphqlError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  if (error instanceof FeaturegraphError) return new GraphQLError(error.message, { originalError: error, extensions: { code: error.code, retriable: error.retriable } });
  return new GraphQLError('internal error', { originalError: error instanceof Error ? error : undefined, extensions: { code: 'INTERNAL' } });
}
