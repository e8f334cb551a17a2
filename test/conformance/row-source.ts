// The row-source conformance suite: every implementation (Snowflake table, MongoDB collection, ...) runs
// these same assertions through a creator that gives it an empty table or collection of its own, a
// source reading it, and ways to change the data behind the source's back.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { RowReadOptions, RowSource, SourceRow } from '../../adapters/sources/types.js';

/** The columns (fields) every harness stores besides the key and the event time. */
export const scalarColumns = ['int_v', 'float_v', 'str_v', 'bool_v', 'null_v'] as const;
/** List columns, for stores that have them. */
export const listColumns = ['floats', 'strings'] as const;

export interface TestValues {
  int_v: number | null;
  float_v: number | null;
  str_v: string | null;
  bool_v: boolean | null;
  null_v: null;
  floats?: number[] | null;
  strings?: string[] | null;
}

export interface TestRow {
  key: string;
  /** Epoch ms, whole milliseconds. */
  eventTime: number;
  values: TestValues;
}

export interface RowSourceHarness {
  /** A source over the harness's table or collection, with its default batch size. */
  source: RowSource;
  /** Adds rows: new table rows, new documents (a key may appear in several). */
  insert(rows: readonly TestRow[]): Promise<void>;
  /** Replaces every row (document) of each row's key by this newer version. */
  update(rows: readonly TestRow[]): Promise<void>;
  /** Removes every row of these keys, where the store lets the test do it. */
  delete?(keys: readonly string[]): Promise<void>;
  /** A new source over the same data, as a restarted process would build it. The suite closes it. */
  reopen(): Promise<RowSource>;
  teardown(): Promise<void>;
}

export interface RowSourceCapabilities {
  /** The store keeps lists (ARRAY columns, array fields) and the source reads them back as arrays. */
  lists: boolean;
}

const base = Date.UTC(2026, 0, 1);
const farFuture = Date.UTC(2100, 0, 1);

function values(i: number): TestValues {
  return { int_v: i, float_v: i + 0.5, str_v: `s${i}`, bool_v: i % 2 === 0, null_v: null };
}

function row(key: string, eventTime: number, i = 0): TestRow {
  return { key, eventTime, values: values(i) };
}

/** Shuffled deterministically, so that insertion order never matches event-time order. */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  let seed = 7;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function readAll(source: RowSource, options: RowReadOptions): Promise<{ rows: SourceRow[]; batches: number[] }> {
  const rows: SourceRow[] = [];
  const batches: number[] = [];
  for await (const batch of source.read(options)) {
    batches.push(batch.length);
    rows.push(...batch);
  }
  return { rows, batches };
}

async function listAll(source: RowSource): Promise<string[]> {
  assert.ok(source.listKeys, `${source.name} lists its keys`);
  const keys: string[] = [];
  for await (const batch of source.listKeys()) keys.push(...batch);
  return keys;
}

