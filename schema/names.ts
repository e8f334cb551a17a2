// Names the GraphQL contract derives from an entity: Restaurant -> restaurant, restaurants(restaurantIds:),
// restaurantTrainingSet, RestaurantAsOfInput. Clients outside this repository rely on these.
const graphqlName = /^[_A-Za-z][_0-9A-Za-z]*$/;

export function isGraphqlName(name: unknown): name is string {
  return typeof name === 'string' && graphqlName.test(name) && !name.startsWith('__');
}

export function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

export function plural(word: string): string {
  if (/[^aeiou]y$/i.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(word)) return `${word}es`;
  return `${word}s`;
}

export interface EntityFieldNames {
  lookup: string;
  list: string;
  listKeys: string;
  trainingSet: string;
  asOfInput: string;
  metaType: string;
}

export function entityFieldNames(entityName: string, key: string): EntityFieldNames {
  const lookup = lowerFirst(entityName);
  return {
    lookup,
    list: plural(lookup),
    listKeys: plural(key),
    trainingSet: `${lookup}TrainingSet`,
    asOfInput: `${entityName}AsOfInput`,
    metaType: `${entityName}FeatureMeta`,
  };
}

/** The schema's own types and root fields besides the entities' (sdl.ts): no entity may take their names. */
export const reservedTypeNames = new Set(['Query', 'DateTime', 'JSON', 'TimeMode', 'FeatureStatus', 'FeatureValueMeta', 'FeatureInfo', 'HealthDirection', 'CategoryShare', 'SkewExample', 'FeatureHealth']);
export const reservedRootFields = new Set(['featureCatalog', 'featureHealth']);

/** Field names every entity type carries besides its features. */
export const reservedFieldNames = new Set(['featureMeta', '__typename']);
