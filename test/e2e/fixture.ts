// An in-process gateway over the food-delivery repo with a clock the test moves, so that windows,
// staleness and decay can be checked to the event without waiting.
import { loadFeatureRepo } from '../../schema/load.js';
import type { FeatureRegistry } from '../../schema/registry.js';
import { MemoryOnlineStore } from '../../adapters/online/memory/index.js';
import type { OnlineStore } from '../../adapters/online/types.js';
import { MemoryStream } from '../../adapters/sources/memory/stream.js';
import { MemoryRows } from '../../adapters/sources/memory/rows.js';
import { MemoryHistoryStore } from '../../adapters/history/memory/index.js';
import type { HistoryStore } from '../../adapters/history/types.js';
import { StreamMaterializer } from '../../materializers/stream/materializer.js';
import { RowMaterializer } from '../../materializers/rows/materializer.js';
import { loadConfig, type GatewayConfigInput } from '../../gateway/config.js';
import { createGateway, type Gateway, type GatewayTelemetry } from '../../gateway/server.js';
import type { ServedLogSink } from '../../resolvers/served-log.js';

export const T0 = Date.parse('2026-06-01T12:00:00.000Z');

export interface Fixture {
  clock: { now: number };
  registry: FeatureRegistry;
  store: OnlineStore;
  /** Every materialized change (availableTime = the clock when materialized); null when started without one. */
  history: HistoryStore | null;
  stream: MemoryStream;
  rows: Record<'restaurants' | 'users' | 'restaurant_prep_stats', MemoryRows>;
  gateway: Gateway;
  url: string;
  /** Produces orders (restaurantId, minutes before now) and materializes them. */
  order(restaurantId: string, userId: string, atMs: number, totalPrice?: number): Promise<void>;
  /** Runs every row materializer once. */
  refreshRows(): Promise<void>;
  query<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] } }>;
  close(): Promise<void>;
}

let seq = 0;

/** `repo`: the feature repo folder the gateway and materializers serve (default: the food-delivery example's). */
export async function startFixture(options: { repo?: string; store?: OnlineStore; history?: HistoryStore | null; config?: Partial<GatewayConfigInput>; fastPath?: boolean; telemetry?: GatewayTelemetry; servedLog?: ServedLogSink } = {}): Promise<Fixture> {
  const clock = { now: T0 };
  const now = () => clock.now;
  const registry = await loadFeatureRepo(options.repo ?? 'examples/food-delivery/features');
  const store = options.store ?? new MemoryOnlineStore({ now });
  const history = options.history === undefined ? new MemoryHistoryStore() : options.history ?? undefined;
  const stream = new MemoryStream(3, now);
  const rows = { restaurants: new MemoryRows('restaurants'), users: new MemoryRows('users'), restaurant_prep_stats: new MemoryRows('restaurant_prep_stats') };
  const streamViews = [...registry.views.values()].filter((v) => v.source.kind === 'stream');
  const materializer = new StreamMaterializer({ topic: 'orders', views: streamViews, store, source: stream, now, history });
  const rowMaterializers = [...registry.views.values()]
    .filter((v) => v.source.kind !== 'stream')
    .map((view) => new RowMaterializer({ view, source: rows[view.source.name as keyof typeof rows], store, now, history }));
  const config = loadConfig({ env: {}, overrides: { port: 0, host: '127.0.0.1', ...options.config } });
  const gateway = await createGateway({ config, registry, store, history, now, fastPath: options.fastPath, telemetry: options.telemetry, servedLog: options.servedLog });
  const url = await gateway.listen();
  const consumer = await stream.consume({ groupId: 'fixture', topics: ['orders'], fromBeginning: true, handle: (b) => materializer.handle(b) });
  return {
    clock,
    registry,
    store,
    history: history ?? null,
    stream,
    rows,
    gateway,
    url,
    async order(restaurantId, userId, atMs, totalPrice = 20) {
      const before = materializer.stats.events;
      await stream.produce('orders', [{ key: restaurantId, value: JSON.stringify({ orderId: `o${++seq}`, restaurantId, userId, createdAt: new Date(atMs).toISOString(), totalPrice, cuisine: 'thai' }) }]);
      // A hang guard, not a time goal: an order the materializer never applies fails here, named.
      for (const deadline = Date.now() + 60_000; materializer.stats.events === before; await new Promise((r) => setTimeout(r, 2))) {
        if (Date.now() > deadline) throw new Error(`order for ${restaurantId} at ${new Date(atMs).toISOString()} not materialized within 60 s: ${JSON.stringify(materializer.stats)}`);
      }
    },
    async refreshRows() {
      for (const m of rowMaterializers) await m.runOnce();
    },
    async query(query, variables, headers = {}) {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
      return { status: response.status, body: (await response.json()) as never };
    },
    async close() {
      await consumer.stop();
      await gateway.close();
      await store.close();
    },
  };
}
