// Views as they cross the socket between a client of a shared history file and its owner (shared.ts).
// The owner may not have the client's repo loaded (a backfill owns the file with one view; a gateway
// may run another version of the repo), so a view travels as the plain data of its definition: its
// entity's name and key, its source and features as declared, its durations as written. The owner
// revives it through buildRegistry, the validation every repo goes through, so the ResolvedView the
// store reads (windows, ttl, retention, layout) is derived by the one code that derives it anywhere.
import { serialize } from 'node:v8';
import { entity, featureView } from '../../../schema/define.js';
import type { ResolvedFeature, ResolvedView } from '../../../schema/registry.js';
import type { SourceDefinition, StoredFeatureDefinition } from '../../../schema/types.js';
import { buildRegistry } from '../../../schema/validate.js';
import { BadInputError } from '../../../schema/errors.js';
import type { PointInTimeQuery } from '../types.js';
import type { WireQuery } from './wire.js';

export interface ViewDescriptor {
  entity: { name: string; key: string; description: string };
  name: string;
  source: SourceDefinition;
  features: Record<string, StoredFeatureDefinition>;
  freshness: string;
  ttl: string;
  owner: string;
  tags: string[];
  description: string;
  pii: boolean;
}

/** The declared fields of a source, and nothing else a repo may have hung on the object. */
function plainSource(source: SourceDefinition): SourceDefinition {
  switch (source.kind) {
    case 'stream':
      return { kind: 'stream', name: source.name, topic: source.topic, keyField: source.keyField, eventTimeField: source.eventTimeField, fields: { ...source.fields } };
    case 'batch':
      return { kind: 'batch', name: source.name, keyColumn: source.keyColumn, eventTimeColumn: source.eventTimeColumn, ...(source.table === undefined ? {} : { table: source.table }), ...(source.query === undefined ? {} : { query: source.query }) };
    case 'document':
      return { kind: 'document', name: source.name, collection: source.collection, keyField: source.keyField, updatedAtField: source.updatedAtField, ...(source.filter === undefined ? {} : { filter: source.filter }) };
    default: {
      const unreachable: never = source;
      throw new Error(`unknown source ${String(unreachable)}`);
    }
  }
}

function plainFeature(def: StoredFeatureDefinition): StoredFeatureDefinition {
  const common = { type: def.type, ...(def.description === undefined ? {} : { description: def.description }), ...(def.tags === undefined ? {} : { tags: [...def.tags] }), ...(def.pii === undefined ? {} : { pii: def.pii }) };
  if (def.kind === 'column') return { kind: 'column', ...common, ...(def.column === undefined ? {} : { column: def.column }) };
  return { kind: 'windowed', ...common, fn: def.fn, window: def.window, ...(def.field === undefined ? {} : { field: def.field }) };
}

const described = new WeakMap<ResolvedView, ViewDescriptor>();

export function describeView(view: ResolvedView): ViewDescriptor {
  let descriptor = described.get(view);
  if (descriptor === undefined) {
    const def = view.def;
    descriptor = {
      entity: { name: view.entity.name, key: view.entity.key, description: view.entity.description },
      name: view.name,
      source: plainSource(view.source),
      features: Object.fromEntries(Object.entries(def.features).map(([name, feature]) => [name, plainFeature(feature)])),
      freshness: def.freshness,
      ttl: def.ttl,
      owner: view.owner,
      tags: [...view.tags],
      description: view.description,
      pii: def.pii === true,
    };
    described.set(view, descriptor);
  }
  return descriptor;
}

/** Revives descriptors into views; the same descriptor gives the same view object (reads group features by view). */
export class ViewReviver {
  private readonly views = new Map<string, ResolvedView>();

  revive(descriptor: ViewDescriptor): ResolvedView {
    const id = serialize(descriptor).toString('base64');
    let view = this.views.get(id);
    if (view === undefined) {
      const owner = entity(descriptor.entity);
      const definition = featureView({
        name: descriptor.name,
        entity: owner,
        source: descriptor.source,
        features: descriptor.features,
        freshness: descriptor.freshness,
        ttl: descriptor.ttl,
        owner: descriptor.owner,
        tags: descriptor.tags,
        description: descriptor.description,
        pii: descriptor.pii,
      });
      view = buildRegistry([{ file: `(view ${descriptor.name} from a history client)`, exports: { owner, definition } }]).view(descriptor.name);
      this.views.set(id, view);
    }
    return view;
  }
}

/** A query as it crosses: one descriptor per view, features by (view index, name). */
export function toWireQuery(query: PointInTimeQuery): WireQuery {
  const views: ResolvedView[] = [];
  const features = query.features.map((feature) => {
    let index = views.indexOf(feature.view);
    if (index < 0) index = views.push(feature.view) - 1;
    return { view: index, name: feature.name };
  });
  return { mode: query.mode, views: views.map(describeView), features };
}

export function fromWireQuery(reviver: ViewReviver, query: WireQuery): PointInTimeQuery {
  const views = query.views.map((descriptor) => reviver.revive(descriptor));
  const features = query.features.map(({ view, name }): ResolvedFeature => {
    const feature = views[view]?.features.find((f) => f.name === name);
    if (feature === undefined) throw new BadInputError(`history query names feature ${name} of view #${view}, which its views do not have`);
    return feature;
  });
  return { mode: query.mode, features };
}
