// What the serving paths log of what they served (schema/served-log.ts): the sink a sampled request's
// records are offered to (the gateway's served-feature logger), and how Apollo's resolvers gather an
// operation's records while its fields resolve. The fast path writes its records from its one read
// (plan/served.ts); the differential test holds both to the same records.
//
// A record is made only for a sampled request: the resolvers check one reference per entity and field
// otherwise. An entity's segment values are loaded through the request's loader as its root resolves,
// in the same tick as its fields' loads, so they ride in the same store round trip.
import { randomUUID } from 'node:crypto';
import type { ResolvedEntity } from '../schema/registry.js';
import type { ServedRecord, ServedValue } from '../schema/served-log.js';
import { readFeature } from '../schema/snapshot.js';
import type { FeatureValue, RequestArguments } from '../schema/types.js';
import type { OnlineKey, StoredValue } from '../adapters/online/types.js';

/** Where sampled requests' records go; the gateway's served-feature logger is one. */
export interface ServedLogSink {
  /** Whether to log this request: forced by the header value "1", else by the sample rate. */
  sampled(headerValue: string | undefined): boolean;
  /** Never blocks, never throws. */
  offer(records: readonly ServedRecord[]): void;
}

/** A record's id: its request's, and the entity's place in the answer (root fields, then list items, in order). */
export const servedRecordId = (requestId: string, place: number): string => `${requestId}:${place}`;

/** A loaded online read (resolvers/context.ts OnlineRead). */
interface SegmentRead {
  stored: StoredValue | null;
  at: number;
  watermark: number | null;
}

/** One entity of a sampled answer, filled in by its fields' resolvers. */
export class ServedEntity {
  /** The instant of its reads (all in one round trip); null until one answered. */
  at: number | null = null;
  /** A read of it failed: nothing was served from the store, so nothing is logged. */
  failed = false;
  readonly segments: Record<string, FeatureValue> = {};
  readonly features: Record<string, ServedValue> = {};
  readonly inputs: Record<string, RequestArguments> = {};
  private readonly claimed = new Set<string>();

  constructor(
    readonly entity: ResolvedEntity,
    readonly key: string,
  ) {}

  /**
   * Whether this field is the first in the answer to hold the feature (an alias of one already there is
   * not logged again). Called before the field's reads: graphql-js starts an object's fields in order.
   */
  claim(feature: string): boolean {
    if (this.claimed.has(feature)) return false;
    this.claimed.add(feature);
    return true;
  }

  /** An online read of the entity answered at `at`. */
  readAt(at: number): void {
    this.at ??= at;
  }
}

/** The records of one sampled operation Apollo runs; offered once its response is ready. */
export class ServedOperation {
  private readonly requestId = randomUUID();
  private readonly entities: ServedEntity[] = [];
  private readonly loads: Promise<void>[] = [];

  constructor(
    private readonly sink: ServedLogSink,
    /** The operation's instant: an entity none of whose fields read the store is logged at it. */
    private readonly now: number,
  ) {}

  /** The next entity of the answer; its segment features' views are loaded now, with its fields'. */
  entity(entity: ResolvedEntity, key: string, load: (key: OnlineKey) => Promise<SegmentRead>): ServedEntity {
    const served = new ServedEntity(entity, key);
    this.entities.push(served);
    const views = new Set(entity.segments.map((feature) => feature.view));
    for (const view of views) {
      this.loads.push(
        load({ view: view.name, key }).then(
          (read) => {
            served.readAt(read.at);
            for (const feature of entity.segments) if (feature.view === view) served.segments[feature.name] = readFeature(feature, read.stored, read.at, read.watermark).value;
          },
          () => {
            served.failed = true;
          },
        ),
      );
    }
    return served;
  }

  /**
   * Offers the records of the entities whose reads all answered. Waits for the segment loads: they are
   * in the answer's round trip, settled by now, unless no field of the answer read the store.
   */
  async offer(): Promise<void> {
    if (this.entities.length === 0) return;
    await Promise.all(this.loads);
    const records: ServedRecord[] = [];
    this.entities.forEach((served, place) => {
      if (served.failed) return;
      records.push({
        id: servedRecordId(this.requestId, place),
        at: served.at ?? this.now,
        entity: served.entity.name,
        key: served.key,
        segments: served.segments,
        features: served.features,
        inputs: served.inputs,
      });
    });
    if (records.length > 0) this.sink.offer(records);
  }
}
