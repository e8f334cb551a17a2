// Chooses the online store implementation by its config `type`; each lives in its own folder.
import type { OnlineStore } from './types.js';
import { MemoryOnlineStore } from './memory/index.js';

export type OnlineStoreConfig = { type: 'memory' };

export async function createOnlineStore(config: OnlineStoreConfig): Promise<OnlineStore> {
  switch (config.type) {
    case 'memory':
      return new MemoryOnlineStore();
    default: {
      const unreachable: never = config.type;
      throw new Error(`unknown online store type ${JSON.stringify(unreachable)}`);
    }
  }
}

export type { OnlineStore, OnlineKey, StoredValue, ValueWrite, TileWrite, TileCellWrite, TileWriteOutcome } from './types.js';
export { MemoryOnlineStore } from './memory/index.js';
