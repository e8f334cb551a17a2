// Checkpoint stores: where materializers keep watermarks, resume tokens and backfill progress, so a
// restart continues where the last run stopped. Memory for the demo and unit tests; Redis otherwise.
import { Redis } from 'ioredis';
import type { CheckpointStore } from '../sources/types.js';
import { OptionCheck } from '../common/options.js';

export class MemoryCheckpointStore implements CheckpointStore {
  private readonly values = new Map<string, string>();

  async get(name: string): Promise<string | null> {
    return this.values.get(name) ?? null;
  }

  async set(name: string, value: string): Promise<void> {
    this.values.set(name, value);
  }
}

export class RedisCheckpointStore implements CheckpointStore {
  private readonly client: Redis;

  private readonly prefix: string;

  constructor(url: string, prefix = 'fg:checkpoint:') {
    const check = new OptionCheck();
    check.connectionString('redis checkpoint store: url', url, ['redis', 'rediss']);
    this.prefix = check.nonEmptyString('redis checkpoint store: prefix', prefix);
    check.done();
    this.client = new Redis(url, { maxRetriesPerRequest: 3, protocol: 2, disableClientInfo: true });
    this.client.on('error', () => {});
  }

  async get(name: string): Promise<string | null> {
    return this.client.get(`${this.prefix}${name}`);
  }

  async set(name: string, value: string): Promise<void> {
    await this.client.set(`${this.prefix}${name}`, value);
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
