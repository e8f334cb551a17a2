// The gateway's served-feature logger: the serving paths decide once per request whether to log it
// (sampled) and hand over one record per entity answered (offer); the logger writes them to the
// served log's store in the background. Logging must never slow or fail a request: offer() only
// pushes into a bounded buffer (what does not fit is dropped and counted), and the store is written
// by one append at a time, started by a timer or once half the buffer waits, never on the request's
// own turn of the event loop. A failed append drops its records: they are a sample, and retrying
// would hold the buffer full while the store is down.
import type { Counter, Meter } from '@opentelemetry/api';
import { ConfigError, FeaturegraphError } from '../../schema/errors.js';
import { servedLogMetrics, type ServedRecord } from '../../schema/served-log.js';
import { OptionCheck, shown } from '../../adapters/common/options.js';
import { redact } from '../../adapters/common/redact.js';
import { ServedRecordsRefused } from '../../adapters/served-log/errors.js';
import type { ServedLogStore } from '../../adapters/served-log/types.js';

export interface ServedLoggerOptions {
  store: ServedLogStore;
  /** Share of requests logged, 0 to 1; a request whose x-featuregraph-log header is "1" is logged whatever it is. */
  sampleRate: number;
  /** Records waiting to be written, at most; more are dropped and counted. An append starts once half of it waits. */
  bufferRecords: number;
  /** How often what waits is written, at most this long after it came. */
  flushEveryMs: number;
  /** Where the counters go (servedLogMetrics); none without. */
  meter?: Meter | null;
  /** Draws the sample (default Math.random). */
  random?: () => number;
  /** Where failures are told (never with values): once per kind of failure until an append succeeds. */
  log?: (line: string) => void;
  /** How long close() waits for the last appends (default 5 s): a store that hangs must not hold a shutdown. */
  closeWaitMs?: number;
}

/** Why records did not reach the store: the `reason` of the dropped counter. */
type DropReason = 'buffer_full' | 'append_failed' | 'closing';

interface Counters {
  records: Counter;
  dropped: Counter;
  failedAppends: Counter;
}

/** What a failure is, for logging it once: its code, else its error's name. */
const kindOf = (error: unknown): string => (error instanceof FeaturegraphError ? error.code : error instanceof Error ? error.name : typeof error);

