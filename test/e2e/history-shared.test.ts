// One embedded history file used by several processes at once (adapters/history/embedded/shared.ts):
// the first to open it owns it and serves the others over a socket; when the owner stops or is killed,
// a client takes the file over and retries what was in flight; nothing acknowledged is lost. Writers
// here are real processes (test/fixtures/history-writer.ts), killed with SIGKILL or stopped with SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SharedEmbeddedHistoryStore, socketPathFor } from '../../adapters/history/embedded/shared.js';
import type { HistoryRecord } from '../../adapters/history/types.js';
import { encodeFrame, FrameReader } from '../../adapters/history/embedded/wire.js';
import { EmbeddedServedLogStore } from '../../adapters/served-log/embedded.js';

const writer = 'test/fixtures/history-writer.ts';

interface Child {
  process: ChildProcess;
  lines: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

function start(...args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const stderr: string[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, lines, stderr, exited };
}

/** Waits for a condition; the deadline only guards against a hang (it is not what is tested). */
async function until(what: string, condition: () => boolean, child?: Child): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${child ? `\nstdout: ${child.lines.join('\n')}\nstderr: ${child.stderr.join('')}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const acked = (child: Child) => child.lines.filter((line) => line.startsWith('acked ')).map((line) => Number(line.slice(6)));

function batch(prefix: string, n: number): HistoryRecord[] {
  return Array.from({ length: 50 }, (_, i) => ({ view: 'shared_test', key: `k${i % 7}`, id: `${prefix}-${n}-${i}`, eventTime: n * 1000 + i, availableTime: n * 1000 + i + 1, values: { n, i } }));
}

async function ids(store: SharedEmbeddedHistoryStore): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const page of store.scan({ view: 'shared_test' })) for (const record of page) out.add(record.id);
  return out;
}

function missing(held: Set<string>, prefix: string, batches: Iterable<number>): string[] {
  return [...batches].flatMap((n) => batch(prefix, n).map((r) => r.id)).filter((id) => !held.has(id));
}

test('frames carry what JSON would lose (Infinity, NaN, -0, Dates, nested arrays), split anywhere', () => {
  const message = { id: 7, result: [{ x: Infinity, y: Number.NaN, z: -0, at: new Date(5), l: [[1, [2]], []] }] };
  const bytes = Buffer.concat([encodeFrame(message), encodeFrame({ id: 8, result: null })]);
  for (const cut of [1, 3, 4, 5, bytes.length - 1]) {
    const reader = new FrameReader();
    const got = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
    assert.deepEqual(got, [message, { id: 8, result: null }]);
    assert.ok(Object.is((got[0] as typeof message).result[0]?.z, -0));
  }
});

test('the socket is derived from the file\'s real path, and short enough for a Unix socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-shared-path-'));
  symlinkSync(dir, join(dir, 'link'));
  assert.equal(socketPathFor(join(dir, 'link', 'h.duckdb')), socketPathFor(join(dir, 'h.duckdb')));
  assert.notEqual(socketPathFor(join(dir, 'a.duckdb')), socketPathFor(join(dir, 'h.duckdb')));
  assert.ok(Buffer.byteLength(socketPathFor(join(dir, 'x'.repeat(200), 'h.duckdb'))) < 100);
});

test('a client whose owner is killed (SIGKILL) takes the file over; every acknowledged append is there', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'fg-shared-kill-')), 'history.duckdb');
  const owner = start(file, 'shared', 'a', '400', '5');
  await until('the writer to own the file', () => owner.lines.includes(`ready owner ${owner.process.pid}`), owner);
  const log: string[] = [];
  const client = await SharedEmbeddedHistoryStore.open(file, { log: (m) => log.push(m) });
  try {
    assert.equal(client.owner, false);
    assert.equal(client.ownerPid, owner.process.pid);
    // Both processes append; the owner dies in the middle of its appends.
    let appended = 0;
    let stop = false;
    const appending = (async () => {
      while (!stop) await client.append(batch('b', appended++));
    })();
    await until('both writers to have appended', () => acked(owner).length >= 10 && appended >= 10, owner);
    owner.process.kill('SIGKILL');
    await owner.exited;
    const before = appended;
    await until('the client to append after the kill', () => appended >= before + 10);
    stop = true;
    await appending;
    assert.equal(client.owner, true, log.join('\n'));
    assert.ok(log.some((m) => /lost the owner \(pid \d+: /.test(m)), log.join('\n'));
    assert.ok(log.some((m) => m.includes(`this process (pid ${process.pid}) owns the file`)), log.join('\n'));
    const held = await ids(client);
    assert.deepEqual(missing(held, 'a', acked(owner)), [], 'appends the killed owner acknowledged');
    assert.deepEqual(missing(held, 'b', Array.from({ length: appended }, (_, n) => n)), [], 'appends of the client');
    assert.equal(await client.count('shared_test'), held.size);
  } finally {
    owner.process.kill('SIGKILL');
    await client.close();
  }
});

test("the served log crosses the socket: a client reads and appends through the owner, and keeps it all once it takes the file over", async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'fg-shared-served-')), 'history.duckdb');
  const owner = start(file, 'served', 'o', '10');
  await until('the writer to append as the owner', () => owner.lines.includes('done owner'), owner);
  const client = await SharedEmbeddedHistoryStore.open(file);
  const served = new EmbeddedServedLogStore(client);
  const readIds = async () => {
    const out: string[] = [];
    for await (const page of served.read({ from: 0, to: 100_000, entity: 'Shop' })) out.push(...page.map((r) => r.id));
    return out;
  };
  try {
    assert.equal(client.owner, false);
    await served.append([{ id: 'c-0', at: 4500, entity: 'Shop', key: 'k1', segments: {}, features: { orders: { value: 1.5, status: 'STALE' } }, inputs: {} }]);
    const expected = Array.from({ length: 10 }, (_, n) => Array.from({ length: 20 }, (_, i) => `o-${n}-${String(i).padStart(2, '0')}`)).flat();
    expected.splice(expected.indexOf('o-5-00'), 0, 'c-0');
    assert.deepEqual(await readIds(), expected);
    owner.process.kill('SIGTERM');
    assert.equal(await owner.exited, 0);
    assert.deepEqual(await readIds(), expected);
    assert.equal(client.owner, true);
  } finally {
    owner.process.kill('SIGKILL');
    await client.close();
  }
});

test('an owner that stops hands the file to its clients; calls in flight are answered or retried, none lost', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'fg-shared-stop-')), 'history.duckdb');
  const first = await SharedEmbeddedHistoryStore.open(file);
  assert.equal(first.owner, true);
  const writers = [start(file, 'shared', 'c', '150', '2'), start(file, 'shared', 'd', '150', '2')];
  for (const w of writers) await until('a writer to join as a client', () => w.lines.some((line) => line.startsWith('ready client')), w);
  await until('the writers to append', () => writers.every((w) => acked(w).length >= 10));
  await first.close();
  await until('the writers to finish after the owner stopped', () => writers.every((w) => w.lines.some((line) => line.startsWith('done '))), writers[0]);
  const owners = writers.filter((w) => w.lines.includes('done owner'));
  assert.equal(owners.length, 1, writers.map((w) => w.stderr.join('')).join('\n---\n'));
  // A store opened now is a client of the writer that took the file over.
  const reader = await SharedEmbeddedHistoryStore.open(file);
  try {
    assert.equal(reader.owner, false);
    assert.equal(reader.ownerPid, owners[0]?.process.pid);
    const held = await ids(reader);
    assert.equal(held.size, 2 * 150 * 50);
    assert.deepEqual([...missing(held, 'c', acked(writers[0] as Child)), ...missing(held, 'd', acked(writers[1] as Child))], []);
    // The new owner stops too (SIGTERM): the reader, its last client, takes over and still reads everything.
    (owners[0] as Child).process.kill('SIGTERM');
    assert.equal(await (owners[0] as Child).exited, 0);
    assert.equal(await reader.count('shared_test'), 2 * 150 * 50);
    assert.equal(reader.owner, true);
  } finally {
    for (const w of writers) w.process.kill('SIGTERM');
    await Promise.all(writers.map((w) => w.exited));
    await reader.close();
  }
  assert.equal(existsSync(socketPathFor(file)), false, 'the last owner removed its socket');
});

test('a file held by a process that does not share it: HISTORY_STORE_UNAVAILABLE naming the file and the process, after the bound', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'fg-shared-raw-')), 'history.duckdb');
  const holder = start(file, 'raw');
  try {
    await until('the raw holder to open the file', () => holder.lines.some((line) => line.startsWith('ready raw')), holder);
    await assert.rejects(SharedEmbeddedHistoryStore.open(file, { takeoverMs: 500 }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'HISTORY_STORE_UNAVAILABLE');
      assert.match(error.message, new RegExp(`the embedded history file ${file.replaceAll('/', '\\/')} is open in another process \\(pid ${holder.process.pid}\\) that does not share it: nothing answered at .*featuregraph-history-[0-9a-f]{16}\\.sock for 0.5 s`));
      return true;
    });
  } finally {
    holder.process.kill('SIGKILL');
    await holder.exited;
  }
});

test('errors keep their code across the socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-shared-errors-'));
  const owner = await SharedEmbeddedHistoryStore.open(join(dir, 'history.duckdb'));
  const client = await SharedEmbeddedHistoryStore.open(join(dir, 'history.duckdb'));
  try {
    const { allFeatures } = await import('../conformance/history-store-reads.js');
    const spec = { query: { features: allFeatures, mode: 'SERVED' as const }, rows: { path: join(dir, 'rows.txt'), keyColumn: 'k', asOfColumn: 'at' }, out: join(dir, 'out.parquet') };
    const local = await owner.exportTrainingSet(spec).then(() => null, (error: Error & { code?: string }) => ({ code: error.code, message: error.message }));
    const remote = await client.exportTrainingSet(spec).then(() => null, (error: Error & { code?: string }) => ({ code: error.code, message: error.message }));
    assert.deepEqual(remote, local);
    assert.equal(remote?.code, 'BAD_USER_INPUT');
  } finally {
    await client.close();
    await owner.close();
  }
});
