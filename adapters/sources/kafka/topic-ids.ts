// Topic ids (KIP-516): the identity of one incarnation of a topic. A topic deleted and created again,
// or created on a broker whose storage was formatted again, gets a new id and starts its offsets at 0
// again; its name, offsets, log start offset and leader epochs all look like the old one's (epochs and
// log start restart at 0 too), so the id is the one thing that tells the two apart.
//
// kafkajs 2.2.4 cannot read it: its Metadata requests stop at v6, and ids came with v10 (Kafka 2.8).
// This module encodes a Metadata v10-v12 request itself and sends it over a connection of a kafkajs
// cluster made from the same client, so TLS, SASL, timeouts and reconnects stay kafkajs's. kafkajs is
// frozen (maintenance mode), so the two internals used here (the client's cluster factory and a
// broker's connection pool) stay as they are; a KafkaJS-compatible replacement reads ids from its admin.
import type { Kafka } from 'kafkajs';
import { FeaturegraphError } from '../../../schema/errors.js';

/** The part of a kafkajs request a connection sends: the body comes from `encode`, kafkajs writes the v1 header before it. */
interface ProtocolRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  encode(): Promise<{ buf: Buffer; buffer: Buffer }>;
}

interface ProtocolResponse<T> {
  decode(payload: Buffer): Promise<Buffer>;
  parse(payload: Buffer): Promise<T>;
}

/** kafkajs internals (src/cluster, src/broker, src/network/connectionPool), as far as they are used. */
interface InternalBroker {
  versions: Record<number, { minVersion: number; maxVersion: number } | undefined> | null;
  connectionPool: { send<T>(request: { request: ProtocolRequest; response: ProtocolResponse<T> }): Promise<T> };
}

interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  brokerPool: { seedBroker: InternalBroker | undefined };
}

type ClusterFactory = (options: { allowAutoTopicCreation: boolean }) => InternalCluster;

const metadataApiKey = 3;
const unknownTopic = 3;
const topicAuthorizationFailed = 29;
const zeroId = Buffer.alloc(16);

/** Kafka's unsigned varint (flexible versions' lengths and counts). */
export function unsignedVarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/**
 * The body of a Metadata request v10-v12 for some topics, led by the request header's empty tagged
 * fields: flexible versions use header v2, which is kafkajs's v1 header followed by those.
 */
export function encodeMetadataRequest(version: number, topics: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0]), unsignedVarint(topics.length + 1)];
  for (const topic of topics) {
    const name = Buffer.from(topic, 'utf8');
    parts.push(zeroId, unsignedVarint(name.length + 1), name, Buffer.from([0]));
  }
  // allow_auto_topic_creation, [include_cluster_authorized_operations: v10 only], include_topic_authorized_operations
  parts.push(Buffer.from(version === 10 ? [0, 0, 0] : [0, 0]), Buffer.from([0]));
  return Buffer.concat(parts);
}

/** Reads a flexible-version response. */
class Reader {
  private at = 0;
  constructor(private readonly buffer: Buffer) {}

  int16(): number {
    const v = this.buffer.readInt16BE(this.at);
    this.at += 2;
    return v;
  }

  int32(): number {
    const v = this.buffer.readInt32BE(this.at);
    this.at += 4;
    return v;
  }

  skip(n: number): void {
    this.at += n;
    if (this.at > this.buffer.length) throw new RangeError('metadata response ended early');
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.buffer[this.at++];
      if (byte === undefined) throw new RangeError('metadata response ended early');
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }

  string(): string | null {
    const n = this.varint();
    if (n === 0) return null;
    const s = this.buffer.toString('utf8', this.at, this.at + n - 1);
    this.skip(n - 1);
    return s;
  }

  bytes(n: number): Buffer {
    const b = this.buffer.subarray(this.at, this.at + n);
    this.skip(n);
    return b;
  }

  /** A compact array's length (its count is stored plus one; 0 is null). */
  count(): number {
    return Math.max(0, this.varint() - 1);
  }

  taggedFields(): void {
    for (let n = this.varint(); n > 0; n--) {
      this.varint();
      this.skip(this.varint());
    }
  }
}

