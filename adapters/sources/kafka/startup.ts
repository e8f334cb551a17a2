// The Kafka source's start-up: before a consumer joins its group, the brokers must answer and every
// topic it reads must exist with a leader per partition. Until then it waits, checking with jittered
// backoff for as long as it takes (a broker restarting, a topic created by another team's deploy), and
// says what it waits for through `onEvent` each check: a broker that does not answer, a topic that does
// not exist yet. kafkajs would instead fail a subscription to a missing topic at once, and give up on an
// unreachable broker after its retries (about 20-40 s), both as errors nobody catches.
//
// The checks use a client of their own that neither retries nor logs: one check is one attempt, and a
// wait that lasts an hour logs nothing but the state changes its listener reports.
import { Kafka, logLevel, type Admin, type KafkaConfig } from 'kafkajs';
import { FeaturegraphError } from '../../../schema/errors.js';
import { retryWithBackoff, validBackoff, type BackoffOptions } from '../../../schema/backoff.js';
import { LazyClient } from './lazy-client.js';

export type KafkaStartupEvent =
  | { kind: 'broker'; state: 'waiting'; brokers: string; cause: string }
  | { kind: 'broker'; state: 'ready'; brokers: string }
  | { kind: 'topic'; topic: string; state: 'waiting'; cause: string }
  | { kind: 'topic'; topic: string; state: 'ready' };

export interface KafkaStartupOptions {
  /** Told the outcome of every check; a listener logs the changes. It must not throw. */
  onEvent?: (event: KafkaStartupEvent) => void;
  backoff?: BackoffOptions;
}

/** Failures no wait can mend: wrong credentials, a port that is not a broker's listener (a controller's). */
const fatalKafkaErrors = new Set(['KafkaJSSASLAuthenticationError', 'KafkaJSServerDoesNotSupportApiKey']);

/** kafkajs wraps the failure that counts (a refused connection) in retry errors: the innermost says why. */
function innermost(error: unknown): { name: string; message: string; chain: string[] } {
  const chain: string[] = [];
  let current: unknown = error;
  let last: { name: string; message: string } = { name: 'Error', message: String(error) };
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    const e = current as { name?: unknown; message?: unknown; cause?: unknown; originalError?: unknown };
    last = { name: typeof e.name === 'string' ? e.name : 'Error', message: typeof e.message === 'string' ? e.message : String(current) };
    chain.push(last.name);
    current = e.cause ?? e.originalError;
  }
  return { ...last, chain };
}

/** A topic that is missing or not ready, and why; null when every partition has a leader. */
function topicProblem(existing: ReadonlySet<string>, metadata: Map<string, { partitionId: number; leader: number }[]>, topic: string): string | null {
  if (!existing.has(topic)) return 'does not exist yet';
  const partitions = metadata.get(topic) ?? [];
  if (partitions.length === 0) return 'has no partitions yet';
  const leaderless = partitions.filter((p) => p.leader < 0).map((p) => p.partitionId);
  return leaderless.length > 0 ? `partitions ${leaderless.join(', ')} have no leader yet` : null;
}

export class KafkaStartup {
  private readonly kafka: Kafka;
  private readonly brokers: string;
  private readonly controller = new AbortController();
  private readonly admin: LazyClient<Admin>;

  constructor(
    config: Pick<KafkaConfig, 'brokers' | 'clientId' | 'ssl' | 'sasl'>,
    private readonly options: KafkaStartupOptions = {},
  ) {
    validBackoff('kafka start-up', options.backoff);
    this.brokers = Array.isArray(config.brokers) ? config.brokers.join(',') : 'brokers';
    this.kafka = new Kafka({ ...config, clientId: `${config.clientId ?? 'featuregraph'}-startup`, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 3000 });
    this.admin = new LazyClient(() => this.kafka.admin({ retry: { retries: 0 } }));
  }

  /**
   * Resolves once the brokers answer and each topic exists with a leader for every partition; waits
   * otherwise. Rejects with a non-retriable FeaturegraphError on failures no wait mends, and with
   * WaitAborted once close() is called.
   */
  async ready(topics: readonly string[]): Promise<void> {
    await retryWithBackoff(() => this.check(topics), {
      ...this.options.backoff,
      what: `kafka ${this.brokers} and topics ${topics.join(', ')}`,
      signal: this.controller.signal,
    });
  }

  private async check(topics: readonly string[]): Promise<void> {
    let existing: Set<string>;
    const metadata = new Map<string, { partitionId: number; leader: number }[]>();
    try {
      const admin = await this.admin.get();
      existing = new Set(await admin.listTopics());
      const present = topics.filter((t) => existing.has(t));
      if (present.length > 0) for (const t of (await admin.fetchTopicMetadata({ topics: present })).topics) metadata.set(t.name, t.partitions);
    } catch (error) {
      await this.admin.close();
      const { message, chain } = innermost(error);
      if (chain.some((n) => fatalKafkaErrors.has(n))) {
        throw new FeaturegraphError('INVALID_CONFIG', `kafka ${this.brokers}: ${message}`, { retriable: false, cause: error });
      }
      this.emit({ kind: 'broker', state: 'waiting', brokers: this.brokers, cause: message });
      throw new FeaturegraphError('SOURCE_UNAVAILABLE', `kafka ${this.brokers}: ${message}`, { retriable: true, cause: error });
    }
    this.emit({ kind: 'broker', state: 'ready', brokers: this.brokers });
    const waiting: string[] = [];
    for (const topic of topics) {
      const problem = topicProblem(existing, metadata, topic);
      if (problem === null) {
        this.emit({ kind: 'topic', topic, state: 'ready' });
      } else {
        this.emit({ kind: 'topic', topic, state: 'waiting', cause: problem });
        waiting.push(`${topic} ${problem}`);
      }
    }
    if (waiting.length > 0) throw new FeaturegraphError('SOURCE_UNAVAILABLE', `kafka topic ${waiting.join('; ')}`, { retriable: true });
  }

  private emit(event: KafkaStartupEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A listener's failure must not turn a wait into a crash.
    }
  }

  /** Stops every wait (they reject with WaitAborted) and closes the checking client. */
  async close(): Promise<void> {
    this.controller.abort();
    await this.admin.close();
  }
}
