// The checks every GraphQL request passes before it runs, on both serving paths and for every
// operation of a batch: the federation fields answer only where production's switches allow and to
// whoever holds the federation token, and the request's cost (request-cost.ts) stays within the limit.
// The shape of each distinct (operation name, query text) is analysed once, in a cache bounded by bytes.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { FeatureRegistry } from '../schema/registry.js';
import { ByteBoundedCache, estimateRetainedBytes } from '../resolvers/plan/cache.js';
import { federationTokenHeader, type FederationAccess } from './config.js';
import { analyzeOperation, costModel, evaluateCost, type CostModel, type OperationShape } from './request-cost.js';

/** One operation as a client sent it (POST body or GET parameters), nothing checked yet. */
export interface OperationRequest {
  query?: unknown;
  operationName?: unknown;
  /** An object (POST) or its JSON text (GET). */
  variables?: unknown;
}

export interface Refusal {
  status: number;
  code: string;
  message: string;
  extensions?: Record<string, unknown>;
}

export interface RequestGuardOptions {
  schema: GraphQLSchema;
  registry: FeatureRegistry;
  maxCost: number;
  maxTokens: number;
  federation: FederationAccess;
  /** Bytes of analysed shapes kept (default 4 MiB); texts over 64 KiB are analysed each time. */
  cacheBytes?: number;
}

const federationFields = [
  ['_service', 'serviceSdl'],
  ['_entities', 'entities'],
] as const;

const digest = (text: string) => createHash('sha256').update(text).digest();

export class RequestGuard {
  private readonly model: CostModel;
  private readonly shapes: ByteBoundedCache<OperationShape | null>;
  private readonly tokenDigest: Buffer | null;

  constructor(private readonly options: RequestGuardOptions) {
    this.model = costModel(options.schema, options.registry);
    this.shapes = new ByteBoundedCache({ maxBytes: options.cacheBytes ?? 4 * 1024 * 1024, maxEntryBytes: 64 * 1024 });
    this.tokenDigest = options.federation.token === null ? null : digest(options.federation.token);
  }

  /** Null when the operations may run; otherwise why not, as the HTTP answer to give. */
  check(operations: readonly OperationRequest[], headers: IncomingHttpHeaders): Refusal | null {
    for (const operation of operations) {
      const shape = this.shapeOf(operation);
      const refusal = shape === null ? null : this.federationRefusal(shape, headers);
      if (refusal) return refusal;
    }
    const cost = this.costOf(operations);
    if (cost > this.options.maxCost) {
      const shown = Number.isFinite(cost) ? Math.ceil(cost) : Number.MAX_SAFE_INTEGER;
      const what = operations.length > 1 ? `its ${operations.length} operations together cost` : 'it costs';
      return {
        status: 400,
        code: 'LIMIT_EXCEEDED',
        message:
          `this request is over the cost limit: ${what} ${shown}, at most ${this.options.maxCost}. A request costs 1 per value it can return ` +
          `(entities x selected fields, summed over aliases and a batch's operations) and 1 per ${this.model.charsPerUnit} characters of arguments; ask for fewer entities or fields, or split it`,
        extensions: { cost: shown, limit: this.options.maxCost },
      };
    }
    return null;
  }

  /** The cost of operations run together (one request, or a batch). */
  costOf(operations: readonly OperationRequest[]): number {
    let cost = 0;
    for (const operation of operations) {
      const shape = this.shapeOf(operation);
      // Unparsable: nothing of it runs, and Apollo says why.
      if (shape === null) continue;
      try {
        cost += evaluateCost(shape, variablesOf(operation.variables));
      } catch {
        // Too deep to evaluate (the stack ran out): too costly to run.
        cost = Infinity;
      }
    }
    return cost;
  }

  /** What the cache holds (for tests and diagnostics). */
  cacheStats(): { entries: number; bytes: number } {
    return { entries: this.shapes.size, bytes: this.shapes.bytes };
  }

  private shapeOf(operation: OperationRequest): OperationShape | null {
    if (typeof operation.query !== 'string') return null;
    const operationName = typeof operation.operationName === 'string' ? operation.operationName : undefined;
    const key = `${operationName ?? ''}\u0000${operation.query}`;
    const cached = this.shapes.get(key);
    if (cached !== undefined) return cached;
    let document: DocumentNode | null = null;
    try {
      // The same parser and token limit as both paths: what fails here fails there, before running.
      document = parse(operation.query, { maxTokens: this.options.maxTokens, noLocation: true });
    } catch {
      document = null;
    }
    let shape: OperationShape | null = null;
    if (document !== null) {
      try {
        shape = analyzeOperation(document, operationName, this.model);
      } catch {
        // It parsed, so it could run, yet it is too deep to analyse (the stack ran out): too costly to run.
        shape = { cost: Infinity, defaults: new Map(), rootFields: new Set() };
      }
    }
    this.shapes.set(key, shape, estimateRetainedBytes(key) + estimateRetainedBytes(shape));
    return shape;
  }

  private federationRefusal(shape: OperationShape, headers: IncomingHttpHeaders): Refusal | null {
    for (const [field, switchName] of federationFields) {
      if (!shape.rootFields.has(field)) continue;
      if (!this.options.federation[switchName]) {
        return { status: 403, code: 'FORBIDDEN', message: `${field} is off on this gateway: in production it answers only when federation.${switchName} is set` };
      }
      if (this.tokenDigest !== null) {
        const sent = headers[federationTokenHeader];
        // Digests compare in constant time whatever the lengths: nothing is learnt about the token by timing.
        if (typeof sent !== 'string' || !timingSafeEqual(digest(sent), this.tokenDigest)) {
          return { status: 403, code: 'FORBIDDEN', message: `${field} answers only requests carrying the federation token in the ${federationTokenHeader} header` };
        }
      }
    }
    return null;
  }
}

/** Variables as the executor will see them: GET sends their JSON text (unparsable: the request fails before running). */
function variablesOf(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}