/** A store's failure as a log line shows it: no secret, and short (a driver's message may run long). */
function shownFailure(error: unknown): string {
  const text = redact(error instanceof Error ? error.message : String(error));
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

export class ServedLogger {
  readonly store: ServedLogStore;
  readonly sampleRate: number;
  private readonly bufferRecords: number;
  /** An append starts once this many wait. */
  private readonly flushAt: number;
  private readonly random: () => number;
  private readonly log: (line: string) => void;
  private readonly closeWaitMs: number;
  private readonly counters: Counters | null;
  private readonly timer: NodeJS.Timeout;

  private buffer: ServedRecord[] = [];
  /** Records of the append in flight. */
  private writing = 0;
  /** The loop that appends until the buffer is empty; one at a time. */
  private pumping: Promise<void> | null = null;
  /** An append asked for by offer(), to start on the next turn of the event loop. */
  private soon = false;
  /** Kinds of failure logged since the last append that worked; whether the buffer-full drop was told. */
  private readonly failures = new Set<string>();
  private toldFull = false;
  private closing: Promise<void> | null = null;

  constructor(options: ServedLoggerOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError(`served log: options must be an object, got ${shown(options)}`);
    const check = new OptionCheck();
    const store = options.store as Partial<ServedLogStore> | null | undefined;
    if (typeof store !== 'object' || store === null || typeof store.append !== 'function') check.refuse(`served log: store must be a served-log store, got ${shown(options.store)}`);
    if (typeof options.sampleRate !== 'number' || !(options.sampleRate >= 0 && options.sampleRate <= 1)) check.refuse(`served log: sampleRate must be a number from 0 to 1, got ${shown(options.sampleRate)}`);
    this.bufferRecords = check.integerIn('served log: bufferRecords', options.bufferRecords, 1, 10_000_000);
    const flushEveryMs = check.integerIn('served log: flushEveryMs', options.flushEveryMs, 1, 3_600_000);
    this.closeWaitMs = check.integerIn('served log: closeWaitMs', options.closeWaitMs, 0, 3_600_000, 5000);
    if (options.meter !== undefined && options.meter !== null && (typeof options.meter !== 'object' || typeof options.meter.createCounter !== 'function')) check.refuse(`served log: meter must be an OpenTelemetry Meter, got ${shown(options.meter)}`);
    this.random = check.callback('served log: random', options.random, Math.random);
    this.log = check.callback('served log: log', options.log, () => {});
    check.done();
    this.store = options.store;
    this.sampleRate = options.sampleRate;
    this.flushAt = Math.max(1, Math.floor(this.bufferRecords / 2));
    const meter = options.meter ?? null;
    this.counters = meter && {
      records: meter.createCounter(servedLogMetrics.records, { description: 'Served records appended to the served log.' }),
      dropped: meter.createCounter(servedLogMetrics.dropped, { description: 'Served records not logged, by reason: buffer_full (the store is slower than the sample), append_failed, closing.' }),
      failedAppends: meter.createCounter(servedLogMetrics.failedAppends, { description: 'Appends to the served log that failed (their records are dropped).' }),
    };
    this.timer = setInterval(() => {
      if (this.buffer.length > 0 && this.pumping === null) void this.kick();
    }, flushEveryMs);
    // The timer alone must not keep a process alive.
    this.timer.unref();
  }

  /** Whether to log this request: forced by the header value "1", else by the sample rate. */
  sampled(headerValue: string | readonly string[] | undefined): boolean {
    if (this.closing !== null) return false;
    if (headerValue === '1' || (Array.isArray(headerValue) && headerValue.includes('1'))) return true;
    return this.sampleRate > 0 && this.random() < this.sampleRate;
  }

  /** Never blocks, never throws: records past the buffer's room are dropped and counted. */
  offer(records: readonly ServedRecord[]): void {
    try {
      if (!Array.isArray(records)) return;
      const room = this.closing === null ? this.bufferRecords - this.buffer.length : 0;
      const taken = Math.min(room, records.length);
      for (let i = 0; i < taken; i++) this.buffer.push(records[i] as ServedRecord);
      if (taken < records.length) this.drop(records.length - taken, this.closing === null ? 'buffer_full' : 'closing');
      if (this.buffer.length >= this.flushAt && this.pumping === null && !this.soon) {
        this.soon = true;
        // After the request's response is on its way.
        setImmediate(() => {
          this.soon = false;
          void this.kick();
        });
      }
    } catch {
      // A request never fails for its log.
    }
  }

  /** Writes what is buffered (one append at a time); resolves once the buffer is empty and no append is in flight. */
  async flush(): Promise<void> {
    while (this.buffer.length > 0 || this.pumping !== null) await this.kick();
  }

  /** Flushes (waiting closeWaitMs at most), then stops the timer; records offered later are dropped. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      let wait: NodeJS.Timeout | undefined;
      const flushed = await Promise.race([this.flush().then(() => true), new Promise<boolean>((resolve) => (wait = setTimeout(() => resolve(false), this.closeWaitMs)))]);
      clearTimeout(wait);
      clearInterval(this.timer);
      if (!flushed) {
        const left = this.buffer.length + this.writing;
        this.buffer = [];
        this.drop(left, 'closing');
        this.log(`served log: closed with ${left} records not written: the ${this.store.name} store did not finish its appends within ${this.closeWaitMs} ms`);
      }
    })();
    return this.closing;
  }

  private kick(): Promise<void> {
    this.pumping ??= this.pump().finally(() => {
      this.pumping = null;
    });
    return this.pumping;
  }

  private async pump(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer;
      this.buffer = [];
      this.writing = batch.length;
      await this.write(batch);
      this.writing = 0;
    }
    this.toldFull = false;
  }

  /** One append; its failure is counted and told, its records dropped. */
  private async write(batch: ServedRecord[]): Promise<void> {
    try {
      await this.store.append(batch);
      this.counters?.records.add(batch.length);
      if (this.failures.size > 0) {
        this.failures.clear();
        this.log(`served log: appends to the ${this.store.name} store work again`);
      }
    } catch (error) {
      const appended = error instanceof ServedRecordsRefused ? error.appended : 0;
      if (appended > 0) this.counters?.records.add(appended);
      this.counters?.failedAppends.add(1);
      this.drop(batch.length - appended, 'append_failed');
      const kind = kindOf(error);
      if (!this.failures.has(kind)) {
        this.failures.add(kind);
        this.log(`served log: an append of ${batch.length} records to the ${this.store.name} store failed (${kind}): ${shownFailure(error)}; its records are dropped (told once per kind of failure until an append works)`);
      }
    }
  }

  private drop(n: number, reason: DropReason): void {
    if (n <= 0) return;
    this.counters?.dropped.add(n, { reason });
    if (reason === 'buffer_full' && !this.toldFull) {
      this.toldFull = true;
      this.log(`served log: the buffer of ${this.bufferRecords} records is full (the ${this.store.name} store is slower than the sample); records are dropped and counted until it empties`);
    }
  }
}
