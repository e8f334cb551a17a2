// featureCatalog: every feature with what a person needs to find and trust it.
import { formatDuration } from '../schema/duration.js';
import { describeSource, type FeatureRegistry } from '../schema/registry.js';

export interface FeatureInfo {
  id: string;
  name: string;
  entity: string;
  view: string | null;
  type: string;
  description: string;
  owner: string;
  source: string;
  sourceKind: string;
  freshnessSla: string | null;
  ttl: string | null;
  tags: readonly string[];
  pii: boolean;
  aggregation: string | null;
  window: string | null;
  arguments: string[];
  inputs: string[];
}

/** Words a search matches besides the info's own fields: the view's description. */
const extraSearchText = new WeakMap<FeatureInfo, string>();

export function catalogOf(registry: FeatureRegistry): FeatureInfo[] {
  const infos: FeatureInfo[] = [];
  for (const feature of registry.features()) {
    const view = feature.view;
    infos.push({
      id: `${view.entity.name}.${feature.name}`,
      name: feature.name,
      entity: view.entity.name,
      view: view.name,
      type: feature.type,
      description: feature.description || view.description,
      owner: view.owner,
      source: describeSource(view.source),
      sourceKind: view.source.kind,
      freshnessSla: formatDuration(view.freshnessMs),
      ttl: formatDuration(view.ttlMs),
      tags: feature.tags,
      pii: feature.pii,
      aggregation: feature.window?.fn ?? null,
      window: feature.window ? formatDuration(feature.window.windowMs) : null,
      arguments: [],
      inputs: [],
    });
    extraSearchText.set(infos[infos.length - 1] as FeatureInfo, view.description);
  }
  for (const feature of registry.requestFeatures()) {
    infos.push({
      id: `${feature.entity.name}.${feature.name}`,
      name: feature.name,
      entity: feature.entity.name,
      view: null,
      type: feature.type,
      description: feature.description,
      owner: feature.owner,
      source: 'request time',
      sourceKind: 'request',
      freshnessSla: null,
      ttl: null,
      tags: feature.tags,
      pii: false,
      aggregation: null,
      window: null,
      arguments: Object.entries(feature.def.arguments).map(([name, type]) => `${name}: ${type}`),
      inputs: feature.inputs.map((i) => i.name),
    });
  }
  return infos;
}

export interface CatalogFilter {
  search?: string | null;
  entity?: string | null;
  tag?: string | null;
}

export function searchCatalog(infos: readonly FeatureInfo[], filter: CatalogFilter): FeatureInfo[] {
  const search = filter.search?.trim().toLowerCase();
  const entity = filter.entity?.trim().toLowerCase();
  const tag = filter.tag?.trim().toLowerCase();
  return infos.filter((info) => {
    if (entity && info.entity.toLowerCase() !== entity) return false;
    if (tag && !info.tags.some((t) => t.toLowerCase() === tag)) return false;
    if (search) {
      const haystack = [info.id, info.description, extraSearchText.get(info) ?? '', info.owner, info.view ?? '', info.source, ...info.tags].join('\n').toLowerCase();
      return search.split(/\s+/).every((word) => haystack.includes(word));
    }
    return true;
  });
}
