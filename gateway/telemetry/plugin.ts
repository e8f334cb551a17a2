// Apollo's half of the operation's telemetry (the fast path's half is in resolvers/plan/execute.ts):
// each operation Apollo runs goes on with the operation the fast path handed over, or starts its own,
// is named once Apollo has resolved it, and is finished with the response, its first error's code
// marking it failed. Apollo gives each operation of a batch its own copy of the context, so the
// resolvers of each count on their own operation.
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestContext } from '../../resolvers/index.js';

export const telemetryPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart({ contextValue }) {
    const request = contextValue.telemetry;
    if (!request) return;
    const operation = request.takeOperation();
    contextValue.operation = operation;
    return {
      async didResolveOperation({ operation: node }) {
        if (node) operation.identify(node.operation, node.name?.value ?? null);
      },
      async willSendResponse({ response }) {
        const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
        if (errors && errors.length > 0) {
          const code = errors[0]?.extensions?.code;
          operation.failed(typeof code === 'string' ? code : 'GRAPHQL_ERROR');
        }
        operation.finish('apollo');
      },
    };
  },
};
