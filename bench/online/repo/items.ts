// The benchmark's feature repo: one entity and one wide column view, so that the two benchmark shapes
// (1 item x 10 features, 100 items x 50 features) read one packed value per item and nothing else.
import { column, entity, featureView, snowflakeTable, type ColumnFeatureDefinition } from 'featuregraph';

export const item = entity({ name: 'Item', key: 'itemId', description: 'A catalog item (benchmark data).' });

export const itemStatsTable = snowflakeTable({
  name: 'item_stats',
  table: 'ITEM_STATS',
  keyColumn: 'ITEM_ID',
  eventTimeColumn: 'COMPUTED_AT',
});

/** How many features the view holds; bench/online/shapes.ts asks for the first 10 or all 50. */
export const itemFeatureCount = 50;

// Generated rather than spelled out: the benchmark cares about the width of the view, not the names.
const features: Record<string, ColumnFeatureDefinition> = Object.fromEntries(
  Array.from({ length: itemFeatureCount }, (_, i) => [`f${i}`, column({ type: 'Float', description: `Synthetic float feature ${i}.` })]),
);

export const itemStats = featureView({
  name: 'item_stats',
  entity: item,
  source: itemStatsTable,
  features,
  freshness: '1h',
  ttl: '7d',
  owner: 'bench',
  tags: ['bench'],
  description: 'Fifty float features per item, loaded by the online benchmark.',
});
