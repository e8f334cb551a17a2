// The checkpoint-store conformance suite against the stores that need no server: memory, the embedded
// history store on a file, and a client of a shared embedded file (every call through the owner).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryCheckpointStore } from '../../adapters/checkpoints/index.js';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';
import { SharedEmbeddedHistoryStore } from '../../adapters/history/embedded/shared.js';
import { checkpointStoreConformance } from './checkpoint-store.js';

checkpointStoreConformance('memory', async () => ({ store: new MemoryCheckpointStore(), reopen: null, teardown: async () => {} }));

checkpointStoreConformance('embedded history store (DuckDB file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-checkpoint-conformance-'));
  const file = join(dir, 'history.duckdb');
  let store = await EmbeddedHistoryStore.open(file);
  return {
    store,
    async reopen() {
      await store.close();
      store = await EmbeddedHistoryStore.open(file);
      return store;
    },
    async teardown() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

checkpointStoreConformance('embedded, shared (a client, through the owner)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-checkpoint-conformance-shared-'));
  const file = join(dir, 'history.duckdb');
  let owner = await SharedEmbeddedHistoryStore.open(file);
  let client = await SharedEmbeddedHistoryStore.open(file);
  if (!owner.owner || client.owner) throw new Error('the first store should own the file and the second be its client');
  return {
    store: client,
    // Both processes stop; the one started again owns the file.
    async reopen() {
      await client.close();
      await owner.close();
      owner = await SharedEmbeddedHistoryStore.open(file);
      client = owner;
      return owner;
    },
    async teardown() {
      await client.close();
      await owner.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
