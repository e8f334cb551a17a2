// Ties in the embedded store: a column view whose table holds no two changes of one key at one event
// time is read by the plain ASOF JOIN; the store must know when that stops being true. These tests
// read the state the store keeps in its file (history_ties) and check every answer against the
// reference, before and after ties arrive, on the paths that decide it: a check at close, at append
// (once the noted changes reach a tenth of the table), at export, and a file written without notes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { changesByKey, pointInTimeReads } from '../../../../../adapters/history/point-in-time.js';
import type { HistoryRecord, PointInTimeRow, TimeMode } from '../../../../../adapters/history/types.js';
import { EmbeddedHistoryStore } from '../../../../../adapters/history/embedded/index.js';
import { exportedValue } from '../../../../../schema/value-rules.js';
import { allFeatures, randomHistory, randomRows } from '../../../../conformance/history-store-reads.js';

const profileFeatures = allFeatures.filter((feature) => feature.view.name === 'conf_courier_profile');
const profile = profileFeatures[0]?.view as (typeof profileFeatures)[number]['view'];

/** The column view's changes of a random history, without ties: the first change at a (key, eventTime) stays. */
function tieFreeHistory(seed: number): HistoryRecord[] {
  const seen = new Set<string>();
  return randomHistory(seed, 8, 30).filter((r) => {
    if (r.view !== profile.name) return false;
    const at = `${r.key}@${r.eventTime}`;
    if (seen.has(at)) return false;
    seen.add(at);
    return true;
  });
}

/** A tie for each key at its latest change: another id, available later, other values (the reference reads it). */
function tiesOf(history: readonly HistoryRecord[]): HistoryRecord[] {
  const latest = new Map<string, HistoryRecord>();
  for (const r of history) if ((latest.get(r.key)?.eventTime ?? -Infinity) < r.eventTime) latest.set(r.key, r);
  return [...latest.values()].map((r, i) => ({ ...r, id: `${r.id}:tie`, availableTime: r.availableTime + 1, values: { ...r.values, trips: 1000 + i, rating: 9.5, city: `tie ${i}` }, deleted: false }));
}

/** What the file says of the view's ties (null: not known). */
async function fileTies(path: string): Promise<{ ties: boolean; rows: number } | null> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    const ties = (await connection.runAndReadAll(`SELECT ties, rows::INTEGER FROM history_ties WHERE view = '${profile.name}'`)).getRowsJS()[0];
    return ties === undefined ? null : { ties: ties[0] as boolean, rows: ties[1] as number };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function assertReference(store: EmbeddedHistoryStore, history: readonly HistoryRecord[], rows: readonly PointInTimeRow[], label: string): Promise<void> {
  for (const mode of ['EVENT_TIME', 'SERVED'] as TimeMode[]) {
    const got = await store.readAsOf({ features: profileFeatures, mode }, rows);
    const want = pointInTimeReads({ features: profileFeatures, mode }, rows, () => changesByKey([...history]));
    rows.forEach((row, i) => assert.deepEqual(got[i], want[i], `${label}: ${mode} row ${i} ${JSON.stringify(row)}`));
  }
}

const plain = (value: unknown): unknown => (typeof value === 'bigint' ? Number(value) : Array.isArray(value) ? value.map(plain) : value);

