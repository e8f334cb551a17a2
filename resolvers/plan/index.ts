// The fast path in front of Apollo: known operations answered from a cached plan. A cache bounded by
// bytes, keyed by the query text and operation name, remembers plans and the operations that have none.
import { parse, type GraphQLSchema, type ValidationRule } from 'graphql';
import type { FeatureRegistry } from '../../schema/registry.js';
import type { OnlineStore } from '../../adapters/online/types.js';
import { ByteBoundedCache, estimateRetainedBytes } from './cache.js';
import { compileOperation, type OperationPlan } from './compile.js';
import { executePlan, type PlanAnswer } from './execute.js';

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
 * The key's text, and the plan's own objects: its syntax tree and one object per root and leaf (registry
 * and schema objects are shared). The tree is parsed without locations, so nothing in a plan links to
 * the whole document or its tokens.
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
      plan = compileOperation(parse(query, { maxTokens: this.options.maxTokens, noLocation: true }), operationName, this.options.registry, this.options.schema, this.options.rules);
    } catch {
      plan = null;
    }
    this.plans.set(cacheKey, plan, entryBytes(cacheKey, plan));
    return plan;
  }

  /**
   * The whole response body; or a null body when Apollo must answer this request, with the store read
   * made for it, if any, which Apollo answers from instead of reading again.
   */
  async answer(body: GraphqlRequestBody): Promise<PlanAnswer> {
    const answer = await this.tryAnswer(body);
    if (answer.body === null) this.stats.declined++;
    else this.stats.answered++;
    return answer;
  }

  private async tryAnswer(body: GraphqlRequestBody): Promise<PlanAnswer> {
    const declined: PlanAnswer = { body: null };
    if (typeof body.query !== 'string' || body.extensions !== undefined) return declined;
    if (body.operationName !== undefined && body.operationName !== null && typeof body.operationName !== 'string') return declined;
    if (body.variables !== undefined && body.variables !== null && (typeof body.variables !== 'object' || Array.isArray(body.variables))) return declined;
    const plan = this.planFor(body.query, (body.operationName as string | null | undefined) ?? undefined);
    if (!plan) return declined;
    return executePlan(plan, { schema: this.options.schema, store: this.options.store, maxEntitiesPerField: this.options.maxEntitiesPerField, now: this.now }, body.variables);
  }
}
