// The two request shapes of the online benchmark, shared by the load generator (bench/online/run.ts)
// and the raw baseline server (bench/online/raw-server.ts), so both sides agree on queries, ids and
// the fields each query asks for.

export type ShapeName = '1x10' | '100x50';

/** The view and key layout the benchmark's repo (bench/online/repo) serves. */
export const viewName = 'item_stats';
export const entityKey = 'itemId';
export const itemCount = 100;
export const itemIds: readonly string[] = Array.from({ length: itemCount }, (_, i) => `i${i + 1}`);
export const allFeatures: readonly string[] = Array.from({ length: 50 }, (_, i) => `f${i}`);

export interface Shape {
  name: ShapeName;
  /** The GraphQL document; the raw server recognizes a shape by this exact text. */
  query: string;
  /** Root field of the answer: `item` (one object) or `items` (a list). */
  root: 'item' | 'items';
  /** Name of the variable that carries the id (for `item`) or the ids (for `items`). */
  variable: 'id' | 'ids';
  fields: readonly string[];
  /** Variables of the requests the load generator cycles through. */
  variableSets: readonly Record<string, string | readonly string[]>[];
  defaultConcurrency: number;
}

function selection(fields: readonly string[]): string {
  return `${entityKey} ${fields.join(' ')}`;
}

const tenFeatures = allFeatures.slice(0, 10);

export const shapes: Readonly<Record<ShapeName, Shape>> = {
  // One entity, few features: the per-request overhead (HTTP, parsing, pipeline) dominates.
  '1x10': {
    name: '1x10',
    query: `query Item($id: ID!) { item(itemId: $id) { ${selection(tenFeatures)} } }`,
    root: 'item',
    variable: 'id',
    fields: tenFeatures,
    // Every item in turn, so that neither side can get away with answering one fixed request.
    variableSets: itemIds.map((id) => ({ id })),
    defaultConcurrency: 32,
  },
  // Many entities, many features: per-value work (parsing packed values, writing 5,000 leaves) dominates.
  '100x50': {
    name: '100x50',
    query: `query Items($ids: [ID!]!) { items(itemIds: $ids) { ${selection(allFeatures)} } }`,
    root: 'items',
    variable: 'ids',
    fields: allFeatures,
    variableSets: [{ ids: itemIds }],
    defaultConcurrency: 16,
  },
};

export const shapeNames = Object.keys(shapes) as ShapeName[];

export function isShapeName(value: string): value is ShapeName {
  return Object.hasOwn(shapes, value);
}
