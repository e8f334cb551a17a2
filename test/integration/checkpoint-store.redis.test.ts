// The checkpoint-store conformance suite on Redis (test/services): a key prefix of its own per test,
// its keys removed after.
import { Redis } from 'ioredis';
import { RedisCheckpointStore } from '../../adapters/checkpoints/index.js';
import { checkpointStoreConformance } from '../conformance/checkpoint-store.js';
import { requireEndpoint } from '../services/endpoints.js';

let runs = 0;

checkpointStoreConformance('redis', async () => {
  const { url } = requireEndpoint('redis');
  const prefix = `fg-test:checkpoint-conformance:${process.pid}:${++runs}:`;
  let store = new RedisCheckpointStore(url, prefix);
  return {
    store,
    async reopen() {
      await store.close();
      store = new RedisCheckpointStore(url, prefix);
      return store;
    },
    async teardown() {
      await store.close();
      const admin = new Redis(url, { protocol: 2, disableClientInfo: true });
      try {
        const keys = await admin.keys(`${prefix}*`);
        if (keys.length > 0) await admin.del(...keys);
      } finally {
        admin.disconnect();
      }
    },
  };
});
