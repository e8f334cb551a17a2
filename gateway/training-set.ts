// Training sets too large for a GraphQL response, written to Parquet: the CLI's `training-set` command
// and the gateway's POST /training-set both end here. Entity rows (key, asOf, request-time argument
// columns) are loaded into a scratch DuckDB database, checked (columns, instants, the future), then
// either handed whole to the history store's own export (pushdown, when it has one and no request-time
// feature is asked) or read back in chunks: one readAsOf per chunk, request-time features computed by
// the very function that serves them online, features appended to a table, one COPY to Parquet at the
// end. Memory stays bounded: a chunk in Node, the rest in DuckDB under its memory_limit (spilling).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadInputError, FeaturegraphError } from '../schema/errors.js';
import { futureRefusal, instantRefusal } from '../schema/instant.js';
import type { FeatureRegistry, ResolvedEntity, ResolvedFeature, ResolvedRequestFeature } from '../schema/registry.js';
import type { FeatureType, RequestArguments } from '../schema/types.js';
import type { HistoryStore, PointInTimeRow, TimeMode } from '../adapters/history/types.js';
import { requireHistory } from '../adapters/history/presence.js';
import { EmbeddedSql, type EmbeddedRecord, type SqlValue } from '../adapters/sources/embedded/index.js';
import { instantColumnTypes, instantMsSql, instantRawSql, instantSqlReason, rowsFormatOf, rowsReaderSql, type RowsFormat } from '../adapters/sources/embedded/instant-sql.js';
import { requestFeatureValue } from '../schema/request-features.js';
import { exportedValue } from '../schema/value-rules.js';
import { fitsArgument } from '../resolvers/request-inputs.js';

export interface TrainingSetSpec {
  registry: FeatureRegistry;
  history: HistoryStore;
  /** Entity name; default: the one entity that has every asked feature. */
  entity?: string;
  /** Stored and request-time feature names (`ordersLast30m` or `Restaurant.ordersLast30m`), in output order. */
  features: readonly string[];
  mode: TimeMode;
  /** A .csv, .parquet or .ndjson/.jsonl file: the key column (the entity's key), asOf, and request-time argument columns. */
  rowsPath: string;
  /** The Parquet file to write. */
  out: string;
  /** No asOf may be after this instant. */
  now: number;
  /** Rows per readAsOf (default 10,000). */
  chunkRows?: number;
  /** Refuse inputs with more rows than this. */
  maxRows?: number;
  onProgress?: (progress: { rowsDone: number; rowsTotal: number }) => void;
}

export interface TrainingSetResult {
  rows: number;
  /** Whether the history store computed it itself (TrainingSetExport). */
  pushdown: boolean;
  entity: string;
  columns: string[];
}

const asOfColumn = 'asOf';
const sqlTypeOf: Record<FeatureType, string> = { Int: 'BIGINT', Float: 'DOUBLE', String: 'VARCHAR', Boolean: 'BOOLEAN', '[Float]': 'DOUBLE[]', '[String]': 'VARCHAR[]' };

/** Any column name of the entity rows, quoted (they may hold dots: "etaMinutes.distanceKm"). */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A SQL string literal: file paths go into table functions, which take no parameters. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function formatOf(path: string): RowsFormat {
  const format = rowsFormatOf(path);
  if (format === null) throw new BadInputError(`entity rows must be a .csv or .parquet file (or .ndjson), got ${path}`);
  return format;
}

interface Asked {
  entity: ResolvedEntity;
  stored: ResolvedFeature[];
  request: ResolvedRequestFeature[];
  /** Output columns, in the order asked. */
  columns: { name: string; type: FeatureType }[];
}

