// The served-log conformance suite on the embedded history file: through the store that opened it,
// and through a client of a shared file, whose calls cross the owner's socket.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedHistoryStore } from '../../adapters/history/embedded/index.js';
import { SharedEmbeddedHistoryStore } from '../../adapters/history/embedded/shared.js';
import { EmbeddedServedLogStore } from '../../adapters/served-log/embedded.js';
import { servedLogStoreConformance } from './served-log-store.js';

servedLogStoreConformance('embedded (DuckDB)', async () => {
  const history = await EmbeddedHistoryStore.open(':memory:');
  const store = new EmbeddedServedLogStore(history);
  return {
    store,
    async teardown() {
      await store.close();
      await history.close();
    },
  };
});

servedLogStoreConformance('embedded, shared (a client, through the owner)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-served-log-conformance-'));
  const owner = await SharedEmbeddedHistoryStore.open(join(dir, 'history.duckdb'));
  const client = await SharedEmbeddedHistoryStore.open(join(dir, 'history.duckdb'));
  if (!owner.owner || client.owner) throw new Error('the first store should own the file and the second be its client');
  const store = new EmbeddedServedLogStore(client);
  return {
    store,
    async teardown() {
      await store.close();
      await client.close();
      await owner.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
