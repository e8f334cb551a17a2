import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import { onlineStoreConformance } from './online-store.js';

onlineStoreConformance('memory', async () => {
  const store = new MemoryOnlineStore();
  return { store, teardown: () => store.close() };
});
