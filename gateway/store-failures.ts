// Apollo's half of reporting store failures once per field path (resolvers/store-failures.ts): the
// failures resolvers met, and those graphql-js reported one by one, join the response as one error
// per field path with its count, after the other errors. The fast path writes the same errors itself.
import type { ApolloServerPlugin } from '@apollo/server';
import { StoreFailures, type RequestContext } from '../resolvers/index.js';

export const storeFailuresPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart({ contextValue }) {
    // Apollo gives each operation of a batch a shallow copy of one context: each needs its own tally.
    contextValue.storeFailures = new StoreFailures();
    return {
      async willSendResponse({ response, contextValue: context }) {
        if (response.body.kind !== 'single') return;
        const result = response.body.singleResult;
        const others = result.errors ? context.storeFailures.absorb(result.errors) : undefined;
        if (context.storeFailures.size === 0) return;
        result.errors = [...(others ?? []), ...context.storeFailures.format()];
      },
    };
  },
};