/** What a read must return for these rows and columns. */
function expected(rows: readonly TestRow[], columns: readonly string[]): SourceRow[] {
  return [...rows]
    .sort((a, b) => a.eventTime - b.eventTime || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((r) => ({ key: r.key, eventTime: r.eventTime, values: Object.fromEntries(columns.map((c) => [c, (r.values as unknown as Record<string, unknown>)[c] ?? null])) }));
}

/** Rows as compared: key, eventTime, values; a `deleted` flag must not be set on a polled row. */
function plain(rows: readonly SourceRow[]): SourceRow[] {
  return rows.map((r) => {
    assert.notEqual(r.deleted, true, `row ${r.key} of a polling read is not a deletion`);
    return { key: r.key, eventTime: r.eventTime, values: r.values };
  });
}

function assertOrdered(rows: readonly SourceRow[]): void {
  for (let i = 1; i < rows.length; i++) {
    assert.ok((rows[i] as SourceRow).eventTime >= (rows[i - 1] as SourceRow).eventTime, `row ${i} (${rows[i]?.eventTime}) is not before row ${i - 1} (${rows[i - 1]?.eventTime})`);
  }
}

export function rowSourceConformance(label: string, create: () => Promise<RowSourceHarness>, capabilities: RowSourceCapabilities): void {
  const columns: string[] = [...scalarColumns, ...(capabilities.lists ? listColumns : [])];

  /** Each test gets an empty table or collection of its own. */
  async function withHarness(body: (h: RowSourceHarness) => Promise<void>): Promise<void> {
    const harness = await create();
    try {
      await body(harness);
    } finally {
      await harness.teardown();
    }
  }

  describe(`row source conformance: ${label}`, () => {
    test('an empty source reads no batch and lists no key', () =>
      withHarness(async ({ source }) => {
        assert.deepEqual(await readAll(source, { since: null, until: farFuture, columns }), { rows: [], batches: [] });
        assert.deepEqual(await listAll(source), []);
      }));

    test('the initial load returns every row once, in eventTime order, with the requested values', () =>
      withHarness(async ({ source, insert }) => {
        const rows = Array.from({ length: 40 }, (_, i) => row(`k${i}`, base + 1000 * ((i * 7) % 40), i));
        await insert(shuffled(rows));
        const { rows: got } = await readAll(source, { since: null, until: farFuture, columns });
        assert.deepEqual(plain(got), expected(rows, columns));
      }));

    test('since is exclusive, until inclusive; since >= until reads nothing', () =>
      withHarness(async ({ source, insert }) => {
        const rows = Array.from({ length: 10 }, (_, i) => row(`k${i + 1}`, base + i + 1, i));
        await insert(rows);
        const window = await readAll(source, { since: base + 3, until: base + 7, columns: [] });
        assert.deepEqual(window.rows.map((r) => r.key), ['k4', 'k5', 'k6', 'k7']);
        assert.deepEqual(window.rows.map((r) => r.eventTime), [base + 4, base + 5, base + 6, base + 7]);
        assert.deepEqual((await readAll(source, { since: base + 7, until: base + 7, columns: [] })).rows, []);
        assert.deepEqual((await readAll(source, { since: base + 8, until: base + 2, columns: [] })).rows, []);
        assert.deepEqual((await readAll(source, { since: null, until: base, columns: [] })).rows, []);
        assert.deepEqual((await readAll(source, { since: base + 10, until: farFuture, columns: [] })).rows, []);
      }));

    test('an incremental read after updates returns only the newer versions', () =>
      withHarness(async ({ source, insert, update }) => {
        const rows = Array.from({ length: 10 }, (_, i) => row(`k${i}`, base + 1000 * i, i));
        await insert(rows);
        const initial = await readAll(source, { since: null, until: farFuture, columns });
        const watermark = Math.max(...initial.rows.map((r) => r.eventTime));
        assert.equal(watermark, base + 9000);
        const newer = [row('k2', watermark + 100, 102), row('k5', watermark + 200, 105)];
        await update(newer);
        const { rows: got } = await readAll(source, { since: watermark, until: farFuture, columns });
        assert.deepEqual(plain(got), expected(newer, columns));
      }));

    test('a late row is not read at the watermark but is with the overlap', () =>
      withHarness(async ({ source, insert }) => {
        const rows = Array.from({ length: 5 }, (_, i) => row(`k${i}`, base + 10_000 * (i + 1), i));
        await insert(rows);
        const watermark = base + 50_000;
        // Lands in the store after the run that moved the watermark, with an event time before it.
        const late = row('late', watermark - 3000, 77);
        await insert([late]);
        const atWatermark = await readAll(source, { since: watermark, until: farFuture, columns });
        assert.deepEqual(atWatermark.rows, []);
        const overlapMs = 5000;
        const withOverlap = await readAll(source, { since: watermark - overlapMs, until: farFuture, columns });
        assert.deepEqual(plain(withOverlap.rows), expected([late, row('k4', watermark, 4)], columns));
      }));

    test('columns: exactly the requested ones, any subset, or none', () =>
      withHarness(async ({ source, insert }) => {
        await insert([row('a', base + 1, 1), row('b', base + 2, 2)]);
        const one = await readAll(source, { since: null, until: farFuture, columns: ['str_v'] });
        assert.deepEqual(plain(one.rows), [
          { key: 'a', eventTime: base + 1, values: { str_v: 's1' } },
          { key: 'b', eventTime: base + 2, values: { str_v: 's2' } },
        ]);
        const two = await readAll(source, { since: null, until: farFuture, columns: ['bool_v', 'int_v'] });
        assert.deepEqual(two.rows.map((r) => r.values), [{ bool_v: false, int_v: 1 }, { bool_v: true, int_v: 2 }]);
        const none = await readAll(source, { since: null, until: farFuture, columns: [] });
        assert.deepEqual(none.rows.map((r) => r.values), [{}, {}]);
      }));

    test('typed values round-trip: ints, floats, strings, booleans, nulls' + (capabilities.lists ? ', lists' : ''), () =>
      withHarness(async ({ source, insert }) => {
        const typed: TestRow[] = [
          { key: 'max', eventTime: base + 1, values: { int_v: 2 ** 40 + 3, float_v: 0.1 + 0.2, str_v: 'ünïcödé "double" \'single\' ; DROP TABLE x; --', bool_v: true, null_v: null } },
          { key: 'neg', eventTime: base + 2, values: { int_v: -7, float_v: -1.5e-7, str_v: '', bool_v: false, null_v: null } },
          { key: 'nul', eventTime: base + 3, values: { int_v: null, float_v: null, str_v: null, bool_v: null, null_v: null } },
        ];
        if (capabilities.lists) {
          Object.assign(typed[0]!.values, { floats: [1.5, -2, 0], strings: ['a', 'b "c"'] });
          Object.assign(typed[1]!.values, { floats: [], strings: [] });
          Object.assign(typed[2]!.values, { floats: null, strings: null });
        }
        await insert(typed);
        const { rows: got } = await readAll(source, { since: null, until: farFuture, columns });
        assert.deepEqual(plain(got), expected(typed, columns));
        const first = got[0]?.values;
        assert.ok(Number.isInteger(first?.int_v), 'an int reads back as an integer number');
        assert.equal(typeof first?.float_v, 'number');
        assert.equal(typeof first?.bool_v, 'boolean');
      }));

    test('batches are bounded: 2,500 rows come in more than one batch, in order, each row once', () =>
      withHarness(async ({ source, insert }) => {
        const rows = Array.from({ length: 2500 }, (_, i) => row(`k${String(i).padStart(4, '0')}`, base + i * 10, i));
        await insert(shuffled(rows));
        const { rows: got, batches } = await readAll(source, { since: null, until: farFuture, columns: ['int_v'] });
        assert.ok(batches.length > 1, `2,500 rows came in ${batches.length} batch(es)`);
        assert.ok(Math.max(...batches) < 2500, `largest batch ${Math.max(...batches)}`);
        assert.ok(batches.every((n) => n > 0), 'no empty batch');
        assert.equal(got.length, 2500);
        assertOrdered(got);
        assert.equal(new Set(got.map((r) => r.key)).size, 2500);
        assert.deepEqual(got.map((r) => r.values.int_v), rows.map((r) => r.values.int_v));
      }));

    test('a source restarted in the middle continues from the watermark with exactly the remaining rows', () =>
      withHarness(async ({ source, insert, reopen }) => {
        const rows = Array.from({ length: 2500 }, (_, i) => row(`k${i}`, base + i * 10, i));
        await insert(rows);
        // The first process materializes one batch, records its watermark, and dies.
        let firstBatch: SourceRow[] = [];
        for await (const batch of source.read({ since: null, until: farFuture, columns: ['int_v'] })) {
          firstBatch = batch;
          break;
        }
        assert.ok(firstBatch.length > 0 && firstBatch.length < 2500);
        const watermark = Math.max(...firstBatch.map((r) => r.eventTime));
        const restarted = await reopen();
        try {
          const { rows: rest } = await readAll(restarted, { since: watermark, until: farFuture, columns: ['int_v'] });
          assert.deepEqual(rest.map((r) => r.key), rows.slice(firstBatch.length).map((r) => r.key));
          assert.deepEqual([...firstBatch, ...rest].map((r) => r.eventTime), rows.map((r) => r.eventTime));
        } finally {
          await restarted.close();
        }
        // The first source is still usable after a read was abandoned half-way.
        assert.equal((await readAll(source, { since: base + 24_980, until: farFuture, columns: [] })).rows.length, 1);
      }));

    test('listKeys lists each key once, however many rows it has', () =>
      withHarness(async ({ source, insert }) => {
        await insert([row('b', base + 1), row('a', base + 2), row('b', base + 3), row("o'q \"x\"", base + 4), row('a', base + 5), row('c', base + 6)]);
        const keys = await listAll(source);
        assert.deepEqual([...keys].sort(), ['a', 'b', 'c', "o'q \"x\""]);
      }));

    test('listKeys shows which keys were deleted', async (t) => {
      await withHarness(async ({ source, insert, delete: remove }) => {
        if (!remove) {
          t.diagnostic(`${label}: the harness cannot delete rows; deletion through listKeys is not exercised`);
          return;
        }
        await insert(Array.from({ length: 5 }, (_, i) => row(`k${i}`, base + i)));
        const before = new Set(await listAll(source));
        await remove(['k1', 'k3']);
        const after = new Set(await listAll(source));
        assert.deepEqual([...before].filter((k) => !after.has(k)).sort(), ['k1', 'k3']);
        assert.deepEqual([...after].sort(), ['k0', 'k2', 'k4']);
      });
    });
  });
}

/**
 * A TCP proxy in front of a real server, for outage tests: stop() refuses new connections and cuts the
 * open ones, as a crashed or partitioned server would; start() serves again on the same port. Shared
 * services stay up for the other suites running at the same time.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect({ host: this.targetHost, port: this.targetPort });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => socket.destroy());
        socket.on('close', () => this.sockets.delete(socket));
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
