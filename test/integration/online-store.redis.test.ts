// The online-store conformance suite on Redis standalone and on a 3-master Redis Cluster.
import { RedisOnlineStore } from '../../adapters/online/redis/index.js';
import { onlineStoreConformance } from '../conformance/online-store.js';
import { requireEndpoint } from '../services/endpoints.js';

// Read timeouts far above the production default (75 ms): the suite pins what the stores answer, and
// a Redis that a busy machine schedules late must not turn an answer into a timeout here.
onlineStoreConformance('redis standalone', async () => {
  const store = new RedisOnlineStore({ mode: 'standalone', url: requireEndpoint('redis').url, keyPrefix: `conf:${process.pid}:`, commandTimeoutMs: 2000 });
  await store.connect();
  return { store, teardown: () => store.close() };
});

onlineStoreConformance('redis cluster', async () => {
  const store = new RedisOnlineStore({ mode: 'cluster', nodes: requireEndpoint('redis-cluster').nodes, keyPrefix: `conf:${process.pid}:`, commandTimeoutMs: 2000 });
  await store.connect();
  return { store, teardown: () => store.close() };
});
