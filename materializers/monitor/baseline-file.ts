// A baseline read from a training-set export (`featuregraph training-set`, POST /training-set) or any
// file of that shape: Parquet, CSV or NDJSON with the entity's key column, feature columns named after
// their features, and, when present, the entity's segment feature columns (put them in the training
// set's --features to get per-segment baselines). Read with DuckDB as training sets read their rows,
// chunk by chunk; columns of other names (asOf, request arguments) are ignored.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadInputError } from '../../schema/errors.js';
import { segmentLabel } from '../../schema/health.js';
import type { FeatureRegistry, ResolvedEntity } from '../../schema/registry.js';
import type { FeatureType, FeatureValue } from '../../schema/types.js';
import { EmbeddedSql } from '../../adapters/sources/embedded/index.js';
import { rowsFormatOf, rowsReaderSql } from '../../adapters/sources/embedded/instant-sql.js';
import { BaselineBuilder, type Baseline } from './baseline.js';
import { monitoredFeatures } from './features.js';

export interface FileBaselineOptions {
  /** The entity whose features the file holds; default: the one entity whose key column it has. */
  entity?: string;
  /** Where the path came from, for messages (`--baseline`). */
  where?: string;
  /** Rows per chunk read (default 10,000). */
  chunkRows?: number;
}

/** Each column read as its feature's type: a CSV's sniffed text or a Parquet's INTEGER becomes what the feature holds. */
const sqlTypeOf: Record<FeatureType, string> = { Int: 'DOUBLE', Float: 'DOUBLE', String: 'VARCHAR', Boolean: 'BOOLEAN', '[Float]': 'DOUBLE[]', '[String]': 'VARCHAR[]' };
/** Segment columns keep integers integral: the served log labels an Int segment "n=3", never "n=3.0". */
const segmentSqlTypeOf: Partial<Record<FeatureType, string>> = { Int: 'BIGINT', String: 'VARCHAR', Boolean: 'BOOLEAN' };

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const firstLine = (error: unknown): string => (error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error));

function entityOf(registry: FeatureRegistry, columns: ReadonlySet<string>, options: FileBaselineOptions, where: string, path: string): ResolvedEntity {
  if (options.entity !== undefined) {
    const entity = registry.entity(options.entity, '--entity');
    if (!columns.has(entity.key)) throw new BadInputError(`${where} ${path} has no column "${entity.key}" (the ${entity.name} key); columns present: ${[...columns].join(', ')}`);
    return entity;
  }
  const keyed = [...registry.entities.values()].filter((entity) => columns.has(entity.key));
  if (keyed.length === 1) return keyed[0] as ResolvedEntity;
  const keys = [...registry.entities.values()].map((e) => `${e.key} (${e.name})`).join(', ');
  if (keyed.length === 0) throw new BadInputError(`${where} ${path} has no entity key column (one of ${keys}); columns present: ${[...columns].join(', ')}`);
  throw new BadInputError(`${where} ${path} has the key columns of ${keyed.map((e) => e.name).join(' and ')}: name the entity (--entity)`);
}

/** A row's segment labels, from the segment columns the file has. */
function rowSegmentLabels(segmentColumns: readonly string[], row: Readonly<Record<string, unknown>>): string[] {
  return segmentColumns.map((column) => segmentLabel(column, (row[column] ?? null) as FeatureValue));
}

export async function fileBaseline(registry: FeatureRegistry, path: string, options: FileBaselineOptions = {}): Promise<Baseline> {
  const where = options.where ?? 'baseline';
  const format = rowsFormatOf(path);
  if (format === null) throw new BadInputError(`${where} must be a .parquet, .csv or .ndjson file (a training-set export), got ${path}`);
  const scratch = mkdtempSync(join(tmpdir(), 'featuregraph-baseline-'));
  const db = await EmbeddedSql.open(':memory:', { tempDirectory: join(scratch, 'spill') });
  try {
    const reader = rowsReaderSql(path, format);
    let described;
    try {
      described = await db.query(`DESCRIBE SELECT * FROM ${reader}`);
    } catch (error) {
      throw new BadInputError(`${where}: cannot read ${path}: ${firstLine(error)}`);
    }
    const columns = new Set(described.map((d) => String(d.column_name)));
    const entity = entityOf(registry, columns, options, where, path);
    const features = monitoredFeatures(registry, { entity: entity.name }).filter((f) => columns.has(f.name));
    if (features.length === 0) {
      throw new BadInputError(`${where} ${path} has no column named after a monitored feature of ${entity.name} (${monitoredFeatures(registry, { entity: entity.name }).map((f) => f.name).join(', ')}); columns present: ${[...columns].join(', ')}`);
    }
    const segments = entity.segments.filter((segment) => columns.has(segment.name));
    const select = new Map<string, string>();
    for (const feature of features) select.set(feature.name, `TRY_CAST(${ident(feature.name)} AS ${sqlTypeOf[feature.type]}) AS ${ident(feature.name)}`);
    // A segment that is a monitored feature too is read as a segment: its values name segments.
    for (const segment of segments) select.set(segment.name, `TRY_CAST(${ident(segment.name)} AS ${segmentSqlTypeOf[segment.type] ?? 'VARCHAR'}) AS ${ident(segment.name)}`);
    try {
      await db.exec(`CREATE TABLE fg_baseline AS SELECT row_number() OVER () - 1 AS fg_row, ${[...select.values()].join(', ')} FROM ${reader}`);
    } catch (error) {
      throw new BadInputError(`${where}: cannot read ${path}: ${firstLine(error)}`);
    }
    const [count] = await db.query('SELECT count(*) AS n FROM fg_baseline');
    const total = Number(count?.n ?? 0);
    const builder = new BaselineBuilder();
    const segmentColumns = segments.map((segment) => segment.name);
    const chunk = Math.max(1, options.chunkRows ?? 10_000);
    for (let from = 0; from < total; from += chunk) {
      const rows = await db.query('SELECT * FROM fg_baseline WHERE fg_row >= ? AND fg_row < ?', [from, from + chunk]);
      for (const row of rows) {
        const labels = rowSegmentLabels(segmentColumns, row);
        for (const feature of features) builder.add('any', feature, labels, 'PRESENT', (row[feature.name] ?? null) as FeatureValue);
      }
    }
    return builder.build(`file ${path} (${total} ${entity.name} rows)`);
  } finally {
    await db.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
