import { MemoryHistoryStore } from '../../adapters/history/memory.js';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded.js';
import { historyStoreConformance } from './history-store.js';

historyStoreConformance('memory', async () => {
  const store = new MemoryHistoryStore();
  return { store, teardown: () => store.close() };
});

historyStoreConformance('embedded (DuckDB)', async () => {
  const store = await EmbeddedHistoryStore.open(':memory:');
  return { store, teardown: () => store.close() };
});
