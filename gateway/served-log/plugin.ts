// Apollo's half of the served-feature log (the fast path's half is in resolvers/plan/served.ts): each
// operation of a sampled request gathers its own records (Apollo gives each operation of a batch its
// own copy of the context), offered once its response is ready.
import type { ApolloServerPlugin } from '@apollo/server';
import { ServedOperation, type RequestContext } from '../../resolvers/index.js';

export const servedLogPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart({ contextValue }) {
    const sink = contextValue.servedLog;
    if (!sink) return;
    const served = new ServedOperation(sink, contextValue.now);
    contextValue.served = served;
    return {
      async willSendResponse() {
        await served.offer();
      },
    };
  },
};
