// The batch benchmark's feature repo: one entity and one view of 10 Float columns on a warehouse
// table, which bench/batch/run.ts generates into a temp embedded (DuckDB) database.
import { column, entity, featureView, snowflakeTable, type ColumnFeatureDefinition } from 'featuregraph';

export const batchItem = entity({ name: 'BatchItem', key: 'itemId', description: 'A catalog item (batch benchmark data).' });

export const batchItemsTable = snowflakeTable({
  name: 'batch_items',
  table: 'batch_items',
  keyColumn: 'item_id',
  eventTimeColumn: 'computed_at',
});

export const batchFeatureCount = 10;

// Generated rather than spelled out: the benchmark cares about the width of the view, not the names.
const features: Record<string, ColumnFeatureDefinition> = Object.fromEntries(
  Array.from({ length: batchFeatureCount }, (_, i) => [`f${i}`, column({ type: 'Float', column: `f${i}`, description: `Synthetic float feature ${i}.` })]),
);

export const batchItemStats = featureView({
  name: 'batch_item_stats',
  entity: batchItem,
  source: batchItemsTable,
  features,
  freshness: '1h',
  ttl: '7d',
  owner: 'bench',
  tags: ['bench'],
  description: 'Ten float features per item, materialized by the batch benchmark.',
});
