// Load generation: the throughput phase's backlog, produced as fast as Kafka takes it, and the
// freshness phases' load at a fixed rate with probe events among it.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import { entityId, orderEvent, preciseNow, probeKey } from './common.js';
import type { StreamOptions } from './options.js';

/** Event times spread over the last 20 minutes: inside the 30-minute window, so every event counts. */
export const eventSpreadMs = 20 * 60_000;

/** Produces `count` load events in sends of `perSend`, `inFlight` at a time. */
export async function produceBacklog(producer: Producer, topic: string, count: number, entities: number): Promise<{ ms: number; revenue: number }> {
  const perSend = 1000;
  const inFlight = 4;
  const start = performance.now();
  const now = Date.now();
  let next = 0;
  let revenue = 0;
  const sender = async () => {
    while (next < count) {
      const n = Math.min(perSend, count - next);
      next += n;
      const messages = new Array<{ key: string; value: string }>(n);
      for (let i = 0; i < n; i++) {
        const event = orderEvent(entityId(Math.floor(Math.random() * entities)), now, eventSpreadMs, 0);
        revenue += (JSON.parse(event.value) as { totalPrice: number }).totalPrice;
        messages[i] = event;
      }
      await producer.send({ topic, messages });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, sender));
  return { ms: performance.now() - start, revenue };
}

/** One measured run of a LoadGenerator. */
export interface LoadRun {
  loadMs: number;
  /** Load events acknowledged. */
  events: number;
  /** The probes sent during the run, by sequence number. */
  firstProbe: number;
  lastProbe: number;
}

type LoadOptions = Pick<StreamOptions, 'entities' | 'rate' | 'durationS' | 'probeEveryMs'>;

/** Load at a fixed rate with a probe event every probeEveryMs among it, on one topic. */
export class LoadGenerator {
  /** Probe sequence number -> when it was sent (preciseNow). */
  readonly sentAt = new Map<number, number>();
  probeSeq = 0;
  loadSent = 0;
  loadAcked = 0;
  sendErrors = 0;
  inFlight = 0;
  skippedTicks = 0;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly options: LoadOptions,
  ) {}

  probe(): void {
    const seq = ++this.probeSeq;
    const at = preciseNow();
    this.sentAt.set(seq, at);
    const value = JSON.stringify({ orderId: `probe-${seq}`, restaurantId: probeKey, createdAt: new Date(at).toISOString(), totalPrice: 1, sentAt: at });
    this.producer.send({ topic: this.topic, messages: [{ key: probeKey, value }] }).catch(() => this.sendErrors++);
  }

  load(n: number): void {
    const now = Date.now();
    const at = preciseNow();
    const messages = new Array<{ key: string; value: string }>(n);
    for (let i = 0; i < n; i++) messages[i] = orderEvent(entityId(Math.floor(Math.random() * this.options.entities)), now, eventSpreadMs, at);
    this.inFlight++;
    this.loadSent += n;
    this.producer
      .send({ topic: this.topic, messages })
      .then(() => {
        this.loadAcked += n;
      })
      .catch(() => this.sendErrors++)
      .finally(() => this.inFlight--);
  }

  /** A second of load at a fifth of the rate, with probes; returns how many events that was. */
  async warmUp(): Promise<number> {
    for (let i = 0; i < 10; i++) {
      this.load(Math.max(1, Math.round(this.options.rate / 50)));
      this.probe();
      await sleep(100);
    }
    while (this.inFlight > 0) await sleep(5);
    return this.loadSent + this.probeSeq;
  }

  /** options.rate events/s for options.durationS, a probe every options.probeEveryMs; resolves when the last send is acknowledged. */
  async run(): Promise<LoadRun> {
    this.loadSent = 0;
    this.loadAcked = 0;
    const firstProbe = this.probeSeq + 1;
    const start = performance.now();
    const durationMs = this.options.durationS * 1000;
    const maxInFlight = 50;
    let nextProbe = start;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const elapsed = now - start;
        if (elapsed >= durationMs) return resolve();
        if (now >= nextProbe) {
          this.probe();
          nextProbe += this.options.probeEveryMs;
        }
        const due = Math.floor((elapsed * this.options.rate) / 1000) - this.loadSent;
        if (due > 0) {
          if (this.inFlight < maxInFlight) this.load(due);
          else this.skippedTicks++;
        }
        setTimeout(tick, 2);
      };
      tick();
    });
    const loadMs = performance.now() - start;
    const deadline = performance.now() + 10_000;
    while (this.inFlight > 0 && performance.now() < deadline) await sleep(5);
    return { loadMs, events: this.loadAcked, firstProbe, lastProbe: this.probeSeq };
  }
}
