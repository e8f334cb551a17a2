// The builders a feature repo calls. They only record what was declared: validation happens once,
// for the whole repo, so that every problem is reported with its file, view and field at once.
import {
  definitionKind,
  type BatchSourceDefinition,
  type ColumnFeatureDefinition,
  type DocumentSourceDefinition,
  type EntityDefinition,
  type FeatureType,
  type FeatureViewDefinition,
  type RequestFeatureDefinition,
  type StreamSourceDefinition,
  type WindowedFeatureDefinition,
} from './types.js';

export function entity(spec: Omit<EntityDefinition, typeof definitionKind>): EntityDefinition {
  return { [definitionKind]: 'entity', ...spec };
}

export function featureView(spec: Omit<FeatureViewDefinition, typeof definitionKind>): FeatureViewDefinition {
  return { [definitionKind]: 'featureView', ...spec };
}

export function requestFeature(spec: Omit<RequestFeatureDefinition, typeof definitionKind>): RequestFeatureDefinition {
  return { [definitionKind]: 'requestFeature', ...spec };
}

export function kafkaTopic(spec: Omit<StreamSourceDefinition, 'kind'>): StreamSourceDefinition {
  return { kind: 'stream', ...spec };
}

export function snowflakeTable(spec: Omit<BatchSourceDefinition, 'kind'>): BatchSourceDefinition {
  return { kind: 'batch', ...spec };
}

export function mongoCollection(spec: Omit<DocumentSourceDefinition, 'kind'>): DocumentSourceDefinition {
  return { kind: 'document', ...spec };
}

type ColumnSpec = Omit<ColumnFeatureDefinition, 'kind'>;
export function column(spec: ColumnSpec): ColumnFeatureDefinition {
  return { kind: 'column', ...spec };
}

type WindowSpec = Omit<WindowedFeatureDefinition, 'kind' | 'fn' | 'type'> & { type?: FeatureType };

export function count(spec: Omit<WindowSpec, 'field'>): WindowedFeatureDefinition {
  return { kind: 'windowed', fn: 'count', type: 'Int', ...spec };
}
export function sum(spec: WindowSpec & { field: string }): WindowedFeatureDefinition {
  return { kind: 'windowed', fn: 'sum', type: 'Float', ...spec };
}
export function avg(spec: WindowSpec & { field: string }): WindowedFeatureDefinition {
  return { kind: 'windowed', fn: 'avg', type: 'Float', ...spec };
}
export function min(spec: WindowSpec & { field: string }): WindowedFeatureDefinition {
  return { kind: 'windowed', fn: 'min', type: 'Float', ...spec };
}
export function max(spec: WindowSpec & { field: string }): WindowedFeatureDefinition {
  return { kind: 'windowed', fn: 'max', type: 'Float', ...spec };
}
export function last(spec: WindowSpec & { field: string; type: FeatureType }): WindowedFeatureDefinition {
  return { kind: 'windowed', fn: 'last', ...spec };
}
export function distinctCount(spec: WindowSpec & { field: string }): WindowedFeatureDefinition {
  return { kind: 'windowed', fn: 'distinctCount', type: 'Int', ...spec };
}
