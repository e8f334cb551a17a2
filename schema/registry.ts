// The validated, indexed form of a feature repo that everything else reads: entities with their
// views and features, ready-made durations and window specs, and the GraphQL names derived from them.
import type {
  EntityDefinition,
  FeatureType,
  FeatureViewDefinition,
  RequestFeatureDefinition,
  SourceDefinition,
  StoredFeatureDefinition,
} from './types.js';
import { BadInputError } from './errors.js';
import { entityFieldNames, type EntityFieldNames } from './names.js';
import type { WindowSpec } from './windows.js';
import type { ResolvedMonitor } from './monitors.js';

export interface ResolvedEntity {
  readonly def: EntityDefinition;
  readonly file: string;
  readonly name: string;
  readonly key: string;
  readonly description: string;
  readonly names: EntityFieldNames;
  readonly views: ResolvedView[];
  /** Stored features (column and windowed), by GraphQL field name. */
  readonly features: Map<string, ResolvedFeature>;
  readonly requestFeatures: Map<string, ResolvedRequestFeature>;
  /** The stored features that split the entity's population for monitoring (EntityDefinition.segments), in declared order. */
  readonly segments: ResolvedFeature[];
}

export interface ResolvedView {
  readonly def: FeatureViewDefinition;
  readonly file: string;
  readonly name: string;
  readonly entity: ResolvedEntity;
  readonly source: SourceDefinition;
  readonly freshnessMs: number;
  readonly ttlMs: number;
  readonly owner: string;
  readonly tags: readonly string[];
  readonly description: string;
  readonly features: ResolvedFeature[];
  /** True when the view's features are windowed aggregations kept as tiles. */
  readonly windowed: boolean;
  /** How long the online store keeps a key: past ttl so that reads can tell EXPIRED from MISSING. */
  readonly retentionMs: number;
}

export interface ResolvedFeature {
  readonly name: string;
  readonly type: FeatureType;
  readonly description: string;
  readonly tags: readonly string[];
  readonly pii: boolean;
  readonly view: ResolvedView;
  readonly def: StoredFeatureDefinition;
  /** Column or document field read, for column features. */
  readonly column: string | null;
  /** Tile layout, for windowed features. */
  readonly window: WindowSpec | null;
  readonly monitor: ResolvedMonitor;
}

export interface ResolvedRequestFeature {
  readonly def: RequestFeatureDefinition;
  readonly file: string;
  readonly name: string;
  readonly type: FeatureType;
  readonly entity: ResolvedEntity;
  readonly inputs: ResolvedFeature[];
  readonly description: string;
  readonly owner: string;
  readonly tags: readonly string[];
  readonly monitor: ResolvedMonitor;
}

export class FeatureRegistry {
  readonly entities: ReadonlyMap<string, ResolvedEntity>;
  readonly views: ReadonlyMap<string, ResolvedView>;

  constructor(entities: ResolvedEntity[]) {
    this.entities = new Map(entities.map((e) => [e.name, e]));
    this.views = new Map(entities.flatMap((e) => e.views.map((v) => [v.name, v] as const)));
  }

  /**
   * The entity named `name`; a name the repo does not define is the asker's mistake (BAD_USER_INPUT),
   * named with the entities that exist. `asked` says where the name came from (`--entity`).
   */
  entity(name: string, asked?: string): ResolvedEntity {
    const found = this.entities.get(name);
    if (!found) throw unknownName(asked, 'entity', name, this.entities.keys());
    return found;
  }

  /** The feature view named `name`, as entity() finds an entity (`asked`: `--view`). */
  view(name: string, asked?: string): ResolvedView {
    const found = this.views.get(name);
    if (!found) throw unknownName(asked, 'feature view', name, this.views.keys());
    return found;
  }

  /** Every stored feature, in definition order. */
  *features(): Iterable<ResolvedFeature> {
    for (const entity of this.entities.values()) yield* entity.features.values();
  }

  *requestFeatures(): Iterable<ResolvedRequestFeature> {
    for (const entity of this.entities.values()) yield* entity.requestFeatures.values();
  }
}

function unknownName(asked: string | undefined, what: string, name: string, known: Iterable<string>): BadInputError {
  return new BadInputError(`${asked === undefined ? '' : `${asked}: `}unknown ${what} ${JSON.stringify(name)}; known: ${[...known].join(', ')}`);
}

export function describeSource(source: SourceDefinition): string {
  switch (source.kind) {
    case 'stream':
      return `kafka topic ${source.topic}`;
    case 'batch':
      return source.table ? `snowflake table ${source.table}` : `snowflake query ${source.name}`;
    case 'document':
      return `mongodb collection ${source.collection}`;
    default: {
      const unreachable: never = source;
      throw new Error(`unknown source ${String(unreachable)}`);
    }
  }
}

export { entityFieldNames };