/** Resolves feature names against the registry: the unknown names are the ones named, with what exists. */
export function resolveAsked(registry: FeatureRegistry, names: readonly string[], entityName?: string): Asked {
  if (names.length === 0) throw new BadInputError('name at least one feature, e.g. --features ordersLast30m,avgPrepSeconds7d');
  const bare = names.map((n) => n.trim()).map((n) => (n.includes('.') ? (n.split('.') as [string, string]) : [undefined, n] as const));
  const has = (e: ResolvedEntity, n: string) => e.features.has(n) || e.requestFeatures.has(n);
  const shown = ([owner, name]: readonly [string | undefined, string]) => (owner ? `${owner}.${name}` : name);
  const unknown = (scope: readonly ResolvedEntity[], of?: string): BadInputError => {
    const missing = bare.filter(([owner, name]) => !scope.some((e) => (owner === undefined || owner === e.name) && has(e, name)));
    const known = scope.flatMap((e) => [...e.features.keys(), ...e.requestFeatures.keys()].map((n) => (of ? n : `${e.name}.${n}`)));
    return new BadInputError(`unknown feature${missing.length > 1 ? 's' : ''} ${missing.map((m) => JSON.stringify(shown(m))).join(', ')}${of ? ` of ${of}` : ''}; features: ${known.join(', ')}`);
  };
  let entity: ResolvedEntity | undefined;
  if (entityName !== undefined) {
    entity = registry.entity(entityName);
    if (bare.some(([owner, name]) => (owner !== undefined && owner !== entityName) || !has(entity as ResolvedEntity, name))) throw unknown([entity], entity.name);
  } else {
    const all = [...registry.entities.values()];
    if (bare.some(([owner, name]) => !all.some((e) => (owner === undefined || owner === e.name) && has(e, name)))) throw unknown(all);
    const named = new Set(bare.map(([e]) => e).filter((e): e is string => e !== undefined));
    const candidates = all.filter((e) => (named.size === 0 || named.has(e.name)) && bare.every(([, n]) => has(e, n)));
    if (candidates.length > 1) throw new BadInputError(`features ${names.join(', ')} exist on ${candidates.map((e) => e.name).join(' and ')}: name the entity (--entity)`);
    if (candidates.length === 0) {
      const where = bare.map((b) => `${shown(b)} (${all.filter((e) => (b[0] === undefined || b[0] === e.name) && has(e, b[1])).map((e) => e.name).join(' or ')})`);
      throw new BadInputError(`no one entity has every feature asked: ${where.join(', ')}; a training set is of one entity`);
    }
    entity = candidates[0] as ResolvedEntity;
  }
  const out: Asked = { entity, stored: [], request: [], columns: [] };
  for (const [, name] of bare) {
    if (out.columns.some((c) => c.name === name)) throw new BadInputError(`feature ${name} is asked twice`);
    const stored = entity.features.get(name);
    if (stored) out.stored.push(stored);
    else out.request.push(entity.requestFeatures.get(name) as ResolvedRequestFeature);
    out.columns.push({ name, type: (stored ?? (entity.requestFeatures.get(name) as ResolvedRequestFeature)).type });
  }
  return out;
}

/** The column each request-time argument comes from: `feature.argument` if present, else `argument`. */
function argumentColumns(request: readonly ResolvedRequestFeature[], present: ReadonlySet<string>): Map<string, { feature: ResolvedRequestFeature; argument: string; column: string | null }[]> {
  const out = new Map<string, { feature: ResolvedRequestFeature; argument: string; column: string | null }[]>();
  for (const feature of request) {
    const list = Object.entries(feature.def.arguments).map(([argument, type]) => {
      const column = [`${feature.name}.${argument}`, argument].find((c) => present.has(c)) ?? null;
      if (column === null && type.endsWith('!')) {
        throw new BadInputError(`missing column for ${feature.name}'s argument ${argument} (${type}): add a column "${argument}" or "${feature.name}.${argument}" to the entity rows (JSON rows: inputs.${feature.name}.${argument}); columns present: ${[...present].join(', ')}`);
      }
      return { feature, argument, column };
    });
    out.set(feature.name, list);
  }
  return out;
}

