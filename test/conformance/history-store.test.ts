import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryHistoryStore } from '../../adapters/history/memory/index.js';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';
import { SharedEmbeddedHistoryStore } from '../../adapters/history/embedded/shared.js';
import { historyStoreConformance } from './history-store.js';

historyStoreConformance('memory', async () => {
  const store = new MemoryHistoryStore();
  return { store, teardown: () => store.close() };
}, { exportsTrainingSets: false });

historyStoreConformance('embedded (DuckDB)', async () => {
  const store = await EmbeddedHistoryStore.open(':memory:');
  return { store, teardown: () => store.close() };
}, { exportsTrainingSets: true });

// A client of a shared file: every call crosses the owner's socket (views as descriptors, values and
// errors as v8 frames), and must answer exactly as the store itself.
historyStoreConformance('embedded, shared (a client, through the owner)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-shared-conformance-'));
  const owner = await SharedEmbeddedHistoryStore.open(join(dir, 'history.duckdb'));
  const client = await SharedEmbeddedHistoryStore.open(join(dir, 'history.duckdb'));
  if (!owner.owner || client.owner) throw new Error('the first store should own the file and the second be its client');
  return {
    store: client,
    async teardown() {
      await client.close();
      await owner.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}, { exportsTrainingSets: true });
