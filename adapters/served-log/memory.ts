// The served log in this process's memory: for a gateway whose monitor runs in the same process
// (`serve --monitor`, the demo) and for tests. Bounded: past maxRecords, the oldest appended go first.
import { ConfigError } from '../../schema/errors.js';
import type { ServedRecord } from '../../schema/served-log.js';
import { OptionCheck, shown } from '../common/options.js';
import { checkServedLogRange, inServedOrder, servedBatchSize } from './range.js';
import type { ServedLogRange, ServedLogStore } from './types.js';

export interface MemoryServedLogOptions {
  /** Records kept at most (default 100,000); the oldest appended are dropped first, and their ids forgotten. */
  maxRecords?: number;
}

export class MemoryServedLogStore implements ServedLogStore {
  readonly name = 'memory';
  private readonly maxRecords: number;
  /** In append order. Records are kept as given: the logger hands over records nothing changes after. */
  private records: ServedRecord[] = [];
  private readonly ids = new Set<string>();

  constructor(options: MemoryServedLogOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new ConfigError(`memory served log: options must be an object, got ${shown(options)}`);
    const check = new OptionCheck();
    this.maxRecords = check.integerIn('memory served log: maxRecords', options.maxRecords, 1, 100_000_000, 100_000);
    check.done();
  }

  async append(records: readonly ServedRecord[]): Promise<void> {
    for (const record of records) {
      if (this.ids.has(record.id)) continue;
      this.ids.add(record.id);
      this.records.push(record);
    }
    const over = this.records.length - this.maxRecords;
    if (over > 0) {
      for (const record of this.records.slice(0, over)) this.ids.delete(record.id);
      this.records = this.records.slice(over);
    }
  }

  async *read(range: ServedLogRange): AsyncIterable<ServedRecord[]> {
    checkServedLogRange(this.name, range);
    const found = this.records.filter((r) => r.at >= range.from && r.at < range.to && (range.entity === undefined || r.entity === range.entity)).sort(inServedOrder);
    for (let i = 0; i < found.length; i += servedBatchSize) yield found.slice(i, i + servedBatchSize);
  }

  async close(): Promise<void> {
    this.records = [];
    this.ids.clear();
  }
}