/** The store's EVENT_TIME export of the rows holds the reference's values (null where MISSING, EXPIRED or not fitting), in order. */
async function assertExport(store: EmbeddedHistoryStore, history: readonly HistoryRecord[], rows: readonly PointInTimeRow[], dir: string, label: string): Promise<void> {
  const csv = join(dir, 'rows.csv');
  const out = join(dir, 'export.parquet');
  writeFileSync(csv, `key,at\n${rows.map((row) => `"${row.key.replaceAll('"', '""')}",${row.asOf}`).join('\n')}\n`);
  await store.exportTrainingSet({ query: { features: profileFeatures, mode: 'EVENT_TIME' }, rows: { path: csv, keyColumn: 'key', asOfColumn: 'at' }, out });
  const want = pointInTimeReads({ features: profileFeatures, mode: 'EVENT_TIME' }, rows, () => changesByKey([...history]));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const exported = (await connection.runAndReadAll(`SELECT * FROM read_parquet('${out.replaceAll("'", "''")}')`)).getRowObjectsJS();
    assert.equal(exported.length, rows.length);
    rows.forEach((row, i) => {
      const line = exported[i] as Record<string, unknown>;
      assert.equal(line.key, row.key, `${label}: export row ${i} key`);
      profileFeatures.forEach((feature, f) => {
        const read = want[i]?.[f];
        const value = exportedValue(feature.type, read?.value);
        assert.deepEqual(plain(line[feature.name]), value, `${label}: export row ${i} ${feature.name} ${JSON.stringify(row)}`);
      });
    });
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

test('a tie-free view is known tie-free (checked at close) and read as the reference; ties appended later switch it back to the tie-breaking join', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'featuregraph-ties-'));
  const path = join(dir, 'history.duckdb');
  try {
    const history = tieFreeHistory(31);
    const ties = tiesOf(history);
    const rows = randomRows(31, [...history, ...ties], 400);
    let store = await EmbeddedHistoryStore.open(path, { views: [profile] });
    await store.append(history.slice(0, 120));
    await store.append(history.slice(60)); // a replay of 60 changes is no tie
    await assertReference(store, history, rows, 'noted, not checked yet');
    await store.close();
    assert.deepEqual(await fileTies(path), { ties: false, rows: history.length });

    store = await EmbeddedHistoryStore.open(path, { views: [profile] });
    await assertReference(store, history, rows, 'tie-free (plain join)');
    await assertExport(store, history, rows, dir, 'tie-free (plain join)');
    await store.append(ties);
    await assertReference(store, [...history, ...ties], rows, 'ties noted, not checked yet');
    await store.close();
    assert.deepEqual(await fileTies(path), { ties: true, rows: history.length + ties.length });

    store = await EmbeddedHistoryStore.open(path, { views: [profile] });
    try {
      await assertReference(store, [...history, ...ties], rows, 'tied (tie-breaking join)');
      await assertExport(store, [...history, ...ties], rows, dir, 'tied (tie-breaking join)');
      // Once tied, appends note nothing.
      await store.append(tieFreeHistory(32));
    } finally {
      await store.close();
    }
    assert.deepEqual(await fileTies(path), { ties: true, rows: history.length + ties.length + tieFreeHistory(32).length });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('appends check their noted changes once they reach a tenth of the table, an export checks the rest; a file written without notes is checked whole', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'featuregraph-ties-'));
  const path = join(dir, 'history.duckdb');
  try {
    // 12,000 tie-free changes in one append: checked at once.
    const many: HistoryRecord[] = Array.from({ length: 12_000 }, (_, i) => ({ view: profile.name, key: `m${i % 500}`, id: `m${i}`, eventTime: 1_000_000 + i, availableTime: 1_000_000 + i, values: { trips: i, rating: 1, city: 'x', active: true, scores: [1], badges: [] } }));
    let store = await EmbeddedHistoryStore.open(path, { views: [profile] });
    await store.append(many);
    const tie: HistoryRecord = { ...(many[11_999] as HistoryRecord), id: 'tie', availableTime: 2_000_000, values: { ...(many[11_999] as HistoryRecord).values, trips: -1 } };
    await store.append([tie]);
    // The tie is noted, unchecked: reads break it as the reference does.
    const rows = [{ key: tie.key, asOf: tie.eventTime }, { key: 'm0', asOf: 2_000_000 }];
    await assertReference(store, [...many, tie], rows, 'tie noted');
    const out = join(dir, 'out.parquet');
    const rowsCsv = join(dir, 'rows.csv');
    writeFileSync(rowsCsv, `key,at\n${rows.map((row) => `${row.key},${row.asOf}`).join('\n')}\n`);
    await store.exportTrainingSet({ query: { features: profileFeatures, mode: 'EVENT_TIME' }, rows: { path: rowsCsv, keyColumn: 'key', asOfColumn: 'at' }, out });
    await store.close();
    assert.deepEqual(await fileTies(path), { ties: true, rows: 12_001 });
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const exported = (await connection.runAndReadAll(`SELECT trips::INTEGER FROM read_parquet('${out}')`)).getRowsJS().map((row) => row[0]);
      assert.deepEqual(exported, [-1, 11_500]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }

    // Another writer (say an older featuregraph) adds rows without notes: the count tells, and the view
    // is checked whole (as after a process that ended before checking what it appended).
    rmSync(path);
    store = await EmbeddedHistoryStore.open(path, { views: [profile] });
    await store.append(many.slice(0, 100));
    await store.close();
    assert.deepEqual(await fileTies(path), { ties: false, rows: 100 });
    const raw = await DuckDBInstance.create(path);
    const writer = await raw.connect();
    await writer.run(`INSERT INTO "history_view_${profile.name}" SELECT key, id || ':again', event_time, available_time, vals, deleted, exact, c0, c1, c2, c3, c4, c5 FROM "history_view_${profile.name}" WHERE id = 'm5'`);
    writer.closeSync();
    raw.closeSync();
    store = await EmbeddedHistoryStore.open(path, { views: [profile] });
    await store.exportTrainingSet({ query: { features: profileFeatures, mode: 'EVENT_TIME' }, rows: { path: rowsCsv, keyColumn: 'key', asOfColumn: 'at' }, out });
    await store.close();
    assert.deepEqual(await fileTies(path), { ties: true, rows: 101 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
