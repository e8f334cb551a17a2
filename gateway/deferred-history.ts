// A history store that `serve` could not open at start because its server was not reachable yet: the
// gateway serves online reads meanwhile, and every asOf read or training set answers
// HISTORY_STORE_UNAVAILABLE naming why, while the store is opened again in the background with jittered
// backoff. Once it opens, calls go to it. A failure no wait mends (credentials refused when the server
// comes back) stops the retries; the health report says so.
import { FeaturegraphError } from '../schema/errors.js';
import { WaitAborted } from '../schema/backoff.js';
import type { HistoryRecord, HistoryScan, HistoryStore, PointInTimeQuery, PointInTimeRow, ViewWatermark } from '../adapters/history/types.js';
import type { FeatureRead } from '../schema/snapshot.js';
import type { ServedRecord } from '../schema/served-log.js';
import type { ServedCursor, ServedPage } from '../adapters/history/embedded/served-log.js';
import { isServedLogHost, type ServedLogHost } from '../adapters/served-log/embedded.js';
import type { ServedLogRange } from '../adapters/served-log/types.js';

type State = { kind: 'opening'; cause: string } | { kind: 'open'; store: HistoryStore } | { kind: 'failed'; cause: string } | { kind: 'closed' };

export class DeferredHistoryStore implements HistoryStore {
  private state: State;
  private readonly controller = new AbortController();
  private readonly opening: Promise<void>;

  /**
   * @param open opens the store, waiting out retriable failures until `signal` aborts (openHistoryWaiting)
   * @param firstCause why the first attempt failed
   */
  constructor(
    readonly name: string,
    open: (signal: AbortSignal) => Promise<HistoryStore>,
    firstCause: string,
    private readonly onOutcome: (outcome: { kind: 'open' } | { kind: 'failed'; cause: string }) => void = () => {},
  ) {
    this.state = { kind: 'opening', cause: firstCause };
    this.opening = open(this.controller.signal).then(
      async (store) => {
        if (this.state.kind === 'closed') return store.close();
        this.state = { kind: 'open', store };
        this.onOutcome({ kind: 'open' });
      },
      (error: unknown) => {
        if (error instanceof WaitAborted || this.state.kind === 'closed') return;
        const cause = error instanceof Error ? error.message : String(error);
        this.state = { kind: 'failed', cause };
        this.onOutcome({ kind: 'failed', cause });
      },
    );
  }

  /** Notes why the latest attempt failed (for the next call's error). */
  retrying(cause: string): void {
    if (this.state.kind === 'opening') this.state = { kind: 'opening', cause };
  }

  private get store(): HistoryStore {
    switch (this.state.kind) {
      case 'open':
        return this.state.store;
      case 'opening':
        throw new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', `history store ${this.name} is not open yet (retrying with backoff): ${this.state.cause}`, { retriable: true });
      case 'failed':
        throw new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', `history store ${this.name} could not be opened: ${this.state.cause}`);
      case 'closed':
        throw new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', `history store ${this.name} is closed`);
      default: {
        const unreachable: never = this.state;
        throw new Error(`unknown state ${JSON.stringify(unreachable)}`);
      }
    }
  }

  async readAsOf(query: PointInTimeQuery, rows: readonly PointInTimeRow[]): Promise<FeatureRead[][]> {
    return this.store.readAsOf(query, rows);
  }

  async append(records: readonly HistoryRecord[]): Promise<void> {
    return this.store.append(records);
  }

  async appendWatermarks(changes: readonly ViewWatermark[]): Promise<void> {
    return this.store.appendWatermarks(changes);
  }

  async *scan(scan: HistoryScan): AsyncIterable<HistoryRecord[]> {
    yield* this.store.scan(scan);
  }

  /** The opened store's export, once it is open and has one: a caller checks its presence to push a training set down. */
  get exportTrainingSet(): HistoryStore['exportTrainingSet'] {
    const opened = this.state.kind === 'open' ? this.state.store : null;
    return opened?.exportTrainingSet ? opened.exportTrainingSet.bind(opened) : undefined;
  }

  async count(view: string): Promise<number> {
    return this.store.count(view);
  }

  /** The served log of an embedded file (adapters/served-log/embedded.ts), once the store is open. */
  async appendServed(records: readonly ServedRecord[]): Promise<void> {
    return this.servedLogHost().appendServed(records);
  }

  async servedPage(range: ServedLogRange, after: ServedCursor | null): Promise<ServedPage> {
    return this.servedLogHost().servedPage(range, after);
  }

  private servedLogHost(): ServedLogHost {
    const store = this.store;
    if (!isServedLogHost(store)) throw new FeaturegraphError('UNSUPPORTED_CAPABILITY', `history store ${this.name} keeps no served log`);
    return store;
  }

  /** Rejects with the bare cause while opening, so that a health probe and the retries report the same words. */
  async ping(): Promise<void> {
    if (this.state.kind === 'opening' || this.state.kind === 'failed') throw new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', this.state.cause, { retriable: this.state.kind === 'opening' });
    await this.store.ping?.();
  }

  async close(): Promise<void> {
    const state = this.state;
    this.state = { kind: 'closed' };
    this.controller.abort();
    await this.opening;
    if (state.kind === 'open') await state.store.close();
  }
}
