// The freshness prober: asks the gateway for the probe restaurant's order count, again and again,
// and notes when each probe first became readable.
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { preciseNow, probeKey } from './common.js';

export interface ProbeClient {
  /** The probe restaurant's ordersLast30m as the gateway answers it now. */
  count(): Promise<number | null>;
  close(): void;
}

/** A keep-alive GraphQL client for the probe entity's count. */
export function probeClient(url: string): ProbeClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(url);
  const body = JSON.stringify({ query: 'query Probe($id: ID!) { restaurant(restaurantId: $id) { ordersLast30m } }', variables: { id: probeKey } });
  return {
    count: () =>
      new Promise((resolve, reject) => {
        const req = request(
          { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              try {
                const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: { restaurant?: { ordersLast30m?: number | null } | null }; errors?: { message: string }[] };
                if (parsed.errors?.length) return reject(new Error(`gateway: ${parsed.errors.map((e) => e.message).join('; ')}`));
                resolve(parsed.data?.restaurant?.ordersLast30m ?? null);
              } catch (error) {
                reject(error instanceof Error ? error : new Error(String(error)));
              }
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** What a prober saw: when each probe (by sequence number) was first read, and how its polls went. */
export interface Probed {
  /** Probe sequence number -> when a poll first read a count that includes it (preciseNow). */
  observed: Map<number, number>;
  pollRtt: number[];
  pollErrors: number;
}

/** Polls `client` every `pollEveryMs` until stopped; `seen` is the count already read (the warm-up's probes). */
export function startProber(client: ProbeClient, pollEveryMs: number, seen: number): { lastSeen(): number; stop(): Promise<Probed> } {
  const probed: Probed = { observed: new Map(), pollRtt: [], pollErrors: 0 };
  let lastSeen = seen;
  let polling = true;
  const loop = (async () => {
    while (polling) {
      const t0 = preciseNow();
      try {
        const count = (await client.count()) ?? 0;
        const t1 = preciseNow();
        probed.pollRtt.push(t1 - t0);
        for (let seq = lastSeen + 1; seq <= count; seq++) probed.observed.set(seq, t1);
        lastSeen = Math.max(lastSeen, count);
      } catch {
        probed.pollErrors++;
      }
      await sleep(pollEveryMs);
    }
  })();
  return {
    lastSeen: () => lastSeen,
    async stop() {
      polling = false;
      await loop;
      return probed;
    },
  };
}
