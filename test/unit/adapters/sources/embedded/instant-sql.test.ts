// instant-sql.ts against schema/instant.ts: the same inputs through DuckDB and through readInstant give
// the same epoch ms, or are refused by both. Text: systematic grids over every field's edge values
// (days of every month in leap and common years, hours/minutes/seconds 00-99, offsets), fractions,
// signs, and seeded random mutations of valid instants. Typed columns: numbers, timestamps of each
// precision, dates, JSON mixing text and numbers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedSql } from '../../../../../adapters/sources/embedded/index.js';
import { instantMsSql, instantSqlReason, instantTextSql } from '../../../../../adapters/sources/embedded/instant-sql.js';
import { maxInstantMs, readInstant } from '../../../../../schema/instant.js';

let db: EmbeddedSql;
before(async () => {
  db = await EmbeddedSql.open(':memory:');
  // A zone far from UTC: nothing may depend on the session's.
  await db.exec(`SET TimeZone = 'America/New_York'`);
});
after(() => db.close());

const expected = (value: unknown): number | null => {
  const reading = readInstant(value);
  return reading.ok ? reading.ms : null;
};

/** Runs `texts` through instantTextSql; returns the inputs where SQL and readInstant disagree. */
async function disagreements(texts: readonly string[]): Promise<string[]> {
  await db.exec('DROP TABLE IF EXISTS fg_texts');
  await db.exec('CREATE TABLE fg_texts (i BIGINT, t VARCHAR)');
  await db.insertRows('fg_texts', texts.map((t, i) => ({ i, t })));
  const rows = await db.query(`SELECT i, ${instantTextSql('t')} AS ms FROM fg_texts ORDER BY i`);
  const out: string[] = [];
  rows.forEach((row, i) => {
    const got = row.ms === null ? null : Number(row.ms);
    const want = expected(texts[i]);
    if (got !== want) out.push(`${JSON.stringify(texts[i])}: SQL ${got}, readInstant ${want}`);
  });
  return out;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

test('calendar: every day 00-32 of months 00-13, in leap, common and century years, 0000 and 9999', async () => {
  const texts: string[] = [];
  for (const year of ['0000', '0001', '0004', '1900', '1969', '1970', '2000', '2024', '2026', '2100', '9999']) {
    for (let month = 0; month <= 13; month++) for (let day = 0; day <= 32; day++) texts.push(`${year}-${pad(month)}-${pad(day)}`);
  }
  assert.deepEqual(await disagreements(texts), []);
  assert.ok(texts.filter((t) => expected(t) !== null).length > 3000, 'most of the grid is real days');
});

test('times: hours, minutes and seconds 00-99, both separators, with and without seconds', async () => {
  const texts: string[] = [];
  for (let n = 0; n <= 99; n++) {
    for (const sep of ['T', ' ']) {
      texts.push(`2026-03-01${sep}${pad(n)}:00`, `2026-03-01${sep}${pad(n)}:00:00`, `2026-03-01${sep}23:${pad(n)}`, `2026-03-01${sep}23:${pad(n)}:00`, `2026-03-01${sep}23:59:${pad(n)}`, `2026-12-31${sep}${pad(n)}:59:59.999Z`);
    }
  }
  assert.deepEqual(await disagreements(texts), []);
});

test('offsets: Z, ±HH:MM and ±HHMM with hours 00-99 and minutes 00, 30, 59, 60, after every time form', async () => {
  const texts: string[] = [];
  for (let h = 0; h <= 99; h++) {
    for (const m of ['00', '30', '59', '60', '99']) {
      for (const sign of ['+', '-']) {
        for (const time of ['2026-03-01T10:00', '2026-03-01 10:00:00', '2026-03-01T10:00:00.5', '2026-03-01T10:00:00.123456789', '0000-01-01T00:00', '9999-12-31T23:59:59.999']) {
          texts.push(`${time}${sign}${pad(h)}:${m}`, `${time}${sign}${pad(h)}${m}`);
        }
      }
    }
  }
  texts.push('2026-03-01T10:00Z', '2026-03-01T10:00:00Z', '2026-03-01T10:00:00.1Z', '2026-03-01T10:00:00.12Z', '2026-03-01T10:00:00.1234567890Z', '2026-03-01T10:00:00+5:30', '2026-03-01T10:00:00+05:3', '2026-03-01T10:00:00+05', '2026-03-01T10:00:00++05:30');
  assert.deepEqual(await disagreements(texts), []);
});

test('fractions of seconds 1-10 digits are floored, also before 1970 and with offsets', async () => {
  const texts: string[] = [];
  for (const base of ['1969-12-31T23:59:59', '1970-01-01T00:00:00', '2026-06-01 11:59:59', '0000-01-01T00:00:00']) {
    for (const fraction of ['', '.', '.0', '.5', '.05', '.005', '.0005', '.9', '.99', '.999', '.9999', '.99999', '.999999', '.9999995', '.9999999', '.99999999', '.999999999', '.9999999999', '.000000001', '.123456789']) {
      for (const zone of ['', 'Z', '+00:00', '-01:00', '+0130']) texts.push(`${base}${fraction}${zone}`);
    }
  }
  assert.deepEqual(await disagreements(texts), []);
});

test('epoch-ms text: signs, leading zeros, fractions floored toward -infinity, the range of dates', async () => {
  const texts: string[] = [];
  for (const digits of ['0', '00', '1', '1767232593635', '0001767232593635', '8640000000000000', '8640000000000001', '9007199254740993', '99999999999999999999', '000000000000000000000000000000000000000000001', '123456789012345678901234567890123456789012']) {
    for (const sign of ['', '+', '-']) {
      for (const fraction of ['', '.0', '.000', '.5', '.0000000001', '.999999999999', '.', 'e3', 'E-1']) texts.push(`${sign}${digits}${fraction}`);
    }
  }
  texts.push('1_000', '0x10', ' 1', '1 ', '--1', '+-1', '1.2.3', '.5', 'NaN', 'nan', 'inf', 'Infinity', '-Infinity', '١٢٣', '１２３', '');
  assert.deepEqual(await disagreements(texts), []);
});

test('seeded random mutations of valid instants agree (deleted, doubled, replaced characters)', async () => {
  let seed = Number(process.env.FEATUREGRAPH_TEST_SEED ?? 20260601);
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const alphabet = '0123456789-+:.TZ tz_e';
  const texts: string[] = [];
  for (let i = 0; i < 30_000; i++) {
    const ms = Math.floor(-62_000_000_000_000 + next() * 315_000_000_000_000);
    let text = pick([new Date(ms).toISOString(), new Date(ms).toISOString().slice(0, 19), new Date(ms).toISOString().slice(0, 10), `${new Date(ms).toISOString().slice(0, 16)}+05:30`, String(ms), `${ms}.${Math.floor(next() * 1000)}`]);
    const edits = Math.floor(next() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(next() * (text.length + 1));
      const kind = next();
      if (kind < 0.33) text = text.slice(0, at) + text.slice(at + 1);
      else if (kind < 0.66) text = text.slice(0, at) + pick([...alphabet]) + text.slice(at);
      else text = text.slice(0, at) + pick([...alphabet]) + text.slice(at + 1);
    }
    texts.push(text);
  }
  const bad = await disagreements(texts);
  assert.deepEqual(bad.slice(0, 20), [], `${bad.length} disagreements (seed ${process.env.FEATUREGRAPH_TEST_SEED ?? 20260601})`);
  const accepted = texts.filter((t) => expected(t) !== null).length;
  assert.ok(accepted > 5000 && accepted < 28_000, `a mix of accepted (${accepted}) and refused values`);
});

/** One typed column through instantMsSql: the ms of each value (null: refused). */
async function typed(type: string, literals: readonly string[]): Promise<(number | null)[]> {
  const sql = instantMsSql('v', type);
  assert.ok(sql, `${type} has an SQL form`);
  const rows = await db.query(`SELECT ${sql} AS ms FROM (SELECT CAST(v AS ${type}) AS v, i FROM (VALUES ${literals.map((l, i) => `(${l}, ${i})`).join(', ')}) t(v, i)) ORDER BY i`);
  return rows.map((row) => (row.ms === null ? null : Number(row.ms)));
}

test('number columns: integers as they are, floating and decimal floored, NaN, infinities and the out of range refused', async () => {
  const doubles = [0, -0, 0.5, -0.5, 1767232593635.5, -1767232593635.5, 1e3, maxInstantMs, -maxInstantMs, maxInstantMs + 2, 1e300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  assert.deepEqual(await typed('DOUBLE', doubles.map((d) => `'${d}'`)), doubles.map(expected));
  assert.deepEqual(await typed('FLOAT', ["'-0.5'", "'1.5'"]), [-1, 1]);
  assert.deepEqual(await typed('DECIMAL(20,3)', ["'-0.001'", "'1767232593635.999'", "'-1767232593635.001'"]), [-1, 1767232593635, -1767232593636]);
  const integers = ['0', '-1', '1767232593635', String(maxInstantMs), String(-maxInstantMs), String(maxInstantMs + 1), '-9223372036854775808'];
  assert.deepEqual(await typed('BIGINT', integers), integers.map((i) => expected(BigInt(i))));
  assert.deepEqual(await typed('HUGEINT', ['170141183460469231731687303715884105727', '5']), [null, 5]);
  assert.deepEqual(await typed('UBIGINT', ['18446744073709551615', '7']), [null, 7]);
});

test('timestamp and date columns: no zone is UTC, TIMESTAMPTZ its instant, finer precisions floored, infinities refused', async () => {
  const ts = (text: string) => `'${text}'`;
  assert.deepEqual(await typed('TIMESTAMP', [ts('2026-01-01 10:00:00.1239'), ts('1969-12-31 23:59:59.9995'), ts('0000-01-01 00:00:00'), ts('infinity'), ts('290000-01-01 00:00:00')]), [Date.parse('2026-01-01T10:00:00.123Z'), -1, -62_167_219_200_000, null, null]);
  assert.deepEqual(await typed('TIMESTAMP_NS', [ts('2026-01-01 10:00:00.123999999'), ts('1969-12-31 23:59:59.999999999')]), [Date.parse('2026-01-01T10:00:00.123Z'), -1]);
  assert.deepEqual(await typed('TIMESTAMP_MS', [ts('2026-01-01 10:00:00.123')]), [Date.parse('2026-01-01T10:00:00.123Z')]);
  assert.deepEqual(await typed('TIMESTAMP_S', [ts('2026-01-01 10:00:00')]), [Date.parse('2026-01-01T10:00:00.000Z')]);
  assert.deepEqual(await typed('TIMESTAMPTZ', [ts('2026-01-01 10:00:00.5+05:30'), ts('1969-12-31 23:59:59.9999+00')]), [Date.parse('2026-01-01T04:30:00.500Z'), -1]);
  assert.deepEqual(await typed('DATE', [ts('2024-02-29'), ts('1969-12-31'), ts('infinity')]), [Date.parse('2024-02-29T00:00:00.000Z'), -86_400_000, null]);
  assert.equal(instantMsSql('v', 'BOOLEAN'), null);
  assert.equal(instantMsSql('v', 'TIME'), null);
});

test('JSON columns: each value by what it holds, text by the text rule and numbers by the number rule', async () => {
  const values: unknown[] = ['2026-01-01T10:00:00', 1767232593635.5, -0.5, 1767232593635, '1767232593635.5', '2026-02-30', 'x', true, null, 1e300];
  const rows = await db.query(`SELECT ${instantMsSql('v', 'JSON')} AS ms FROM (SELECT CAST(v AS JSON) AS v, i FROM (VALUES ${values.map((v, i) => `('${JSON.stringify(v)}', ${i})`).join(', ')}) t(v, i)) ORDER BY i`);
  assert.deepEqual(
    rows.map((row) => (row.ms === null ? null : Number(row.ms))),
    values.map((v) => (v === null || typeof v === 'boolean' ? null : expected(v))),
  );
});

test('instantSqlReason gives the rule\'s reason for text, and names the type for typed columns', () => {
  assert.equal(instantSqlReason('2026-02-30', 'VARCHAR'), 'day 30 is not in 2026-02, which has 28 days');
  assert.equal(instantSqlReason('"2026-02-30"', 'JSON'), 'day 30 is not in 2026-02, which has 28 days');
  assert.equal(instantSqlReason(null, 'VARCHAR'), 'it is empty');
  assert.match(instantSqlReason('inf', 'DOUBLE'), /^a DOUBLE value that is not finite or is outside the range of dates/);
});
