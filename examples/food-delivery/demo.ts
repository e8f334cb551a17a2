// The embedded demo: an in-process orders stream, a restaurants and a users collection, and hourly
// prep-time rollups in an embedded SQL table (DuckDB, standing in for the warehouse), all generated
// live so that the served features move while you watch.
// Restaurants are r1..r50 and users u1..u200: clients and the README rely on these ids.
import { MemoryStream } from '../../adapters/sources/memory/stream.js';
import { MemoryRows } from '../../adapters/sources/memory/rows.js';
import { EmbeddedSql } from '../../adapters/sources/embedded/index.js';
import type { RowSource } from '../../adapters/sources/types.js';
import type { SourceBindings } from '../../materializers/runtime.js';
import type { HistoryRecord, HistoryStore } from '../../adapters/history/types.js';
import { seededRandom } from '../../schema/random.js';

export const restaurantIds = Array.from({ length: 50 }, (_, i) => `r${i + 1}`);
export const userIds = Array.from({ length: 200 }, (_, i) => `u${i + 1}`);

/** Restaurants' cities and users' countries: the populations the monitor watches one by one. */
export const cities = ['Berlin', 'Hamburg', 'Munich', 'Cologne', 'Frankfurt'];
export const countries = ['DE', 'AT', 'CH', 'NL'];
export const cityOf = (restaurantId: string): string => cities[(Number(restaurantId.slice(1)) - 1) % cities.length] as string;
export const countryOf = (userId: string): string => countries[(Number(userId.slice(1)) - 1) % countries.length] as string;

const cuisines = [['thai', 'noodles'], ['pizza', 'italian'], ['sushi', 'japanese'], ['burgers', 'american'], ['curry', 'indian'], ['tacos', 'mexican'], ['salad', 'healthy'], ['ramen', 'japanese', 'noodles'], ['kebab', 'turkish'], ['dim sum', 'chinese']];

/** A small seeded generator, so that two demo runs with one seed tell the same story. */
export const random = seededRandom;

export interface DemoOptions {
  seed?: number;
  ordersPerSecond?: number;
  now?: () => number;
  /** How often a restaurant opens or closes (closed ones get no orders, so their counts decay). */
  toggleEveryMs?: number;
  /** How much past the demo loads at start (default: a day, enough for every window). */
  historyMs?: number;
  /**
   * When a change of the pre-loaded past became readable online, had the materializers run all along
   * (default: pastLagMs of its view after its event). The materializers see that past only at start,
   * so without this every past change would read as available at start, and SERVED reads of the past
   * would find nothing.
   */
  pastAvailability?: (record: HistoryRecord) => number;
  /**
   * A breakage in one city, for the monitoring walk-through (README "Monitoring"): from breakAfterMs
   * after start, the ordering service of this city sends menuSize as null for its restaurants, the others
   * keep theirs (default: FEATUREGRAPH_DEMO_BREAK, a city such as "Berlin"; none when unset).
   */
  breakCity?: string;
  /** When the breakage starts (default FEATUREGRAPH_DEMO_BREAK_AFTER_MS, else 30 s). */
  breakAfterMs?: number;
}

/**
 * How long after its event each view's change became readable in normal operation: stream views a
 * couple of seconds (consume, tile, write), views of tables and collections at most one interval of
 * their schedule: half their freshness SLA (SLAs of 5m, 10m and 2h here), the scheduler's default,
 * which the demo runs with as `featuregraph materialize` does.
 */
export const pastLagMs: Readonly<Record<string, number>> = {
  restaurant_order_activity: 2_000,
  user_order_activity: 2_000,
  restaurant_profile: 150_000,
  user_profile: 300_000,
  restaurant_prep: 3_600_000,
};

/** A history store that stamps the pre-loaded past with when it would have become readable. */
class PastStampedHistory implements HistoryStore {
  readonly exportTrainingSet?: HistoryStore['exportTrainingSet'];

  constructor(
    private readonly inner: HistoryStore,
    private readonly startedAt: () => number | null,
    private readonly availability: (record: HistoryRecord) => number,
  ) {
    if (inner.exportTrainingSet) this.exportTrainingSet = (spec) => (inner.exportTrainingSet as NonNullable<HistoryStore['exportTrainingSet']>).call(inner, spec);
  }

  get name(): string {
    return this.inner.name;
  }

  append(records: readonly HistoryRecord[]): Promise<void> {
    const t0 = this.startedAt();
    if (t0 === null) return this.inner.append(records);
    // Only the past loaded at start: it reaches the materializers at t0 though it happened before.
    return this.inner.append(records.map((r) => (r.eventTime < t0 && r.availableTime >= t0 ? { ...r, availableTime: Math.min(r.availableTime, this.availability(r)) } : r)));
  }

