// The served-log logger: sampling by rate and header, a bounded buffer that never blocks nor throws,
// one append at a time (started by half a buffer or the timer), failures counted and told without
// values, close() flushing. The store is controlled by the test: each append waits for the test to
// settle it, so nothing depends on how fast the machine is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { ServedLogger, type ServedLoggerOptions } from '../../../../gateway/served-log/logger.js';
import { FeaturegraphError } from '../../../../schema/errors.js';
import { servedLogMetrics, type ServedRecord } from '../../../../schema/served-log.js';
import type { ServedLogStore } from '../../../../adapters/served-log/types.js';
import { ServedRecordsRefused } from '../../../../adapters/served-log/errors.js';

class Reader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** A meter of its own, and the sum of a counter's points by their `reason` (or '' without one). */
function testMeter() {
  const reader = new Reader();
  const meter = new MeterProvider({ readers: [reader] }).getMeter('served-log-test');
  return {
    meter,
    async counts(name: string): Promise<Record<string, number>> {
      const { resourceMetrics } = await reader.collect();
      const metric = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((m: MetricData) => m.descriptor.name === name);
      const out: Record<string, number> = {};
      for (const point of metric?.dataPoints ?? []) {
        const reason = String(point.attributes.reason ?? '');
        out[reason] = (out[reason] ?? 0) + (point.value as number);
      }
      return out;
    },
  };
}

interface Call {
  records: readonly ServedRecord[];
  ok(): void;
  fail(error: unknown): void;
}

/** A store whose appends wait for the test: `next()` gives the next call once it is made. */
class ControlledStore implements ServedLogStore {
  readonly name = 'controlled';
  readonly calls: Call[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private waiting: ((call: Call) => void)[] = [];
  private seen = 0;

  append(records: readonly ServedRecord[]): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<void>((resolve, reject) => {
      const done = () => this.inFlight--;
      const call: Call = { records: [...records], ok: () => (done(), resolve()), fail: (error) => (done(), reject(error)) };
      this.calls.push(call);
      this.waiting.shift()?.(call);
    });
  }

  /** The next append not handed out yet (made already, or once made). */
  next(): Promise<Call> {
    const made = this.calls[this.seen++];
    return made === undefined ? new Promise((resolve) => this.waiting.push(resolve)) : Promise.resolve(made);
  }

  async *read(): AsyncIterable<ServedRecord[]> {}
  async close(): Promise<void> {}
}

