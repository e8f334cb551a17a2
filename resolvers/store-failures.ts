// Failed store reads of one request, reported once per field path rather than once per list element:
// a read of 1,000 entities x 10 features that fails is 10 errors, each with the path of the first
// value it left null and `extensions.count`, the number of values it left null along that path (a
// failed batch read fails every entity of the level alike). graphql-js would report 10,000 errors
// there (2.55 MB). Both serving paths build their errors here, so that they give the same bytes.
import { getLocation, responsePathAsArray, type ASTNode, type GraphQLFormattedError, type GraphQLResolveInfo } from 'graphql';
import { clientView } from './errors.js';

type PathKey = string | number;

/** Codes of a store that failed to answer, whichever field asked: these collapse per field path. */
const storeCodes: ReadonlySet<unknown> = new Set(['ONLINE_STORE_UNAVAILABLE', 'ONLINE_STORE_TIMEOUT', 'HISTORY_STORE_UNAVAILABLE']);

interface Group {
  message: string;
  extensions: Record<string, unknown>;
  location: { line: number; column: number } | undefined;
  /** The first path (by list indexes) along which the failure left a value null. */
  path: PathKey[];
  count: number;
}

function locationOf(node: ASTNode | undefined): { line: number; column: number } | undefined {
  return node?.loc ? getLocation(node.loc.source, node.loc.start) : undefined;
}

/** Whether path a comes before path b of the same pattern (they differ only in list indexes). */
function earlier(a: readonly PathKey[], b: readonly PathKey[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (typeof x === 'number' && typeof y === 'number' && x !== y) return x < y;
  }
  return false;
}

export class StoreFailures {
  private readonly groups = new Map<string, Group>();

  get size(): number {
    return this.groups.size;
  }

  /** `count` values along `path` (one per list element at its indexes) were left null by `error`. */
  add(error: unknown, node: ASTNode | undefined, path: readonly PathKey[], count = 1): void {
    const { message, extensions } = clientView(error);
    this.addFormatted(message, extensions, locationOf(node), path, count);
  }

  /** From a resolver: the field being resolved was left null by `error`. */
  addAt(error: unknown, info: GraphQLResolveInfo): void {
    this.add(error, info.fieldNodes[0], responsePathAsArray(info.path));
  }

  private addFormatted(message: string, extensions: Record<string, unknown>, location: Group['location'], path: readonly PathKey[], count: number): void {
    const pattern = path.map((key) => (typeof key === 'number' ? '#' : key)).join('.');
    const id = `${pattern}\u0000${String(extensions.code)}\u0000${message}`;
    const group = this.groups.get(id);
    if (!group) {
      this.groups.set(id, { message, extensions, location, path: [...path], count });
      return;
    }
    group.count += count;
    if (earlier(path, group.path)) group.path = [...path];
  }

  /**
   * Takes the store failures out of errors graphql-js reported one by one (fields that cannot be null
   * carry theirs up: `featureMeta` nulls its entity), so that they too count once per field path.
   * Returns the other errors, in their order.
   */
  absorb(errors: readonly GraphQLFormattedError[]): GraphQLFormattedError[] {
    const others: GraphQLFormattedError[] = [];
    for (const error of errors) {
      if (!error.path || !storeCodes.has(error.extensions?.code)) {
        others.push(error);
        continue;
      }
      this.addFormatted(error.message, { ...error.extensions }, error.locations?.[0], error.path, 1);
    }
    return others;
  }

  /** One error per field path and failure, in document order (by location, then path). */
  format(): GraphQLFormattedError[] {
    const groups = [...this.groups.values()];
    groups.sort((a, b) => {
      const byLine = (a.location?.line ?? 0) - (b.location?.line ?? 0);
      if (byLine !== 0) return byLine;
      const byColumn = (a.location?.column ?? 0) - (b.location?.column ?? 0);
      if (byColumn !== 0) return byColumn;
      const pa = a.path.join('.');
      const pb = b.path.join('.');
      return pa < pb ? -1 : pa > pb ? 1 : 0;
    });
    return groups.map((g) => ({ message: g.message, ...(g.location ? { locations: [g.location] } : {}), path: g.path, extensions: { ...g.extensions, count: g.count } }));
  }
}