  /** Watermarks as they come: the past loaded at start has none (its SERVED reads are never STALE). */
  appendWatermarks(...args: Parameters<HistoryStore['appendWatermarks']>): ReturnType<HistoryStore['appendWatermarks']> {
    return this.inner.appendWatermarks(...args);
  }

  readAsOf(...args: Parameters<HistoryStore['readAsOf']>): ReturnType<HistoryStore['readAsOf']> {
    return this.inner.readAsOf(...args);
  }

  scan(...args: Parameters<HistoryStore['scan']>): ReturnType<HistoryStore['scan']> {
    return this.inner.scan(...args);
  }

  count(view: string): Promise<number> {
    return this.inner.count(view);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** What caughtUp watches of a materializer runtime (startMaterializers' result): every row view ran once at start. */
export interface MaterializerProgress {
  streams: readonly { stats: { events: number } }[];
  rows: readonly { stats: { runs: number } }[];
}

export interface Demo {
  bindings: Required<SourceBindings>;
  stream: MemoryStream;
  /** Loads the past (24 h of orders, 7 d of rollups, the collections) and starts the live generators. */
  start(): Promise<void>;
  /** The store to give the materializers: it stamps the pre-loaded past with realistic availableTime. */
  recordHistory(history: HistoryStore): HistoryStore;
  /** Resolves once the materializers have applied the past loaded at start (and each row view's run at start went through). */
  caughtUp(runtime: MaterializerProgress, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  isOpen(restaurantId: string): boolean;
}

export function createDemo(options: DemoOptions = {}): Demo {
  const rand = random(options.seed ?? 42);
  const now = options.now ?? Date.now;
  const rate = options.ordersPerSecond ?? 0.5;
  const stream = new MemoryStream(3, now);
  const restaurantDocs = new MemoryRows('restaurants');
  const userDocs = new MemoryRows('users');
  // The warehouse table, opened by start(): the materializers read it through the same RowSource
  // interface as a Snowflake table.
  let warehouse: EmbeddedSql | null = null;
  let prepStats: RowSource | null = null;
  const prepTable = 'RESTAURANT_PREP_STATS';
  const open = new Map(restaurantIds.map((id, i) => [id, i < 42]));
  const cuisineOf = new Map(restaurantIds.map((id, i) => [id, cuisines[i % cuisines.length] as string[]]));
  const menuSize = new Map(restaurantIds.map((id) => [id, 10 + Math.floor(rand() * 70)]));
  const basePrep = new Map(restaurantIds.map((id) => [id, 420 + Math.floor(rand() * 900)]));
  const popularity = restaurantIds.map((_, i) => 1 / Math.pow(i + 1, 0.6));
  const timers: NodeJS.Timeout[] = [];
  let orderSeq = 0;
  let startedAt: number | null = null;
  const availability = options.pastAvailability ?? ((r: HistoryRecord) => r.eventTime + (pastLagMs[r.view] ?? 60_000));

  const pickRestaurant = (onlyOpen: boolean): string => {
    const candidates = restaurantIds.map((id, i) => ({ id, w: !onlyOpen || open.get(id) ? (popularity[i] as number) : 0 }));
    const total = candidates.reduce((s, c) => s + c.w, 0);
    let r = rand() * total;
    for (const c of candidates) {
      r -= c.w;
      if (r <= 0) return c.id;
    }
    return restaurantIds[0] as string;
  };

  const order = (atMs: number, onlyOpen: boolean) => {
    const restaurantId = pickRestaurant(onlyOpen);
    const tags = cuisineOf.get(restaurantId) as string[];
    return {
      key: restaurantId,
      value: JSON.stringify({
        orderId: `o${++orderSeq}`,
        restaurantId,
        userId: userIds[Math.floor(rand() * userIds.length)],
        createdAt: new Date(atMs).toISOString(),
        totalPrice: Math.round((8 + rand() * 45) * 100) / 100,
        cuisine: tags[0],
      }),
    };
  };

  const breakCity = options.breakCity ?? (process.env.FEATUREGRAPH_DEMO_BREAK || undefined);
  if (breakCity !== undefined && !cities.includes(breakCity)) throw new Error(`FEATUREGRAPH_DEMO_BREAK must be one of the demo's cities (${cities.join(', ')}), got ${JSON.stringify(breakCity)}`);
  const breakAfterMs = options.breakAfterMs ?? Number(process.env.FEATUREGRAPH_DEMO_BREAK_AFTER_MS ?? 30_000);
  let broken = false;
  const upsertRestaurant = (id: string, atMs: number) =>
    restaurantDocs.upsert({ key: id, eventTime: atMs, values: { isOpen: open.get(id), menuSize: broken && cityOf(id) === breakCity ? null : menuSize.get(id), cuisineTags: cuisineOf.get(id), city: cityOf(id) } });

  const rollup = async (atMs: number) => {
    await warehouse?.insertRows(
      prepTable,
      restaurantIds.map((id) => ({
        RESTAURANT_ID: id,
        COMPUTED_AT: new Date(atMs),
        AVG_PREP_SECONDS_7D: Math.round((basePrep.get(id) as number) + Math.sin(atMs / 3_600_000 + Number(id.slice(1))) * 60),
      })),
    );
  };

  const bindings: Required<SourceBindings> = {
    stream: () => stream,
    rows: (def) => {
      switch (def.name) {
        case 'restaurants':
          return restaurantDocs;
        case 'users':
          return userDocs;
        case 'restaurant_prep_stats':
          if (!prepStats) throw new Error('the demo serves restaurant_prep_stats once started');
          return prepStats;
        default:
          throw new Error(`the demo has no source named ${def.name}`);
      }
    },
  };

  return {
    bindings,
    stream,
    isOpen: (id) => open.get(id) ?? false,
    recordHistory: (history) => new PastStampedHistory(history, () => startedAt, availability),
    async caughtUp(runtime, timeoutMs = 60_000) {
      const loaded = stream.messages('orders').length;
      const deadline = Date.now() + timeoutMs;
      while (runtime.streams.reduce((n, m) => n + m.stats.events, 0) < loaded || runtime.rows.some((m) => m.stats.runs === 0)) {
        if (Date.now() > deadline) throw new Error(`the demo's materializers did not apply its ${loaded} past orders within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async start() {
      const t0 = now();
      startedAt = t0;
      // Each document twice: as it was a day ago (so asOf reads of the day find it) and as touched a
      // minute ago (so current values are fresh, PRESENT).
      const dayAgo = t0 - (options.historyMs ?? 24 * 3_600_000);
      for (const at of [dayAgo, t0 - 60_000]) {
        for (const id of restaurantIds) upsertRestaurant(id, at);
        userIds.forEach((id, i) => userDocs.upsert({ key: id, eventTime: at, values: { favoriteCuisine: (cuisines[i % cuisines.length] as string[])[0], country: countryOf(id) } }));
      }
      warehouse = await EmbeddedSql.open(':memory:');
      await warehouse.exec(`CREATE TABLE ${prepTable} (RESTAURANT_ID VARCHAR, COMPUTED_AT TIMESTAMP, AVG_PREP_SECONDS_7D DOUBLE)`);
      prepStats = warehouse.source({ kind: 'batch', name: 'restaurant_prep_stats', table: prepTable, keyColumn: 'RESTAURANT_ID', eventTimeColumn: 'COMPUTED_AT' });
      for (let h = 7 * 24; h >= 1; h--) await rollup(Math.floor(t0 / 3_600_000) * 3_600_000 - (h - 1) * 3_600_000);
      // The past day at a quieter rate, then the last half hour at the live rate.
      const history: { key: string; value: string }[] = [];
      const from = dayAgo;
      for (let at = from; at < t0 - 30 * 60_000; at += 1000 / rate) history.push(order(at, false));
      for (let at = Math.max(from, t0 - 30 * 60_000); at < t0; at += 1000 / rate) history.push(order(at, true));
      await stream.produce('orders', history);
      timers.push(
        setInterval(() => {
          // Poisson arrivals: each quarter second brings an order with probability rate/4.
          const batch = [];
          for (let expected = rate / 4; expected > 0; expected--) if (rand() < Math.min(1, expected)) batch.push(order(now(), true));
          if (batch.length > 0) void stream.produce('orders', batch);
        }, 250),
      );
      timers.push(
        setInterval(() => {
          const id = restaurantIds[Math.floor(rand() * restaurantIds.length)] as string;
          open.set(id, !open.get(id));
          upsertRestaurant(id, now());
        }, options.toggleEveryMs ?? 20_000),
      );
      timers.push(setInterval(() => void rollup(now()).catch(() => undefined), 60_000));
      if (breakCity !== undefined) {
        timers.push(
          setTimeout(() => {
            broken = true;
            for (const id of restaurantIds) if (cityOf(id) === breakCity) upsertRestaurant(id, now());
          }, breakAfterMs),
        );
      }
      for (const timer of timers) timer.unref();
    },
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await stream.close();
      await prepStats?.close();
      await warehouse?.close();
    },
  };
}
