// The benchmark's feature repo: one entity and one wide column view, so that the two benchmark shapes
// (1 item x 10 features, 100 items x 50 features) read one packed value per item and nothing else.
// The item's segment (bucket) is in the same view: a request sampled for the served-feature log reads
// no other key, as when an entity's segments sit beside its features.
import { column, entity, featureView, snowflakeTable, type ColumnFeatureDefinition } from 'featuregraph';

export const item = entity({ name: 'Item', key: 'itemId', description: 'A catalog item (benchmark data).', segments: ['bucket'] });

export const itemStatsTable = snowflakeTable({
  name: 'item_stats',
  table: 'ITEM_STATS',
  keyColumn: 'ITEM_ID',
  eventTimeColumn: 'COMPUTED_AT',
});

/** How many features the view holds; bench/online/shapes.ts asks for the first 10 or all 50. */
export const itemFeatureCount = 50;

// Generated rather than spelled out: the benchmark cares about the width of the view, not the names.
const features: Record<string, ColumnFeatureDefinition> = {
  ...Object.fromEntries(Array.from({ length: itemFeatureCount }, (_, i) => [`f${i}`, column({ type: 'Float', description: `Synthetic float feature ${i}.` })])),
  bucket: column({ type: 'Int', description: 'Which of ten buckets the item is in: its segment in the served-feature log.' }),
};

export const itemStats = featureView({
  name: 'item_stats',
  entity: item,
  source: itemStatsTable,
  features,
  freshness: '1h',
  ttl: '7d',
  owner: 'bench',
  tags: ['bench'],
  description: 'Fifty float features and a bucket per item, loaded by the online benchmark.',
});