/** Loads and checks the entity rows; the scratch table `fg_rows` holds them with fg_row and fg_asof_ms. */
async function loadRows(db: EmbeddedSql, spec: TrainingSetSpec, asked: Asked): Promise<{ total: number; columns: string[] }> {
  const format = formatOf(spec.rowsPath);
  const describe = async (reader: string) => {
    try {
      const described = await db.query(`DESCRIBE SELECT * FROM ${reader}`);
      return new Map(described.map((d) => [String(d.column_name), String(d.column_type)]));
    } catch (error) {
      throw new BadInputError(`cannot read entity rows ${spec.rowsPath}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  };
  const sniffed = await describe(rowsReaderSql(spec.rowsPath, format));
  const columns = [...sniffed.keys()];
  const key = asked.entity.key;
  for (const needed of [key, asOfColumn]) {
    if (!sniffed.has(needed)) throw new BadInputError(`entity rows ${spec.rowsPath} have no column "${needed}" (the ${needed === key ? `${asked.entity.name} key` : 'instant of each row'}); columns present: ${columns.join(', ')}`);
  }
  for (const column of asked.columns) {
    if (sniffed.has(column.name)) throw new BadInputError(`entity rows have a column "${column.name}", the name of an asked feature: rename it`);
  }
  // asOf as the file holds it (text stays text), read by the one rule.
  const reader = rowsReaderSql(spec.rowsPath, format, { column: asOfColumn, sniffed });
  const asOfType = (await describe(reader)).get(asOfColumn) as string;
  const q = ident(asOfColumn);
  const ms = instantMsSql(q, asOfType);
  if (ms === null) throw new BadInputError(`entity rows ${spec.rowsPath}: the asOf column is ${asOfType}; it must hold ${instantColumnTypes}`);
  try {
    await db.exec(`CREATE TABLE fg_rows AS SELECT row_number() OVER () - 1 AS fg_row, ${ms} AS fg_asof_ms, * FROM ${reader}`);
  } catch (error) {
    throw new BadInputError(`cannot read entity rows ${spec.rowsPath}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  const [stats] = await db.query(`SELECT count(*) AS n, max(fg_asof_ms) AS latest FROM fg_rows`);
  const total = Number(stats?.n ?? 0);
  if (spec.maxRows !== undefined && total > spec.maxRows) throw new FeaturegraphError('LIMIT_EXCEEDED', `entity rows hold ${total} rows; at most ${spec.maxRows} per training set here (split them, or use featuregraph training-set)`);
  const [badTime] = await db.query(`SELECT fg_row, ${instantRawSql(q, asOfType)} AS raw FROM fg_rows WHERE fg_asof_ms IS NULL ORDER BY fg_row LIMIT 1`);
  if (badTime) throw instantRefusal(`row ${Number(badTime.fg_row) + 1}: asOf`, badTime.raw, instantSqlReason(badTime.raw, asOfType));
  const [badKey] = await db.query(`SELECT fg_row FROM fg_rows WHERE ${ident(key)} IS NULL ORDER BY fg_row LIMIT 1`);
  if (badKey) throw new BadInputError(`row ${Number(badKey.fg_row) + 1}: ${key} is empty`);
  if (stats?.latest !== null && stats?.latest !== undefined && Number(stats.latest) > spec.now) {
    const [future] = await db.query(`SELECT fg_row, fg_asof_ms FROM fg_rows WHERE fg_asof_ms > ? ORDER BY fg_row LIMIT 1`, [spec.now]);
    throw futureRefusal(Number(future?.fg_asof_ms), spec.now, `row ${Number(future?.fg_row) + 1}: asOf`);
  }
  return { total, columns };
}

/** Key, asOf (TIMESTAMP), the other input columns as they were: the output's leading columns. */
function leadingColumns(key: string, columns: readonly string[]): string {
  const rest = columns.filter((c) => c !== key && c !== asOfColumn).map((c) => `r.${ident(c)}`);
  return [`r.${ident(key)}`, `epoch_ms(r.fg_asof_ms) AS ${ident(asOfColumn)}`, ...rest].join(', ');
}

async function copyTo(db: EmbeddedSql, select: string, out: string): Promise<void> {
  rmSync(out, { force: true });
  await db.exec(`COPY (${select}) TO ${literal(out)} (FORMAT parquet)`);
}

function argumentsOf(row: EmbeddedRecord, list: { feature: ResolvedRequestFeature; argument: string; column: string | null }[], rowNumber: number): RequestArguments {
  const args: Record<string, RequestArguments[string]> = {};
  for (const { feature, argument, column } of list) {
    const value = column === null ? null : row[column];
    const type = feature.def.arguments[argument] as Parameters<typeof fitsArgument>[1];
    if (!fitsArgument(value ?? null, type)) throw new BadInputError(`row ${rowNumber}: column ${column} must hold a ${type} for ${feature.name}.${argument}, got ${JSON.stringify(value)}`);
    args[argument] = value as RequestArguments[string];
  }
  return args;
}

async function generic(db: EmbeddedSql, spec: TrainingSetSpec, asked: Asked, total: number, columns: readonly string[]): Promise<void> {
  const present = new Set(columns);
  const argumentColumnsOf = argumentColumns(asked.request, present);
  // Every stored feature a request-time one reads, besides those asked, is read once with them.
  const reads = [...new Set([...asked.stored, ...asked.request.flatMap((f) => f.inputs)])];
  const readIndex = new Map(reads.map((f, i) => [f, i] as const));
  await db.exec(`CREATE TABLE fg_features (fg_row BIGINT, ${asked.columns.map((c) => `${ident(c.name)} ${sqlTypeOf[c.type]}`).join(', ')})`);
  const argumentSelect = [...new Set([...argumentColumnsOf.values()].flat().map((a) => a.column).filter((c): c is string => c !== null))].map((c) => `, ${ident(c)}`).join('');
  const chunk = Math.max(1, spec.chunkRows ?? 10_000);
  const key = ident(asked.entity.key);
  for (let from = 0; from < total; from += chunk) {
    const rows = await db.query(`SELECT fg_row, ${key}::VARCHAR AS fg_key, fg_asof_ms${argumentSelect} FROM fg_rows WHERE fg_row >= ? AND fg_row < ? ORDER BY fg_row`, [from, from + chunk]);
    const points: PointInTimeRow[] = rows.map((r) => ({ key: String(r.fg_key), asOf: Number(r.fg_asof_ms) }));
    const values = reads.length > 0 ? await spec.history.readAsOf({ features: reads, mode: spec.mode }, points) : points.map(() => []);
    const out = rows.map((row, i) => {
      const got = values[i] ?? [];
      const record: Record<string, SqlValue> = { fg_row: Number(row.fg_row) };
      // Null where a value does not fit its feature's type, as GraphQL nulls it (schema/value-rules.ts).
      for (const feature of asked.stored) record[feature.name] = exportedValue(feature.type, got[readIndex.get(feature) as number]?.value) as SqlValue;
      for (const feature of asked.request) {
        const inputs = feature.inputs.map((input) => got[readIndex.get(input) as number]);
        const rowNumber = Number(row.fg_row) + 1;
        try {
          // As online, by the same function: one that throws, or returns a value its type does not take, refuses the export.
          record[feature.name] = requestFeatureValue(feature, argumentsOf(row, argumentColumnsOf.get(feature.name) ?? [], rowNumber), inputs) as SqlValue;
        } catch (error) {
          if (error instanceof BadInputError) throw error;
          throw new BadInputError(`row ${rowNumber}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return record;
    });
    await db.insertRows('fg_features', out);
    spec.onProgress?.({ rowsDone: Math.min(total, from + chunk), rowsTotal: total });
  }
  const features = asked.columns.map((c) => `f.${ident(c.name)}`).join(', ');
  await copyTo(db, `SELECT ${leadingColumns(asked.entity.key, columns)}, ${features} FROM fg_rows r JOIN fg_features f USING (fg_row) ORDER BY r.fg_row`, spec.out);
}

export async function exportTrainingSet(spec: TrainingSetSpec): Promise<TrainingSetResult> {
  const asked = resolveAsked(spec.registry, spec.features, spec.entity);
  // A view the store holds no change of would come out MISSING on every row: refused, named.
  await requireHistory(spec.history, [...asked.stored, ...asked.request.flatMap((f) => f.inputs)].map((f) => f.view.name));
  const scratch = mkdtempSync(join(tmpdir(), 'featuregraph-training-set-'));
  const db = await EmbeddedSql.open(':memory:', { tempDirectory: join(scratch, 'spill') });
  try {
    await db.exec(`SET TimeZone = 'UTC'`);
    const { total, columns } = await loadRows(db, spec, asked);
    const pushdown = asked.request.length === 0 && spec.history.exportTrainingSet !== undefined;
    if (pushdown) {
      // The store reads a file: the checked rows, asOf already an instant, in their order.
      const rows = join(scratch, 'rows.parquet');
      await copyTo(db, `SELECT ${leadingColumns(asked.entity.key, columns)} FROM fg_rows r ORDER BY r.fg_row`, rows);
      await (spec.history.exportTrainingSet as NonNullable<HistoryStore['exportTrainingSet']>).call(spec.history, {
        query: { features: asked.stored, mode: spec.mode },
        rows: { path: rows, keyColumn: asked.entity.key, asOfColumn },
        out: spec.out,
        now: spec.now,
        onProgress: (rowsDone, rowsTotal) => spec.onProgress?.({ rowsDone, rowsTotal }),
      });
    } else {
      await generic(db, spec, asked, total, columns);
    }
    const leading = [asked.entity.key, asOfColumn, ...columns.filter((c) => c !== asked.entity.key && c !== asOfColumn)];
    return { rows: total, pushdown, entity: asked.entity.name, columns: [...leading, ...asked.columns.map((c) => c.name)] };
  } finally {
    await db.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