export interface TopicIdAnswer {
  /** The topic's id as Kafka prints it (base64url), or null when the broker does not know the topic. */
  id: string | null;
  errorCode: number;
}

/** Topic ids out of a Metadata v10-v12 response payload (after the correlation id). */
export function decodeMetadataResponse(version: number, payload: Buffer): Map<string, TopicIdAnswer> {
  const r = new Reader(payload);
  r.taggedFields(); // response header v1
  r.int32(); // throttle_time_ms
  for (let n = r.count(); n > 0; n--) {
    r.int32();
    r.string();
    r.int32();
    r.string();
    r.taggedFields();
  }
  r.string(); // cluster_id
  r.int32(); // controller_id
  const out = new Map<string, TopicIdAnswer>();
  for (let n = r.count(); n > 0; n--) {
    const errorCode = r.int16();
    const name = r.string();
    const id = r.bytes(16);
    r.skip(1); // is_internal
    for (let p = r.count(); p > 0; p--) {
      r.skip(2 + 4 + 4 + 4); // error_code, partition_index, leader_id, leader_epoch
      for (let k = 0; k < 3; k++) r.skip(4 * r.count()); // replica, isr and offline nodes
      r.taggedFields();
    }
    r.int32(); // topic_authorized_operations
    r.taggedFields();
    if (name !== null) out.set(name, { id: id.equals(zeroId) ? null : id.toString('base64url'), errorCode });
  }
  if (version === 10) r.int32(); // cluster_authorized_operations
  return out;
}

/** Asks the brokers for topic ids, over a kafkajs cluster of its own made from the source's client. */
export class TopicIds {
  private cluster: InternalCluster | null = null;
  private readonly createCluster: ClusterFactory;

  constructor(kafka: Kafka) {
    // The client keeps its cluster factory under a private symbol (kafkajs src/index.js).
    const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
    const factory = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
    if (typeof factory !== 'function') throw new FeaturegraphError('UNSUPPORTED_CAPABILITY', 'kafka: this kafkajs has no cluster factory to read topic ids with (featuregraph expects kafkajs 2.2)');
    this.createCluster = factory as ClusterFactory;
  }

  /**
   * The topic's current id, asked of a broker now (never cached: a caller brackets fetches with
   * answers), or null when the broker does not know the topic (deleted, not created yet).
   */
  async current(topic: string): Promise<string | null> {
    try {
      return await this.ask(topic);
    } catch (error) {
      // A connection lost (a broker restarted): the next call connects afresh.
      const cluster = this.cluster;
      this.cluster = null;
      await cluster?.disconnect().catch(() => undefined);
      throw error;
    }
  }

  private async ask(topic: string): Promise<string | null> {
    this.cluster ??= this.createCluster({ allowAutoTopicCreation: false });
    await this.cluster.connect();
    const broker = this.cluster.brokerPool.seedBroker;
    if (!broker) throw new Error('kafka: no broker connected to read topic ids from');
    const max = broker.versions?.[metadataApiKey]?.maxVersion ?? -1;
    if (max < 10) throw new FeaturegraphError('UNSUPPORTED_CAPABILITY', `kafka: the broker answers Metadata up to v${max}; topic ids need v10 (Kafka 2.8 or later), and without them a topic created again cannot be told from the old one`);
    const version = Math.min(max, 12);
    const body = encodeMetadataRequest(version, [topic]);
    const answers = await broker.connectionPool.send({
      request: { apiKey: metadataApiKey, apiVersion: version, apiName: 'Metadata', encode: async () => ({ buf: body, buffer: body }) },
      response: { decode: async (payload) => payload, parse: async (payload) => decodeMetadataResponse(version, payload) },
    });
    const answer = answers.get(topic);
    if (answer?.errorCode === topicAuthorizationFailed) throw new FeaturegraphError('SOURCE_UNAVAILABLE', `kafka: not authorized to describe topic ${topic}, so its id (which tells a topic created again from the old one) cannot be read`);
    if (!answer || answer.errorCode === unknownTopic) return null;
    return answer.id;
  }

  async close(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = null;
    await cluster?.disconnect().catch(() => undefined);
  }
}