const record = (n: number, value: unknown = n): ServedRecord => ({ id: `req:${n}`, at: 1000 + n, entity: 'Restaurant', key: `r${n}`, segments: { city: 'Berlin' }, features: { ordersLast30m: { value: value as number, status: 'PRESENT' } }, inputs: {} });
const records = (from: number, n: number) => Array.from({ length: n }, (_, i) => record(from + i));
/** Lets setImmediate callbacks (the append offer() asks for) and the promises after them run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function logger(store: ServedLogStore, options: Partial<ServedLoggerOptions> = {}) {
  const lines: string[] = [];
  const meter = testMeter();
  const made = new ServedLogger({ store, sampleRate: 0.02, bufferRecords: 10, flushEveryMs: 3_600_000, meter: meter.meter, log: (line) => lines.push(line), ...options });
  return { logger: made, lines, counts: meter.counts };
}

test('sampled: the header value "1" forces a request in; otherwise the rate decides, by the injected random', () => {
  const draws = [0.01, 0.03, 0.0199, 0.02];
  const { logger: sampling } = logger(new ControlledStore(), { random: () => draws.shift() ?? 1 });
  assert.deepEqual([sampling.sampled(undefined), sampling.sampled(undefined), sampling.sampled('0'), sampling.sampled('true')], [true, false, true, false]);
  assert.equal(sampling.sampled('1'), true);
  assert.equal(sampling.sampled(['2', '1']), true);
  const { logger: none } = logger(new ControlledStore(), { sampleRate: 0, random: () => 0 });
  assert.deepEqual([none.sampled(undefined), none.sampled('1')], [false, true]);
  const { logger: all } = logger(new ControlledStore(), { sampleRate: 1, random: () => 0.999999 });
  assert.equal(all.sampled(undefined), true);
});

test('half a buffer waiting starts an append, on a later turn of the event loop than offer()', async () => {
  const store = new ControlledStore();
  const { logger: log, counts } = logger(store, { bufferRecords: 10 });
  log.offer(records(0, 4));
  await turn();
  assert.equal(store.calls.length, 0, 'four of ten wait: no append yet');
  log.offer(records(4, 1));
  assert.equal(store.calls.length, 0, 'offer() itself never appends');
  const call = await store.next();
  assert.deepEqual(call.records.map((r) => r.id), ['req:0', 'req:1', 'req:2', 'req:3', 'req:4']);
  call.ok();
  await log.flush();
  assert.deepEqual(await counts(servedLogMetrics.records), { '': 5 });
  await log.close();
});

test('the timer writes what waits, below half a buffer too', async () => {
  const store = new ControlledStore();
  const { logger: log } = logger(store, { bufferRecords: 100, flushEveryMs: 5 });
  // The logger's timer is unref'd (it keeps no process alive): this one keeps the test's alive meanwhile.
  const alive = setInterval(() => {}, 1000);
  log.offer([record(1)]);
  const call = await store.next();
  clearInterval(alive);
  assert.deepEqual(call.records.map((r) => r.id), ['req:1']);
  call.ok();
  await log.close();
});

test('a store that hangs: offer() never blocks, the buffer stays bounded, the rest is dropped and counted', async () => {
  const store = new ControlledStore();
  const { logger: log, lines, counts } = logger(store, { bufferRecords: 4 });
  log.offer(records(0, 3));
  const first = await store.next();
  assert.equal(first.records.length, 3);
  // The store hangs on the first append: four more fit, the rest is dropped.
  for (let i = 0; i < 5; i++) log.offer(records(10 + i * 2, 2));
  assert.deepEqual(await counts(servedLogMetrics.dropped), { buffer_full: 6 });
  assert.equal(store.calls.length, 1, 'one append in flight at a time');
  assert.deepEqual(lines, ['served log: the buffer of 4 records is full (the controlled store is slower than the sample); records are dropped and counted until it empties']);
  first.ok();
  const second = await store.next();
  assert.deepEqual(second.records.map((r) => r.id), ['req:10', 'req:11', 'req:12', 'req:13']);
  second.ok();
  await log.flush();
  assert.deepEqual(await counts(servedLogMetrics.records), { '': 7 });
  assert.equal(store.maxInFlight, 1);
  await log.close();
});

test('offer() never throws, whatever it is given', () => {
  const { logger: log } = logger(new ControlledStore());
  assert.doesNotThrow(() => log.offer(null as unknown as ServedRecord[]));
  assert.doesNotThrow(() => log.offer({ length: 3 } as unknown as ServedRecord[]));
  void log.close();
});

test('a failed append is counted, its records dropped, told once per kind of failure without values or secrets', async () => {
  const store = new ControlledStore();
  const { logger: log, lines, counts } = logger(store, { bufferRecords: 2 });
  const secretValue = 'VALUE-5ecret-17';
  const kinds: unknown[] = [
    new FeaturegraphError('SOURCE_UNAVAILABLE', 'kafka: broker redis://svc:hunter2@10.0.0.1:6379 is down', { retriable: true }),
    new FeaturegraphError('SOURCE_UNAVAILABLE', 'kafka: still down'),
    new TypeError('the store broke'),
  ];
  for (const error of kinds) {
    log.offer([record(1, secretValue), record(2, secretValue)]);
    (await store.next()).fail(error);
    await log.flush();
  }
  log.offer([record(3), record(4)]);
  (await store.next()).ok();
  await log.flush();
  assert.deepEqual(await counts(servedLogMetrics.failedAppends), { '': 3 });
  assert.deepEqual(await counts(servedLogMetrics.dropped), { append_failed: 6 });
  assert.deepEqual(await counts(servedLogMetrics.records), { '': 2 });
  assert.deepEqual(lines, [
    'served log: an append of 2 records to the controlled store failed (SOURCE_UNAVAILABLE): kafka: broker redis://svc:***@10.0.0.1:6379 is down; its records are dropped (told once per kind of failure until an append works)',
    'served log: an append of 2 records to the controlled store failed (TypeError): the store broke; its records are dropped (told once per kind of failure until an append works)',
    'served log: appends to the controlled store work again',
  ]);
  assert.ok(lines.every((line) => !line.includes(secretValue) && !line.includes('hunter2')));
  await log.close();
});

test('an append that kept some records counts those as appended and the refused as dropped', async () => {
  const store = new ControlledStore();
  const { logger: log, counts } = logger(store, { bufferRecords: 6 });
  log.offer(records(0, 3));
  (await store.next()).fail(new ServedRecordsRefused('kafka served log: 1 of 3 records are larger than ...', 2, 1));
  await log.flush();
  assert.deepEqual(await counts(servedLogMetrics.records), { '': 2 });
  assert.deepEqual(await counts(servedLogMetrics.dropped), { append_failed: 1 });
  assert.deepEqual(await counts(servedLogMetrics.failedAppends), { '': 1 });
  await log.close();
});

test('close() writes what waits, then samples nothing and drops what comes', async () => {
  const store = new ControlledStore();
  const { logger: log, counts } = logger(store, { bufferRecords: 100 });
  log.offer(records(0, 3));
  const closed = log.close();
  const call = await store.next();
  assert.equal(call.records.length, 3);
  call.ok();
  await closed;
  assert.equal(log.sampled('1'), false);
  log.offer([record(9)]);
  assert.deepEqual(await counts(servedLogMetrics.dropped), { closing: 1 });
  assert.equal(store.calls.length, 1);
});

test('close() gives up on a store that hangs after closeWaitMs, counting what it could not write', async () => {
  const store = new ControlledStore();
  const { logger: log, lines, counts } = logger(store, { bufferRecords: 4, closeWaitMs: 1 });
  log.offer(records(0, 2));
  await store.next();
  log.offer(records(2, 3));
  await log.close();
  assert.deepEqual(await counts(servedLogMetrics.dropped), { closing: 5 });
  assert.equal(lines.at(-1), 'served log: closed with 5 records not written: the controlled store did not finish its appends within 1 ms');
});

test('bad options are refused together, each named', () => {
  assert.throws(
    () => new ServedLogger({ store: {} as ServedLogStore, sampleRate: 2, bufferRecords: 0, flushEveryMs: 'often' as unknown as number }),
    (error: Error) => {
      assert.equal(
        error.message,
        [
          '4 problems in the options:',
          '  - served log: store must be a served-log store, got {}',
          '  - served log: sampleRate must be a number from 0 to 1, got 2',
          '  - served log: bufferRecords must be an integer from 1 to 10000000, got 0',
          '  - served log: flushEveryMs must be an integer from 1 to 3600000, got "often"',
        ].join('\n'),
      );
      return true;
    },
  );
});
