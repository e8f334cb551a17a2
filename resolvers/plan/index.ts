// The fast path in front of Apollo: known operations answered from a cached plan. A cache bounded by
// bytes, keyed by the query text and operation name, remembers plans and the operations that have none.
import { parse, type GraphQLSchema, type Location, type ValidationRule } from 'graphql';
import type { FeatureRegistry } from '../../schema/registry.js';
import type { OnlineStore } from '../../adapters/online/types.js';
import { ByteBoundedCache, estimateRetainedBytes } from './cache.js';
import { compileOperation, type OperationPlan } from './compile.js';
import { executePlan, type PlanAnswer } from './execute.js';
import type { OperationTelemetry } from '../telemetry.js';
import type { ServedLogSink } from '../served-log.js';

export type { PlanAnswer };

export interface FastPathOptions {
  registry: FeatureRegistry;
  schema: GraphQLSchema;
  store: OnlineStore;
  /** Validation rules Apollo applies (spec rules plus limits): a plan exists only for operations that pass them. */
  rules: readonly ValidationRule[];
  maxEntitiesPerField: number;
  maxTokens: number;
  now?: () => number;
  /** Most bytes the plan cache holds: query texts and plans (default 16 MiB). */
  cacheBytes?: number;
  /** Larger query texts and plans are answered but not kept (default 256 KiB): no one repeats such a text. */
  maxCachedEntryBytes?: number;
}

/** What a plan cache holds: entries and their estimated bytes. */
export interface PlanCacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
}

/**
 * A parsed document whose nodes keep where they are in the query (errors the fast path writes name
 * their fields' line and column, as Apollo's do) but not the tokens: a node's Location links the
 * document's whole token list. Each node's `loc` becomes { start, end, source }, which is all
 * GraphQLError reads, not enumerable (the plan cache counts the query text once, as its key; the
 * source's body is that very string).
 */
function withoutTokens<T>(node: T): T {
  if (Array.isArray(node)) {
    for (const item of node) withoutTokens(item);
    return node;
  }
  if (typeof node !== 'object' || node === null) return node;
  const record = node as Record<string, unknown>;
  for (const [name, value] of Object.entries(record)) {
    if (name === 'loc') {
      const loc = value as Location | undefined;
      if (loc) Object.defineProperty(record, 'loc', { value: { start: loc.start, end: loc.end, source: loc.source }, enumerable: false, writable: true, configurable: true });
    } else if (typeof value === 'object' && value !== null) withoutTokens(value);
  }
  return node;
}

/**
 * The key's text, and the plan's own objects: its syntax tree and one object per root and leaf (registry
 * and schema objects are shared). The tree keeps no tokens (withoutTokens), so nothing in a plan links
 * to the document's token list.
 */
function entryBytes(key: string, plan: OperationPlan | null): number {
  if (plan === null) return estimateRetainedBytes(key);
  const leaves = plan.roots.reduce((n, root) => n + root.leaves.length, 0);
  return estimateRetainedBytes(key) + estimateRetainedBytes(plan.operation) + 128 * (plan.roots.length + leaves);
}

export interface GraphqlRequestBody {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
}

export class FastPath {
  /** Requests answered here, and those handed to Apollo. */
  readonly stats = { answered: 0, declined: 0 };
  private readonly plans: ByteBoundedCache<OperationPlan | null>;
  private readonly now: () => number;

  constructor(private readonly options: FastPathOptions) {
    this.plans = new ByteBoundedCache({ maxBytes: options.cacheBytes ?? 16 * 1024 * 1024, maxEntryBytes: options.maxCachedEntryBytes ?? 256 * 1024 });
    this.now = options.now ?? Date.now;
  }

  cacheStats(): PlanCacheStats {
    return { entries: this.plans.size, bytes: this.plans.bytes, maxBytes: this.plans.maxBytes };
  }

  private planFor(query: string, operationName: string | undefined): OperationPlan | null {
    const cacheKey = operationName === undefined ? query : `${operationName}\u0000${query}`;
    const cached = this.plans.get(cacheKey);
    if (cached !== undefined) return cached;
    let plan: OperationPlan | null = null;
    try {
      plan = compileOperation(withoutTokens(parse(query, { maxTokens: this.options.maxTokens })), operationName, this.options.registry, this.options.schema, this.options.rules);
    } catch {
      plan = null;
    }
    this.plans.set(cacheKey, plan, entryBytes(cacheKey, plan));
    return plan;
  }

  /**
   * The whole response body; or a null body when Apollo must answer this request, with the store read
   * made for it, if any, which Apollo answers from instead of reading again. `operation`, when the
   * gateway has telemetry, is told what an answer of this path served; `servedLog`, when the request
   * is sampled for the served-feature log, gets the records of an answer of this path.
   */
  async answer(body: GraphqlRequestBody, operation: OperationTelemetry | null = null, servedLog: ServedLogSink | null = null): Promise<PlanAnswer> {
    const answer = await this.tryAnswer(body, operation, servedLog);
    if (answer.body === null) this.stats.declined++;
    else this.stats.answered++;
    return answer;
  }

  private async tryAnswer(body: GraphqlRequestBody, operation: OperationTelemetry | null, servedLog: ServedLogSink | null): Promise<PlanAnswer> {
    const declined: PlanAnswer = { body: null };
    if (typeof body.query !== 'string' || body.extensions !== undefined) return declined;
    if (body.operationName !== undefined && body.operationName !== null && typeof body.operationName !== 'string') return declined;
    if (body.variables !== undefined && body.variables !== null && (typeof body.variables !== 'object' || Array.isArray(body.variables))) return declined;
    const plan = this.planFor(body.query, (body.operationName as string | null | undefined) ?? undefined);
    if (!plan) return declined;
    return executePlan(plan, { schema: this.options.schema, store: this.options.store, maxEntitiesPerField: this.options.maxEntitiesPerField, now: this.now }, body.variables, operation, servedLog);
  }
}
