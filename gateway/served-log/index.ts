// Opens the served log the config names (config `servedLog`): its store, and the gateway's logger over
// it. The sink by default follows the history store, where the monitor reads history too: memory
// history, the memory sink; an embedded file, the same file (through the history store this process
// holds, so a file owned by another process is reached over its socket); otherwise the kafka topic
// when a cluster is configured. Without any, logging is off.
import { resolve } from 'node:path';
import type { Meter } from '@opentelemetry/api';
import { ConfigError } from '../../schema/errors.js';
import { servedLogHeader } from '../../schema/served-log.js';
import type { HistoryStore } from '../../adapters/history/types.js';
import type { StreamSource } from '../../adapters/sources/types.js';
import type { ServedLogStore } from '../../adapters/served-log/types.js';
import { isServedLogHost } from '../../adapters/served-log/embedded.js';
import type { GatewayConfig } from '../config.js';
import { ServedLogger } from './logger.js';

export { ServedLogger, type ServedLoggerOptions } from './logger.js';

/** Where the served log goes, defaults resolved. */
export type ServedLogSink = { type: 'memory'; maxRecords?: number } | { type: 'embedded'; path: string } | { type: 'kafka'; topic?: string };

const kafkaNeeded = 'servedLog.sink: a kafka sink needs the kafka cluster (config kafka.brokers, or env FEATUREGRAPH_KAFKA_BROKERS)';

/** The config's sink, or why there is none (a sentence for the start log). */
export function servedLogSink(config: GatewayConfig): { sink: ServedLogSink } | { off: string } {
  const { sampleRate, sink } = config.servedLog;
  if (sampleRate === 0) return { off: 'servedLog.sampleRate is 0' };
  if (sink?.type === 'embedded') {
    const path = sink.path ?? (config.history.type === 'embedded' ? config.history.path : undefined);
    if (path === undefined) throw new ConfigError(`servedLog.sink: an embedded sink needs a path when history is not embedded (history is ${config.history.type})`);
    return { sink: { type: 'embedded', path } };
  }
  if (sink?.type === 'kafka' && config.kafka === undefined) throw new ConfigError(kafkaNeeded);
  if (sink !== undefined) return { sink };
  if (config.history.type === 'memory') return { sink: { type: 'memory' } };
  if (config.history.type === 'embedded') return { sink: { type: 'embedded', path: config.history.path } };
  if (config.kafka !== undefined) return { sink: { type: 'kafka' } };
  return { off: `history is ${config.history.type} and no kafka cluster is configured: set servedLog.sink` };
}

/** The sink in words, for logs. */
export function describeSink(sink: ServedLogSink): string {
  switch (sink.type) {
    case 'memory':
      return `memory (this process, the newest ${(sink.maxRecords ?? 100_000).toLocaleString('en')} records)`;
    case 'embedded':
      return `embedded ${sink.path}`;
    case 'kafka':
      return `kafka topic ${sink.topic ?? 'featuregraph.served-log'}`;
    default: {
      const unreachable: never = sink;
      return String(unreachable);
    }
  }
}

/** A store whose close() lets go of what was opened for it too. */
function alsoClosing(store: ServedLogStore, release: () => Promise<void>): ServedLogStore {
  return {
    name: store.name,
    append: (records) => store.append(records),
    read: (range) => store.read(range),
    close: async () => {
      await store.close();
      await release();
    },
  };
}

export interface OpenServedLogStoreOptions {
  /** The history store this process holds: an embedded sink on its file goes through it. */
  history?: HistoryStore | null;
  /** The Kafka source appends go through (default: one opened for the store, closed with it). */
  kafkaSource?: StreamSource | null;
  /** Where an embedded file opened for the served log alone tells who owns it. */
  log?: (line: string) => void;
}

/** Opens the store of a sink (for the gateway's logger, or a reader such as the monitor). */
export async function openServedLogStore(config: GatewayConfig, sink: ServedLogSink, options: OpenServedLogStoreOptions = {}): Promise<ServedLogStore> {
  switch (sink.type) {
    case 'memory': {
      const { MemoryServedLogStore } = await import('../../adapters/served-log/memory.js');
      return new MemoryServedLogStore(sink.maxRecords === undefined ? {} : { maxRecords: sink.maxRecords });
    }
    case 'embedded': {
      const { EmbeddedServedLogStore } = await import('../../adapters/served-log/embedded.js');
      const history = options.history ?? null;
      if (config.history.type === 'embedded' && resolve(config.history.path) === resolve(sink.path) && isServedLogHost(history)) return new EmbeddedServedLogStore(history);
      const { SharedEmbeddedHistoryStore } = await import('../../adapters/history/embedded/shared.js');
      const file = await SharedEmbeddedHistoryStore.open(sink.path, options.log ? { log: options.log } : {});
      return alsoClosing(new EmbeddedServedLogStore(file), () => file.close());
    }
    case 'kafka': {
      const kafka = config.kafka;
      if (kafka === undefined) throw new ConfigError(kafkaNeeded);
      const { KafkaServedLogStore } = await import('../../adapters/served-log/kafka.js');
      const clientId = kafka.clientId ?? 'featuregraph-gateway';
      const settings = { brokers: kafka.brokers, clientId, ...(kafka.ssl === undefined ? {} : { ssl: kafka.ssl }), ...(sink.topic === undefined ? {} : { topic: sink.topic }) };
      if (options.kafkaSource) return new KafkaServedLogStore({ ...settings, source: options.kafkaSource });
      const { KafkaStreamSource } = await import('../../adapters/sources/kafka/index.js');
      const source = new KafkaStreamSource({ brokers: kafka.brokers, clientId, ssl: kafka.ssl, ...(kafka.maxMessageBytes === undefined ? {} : { maxMessageBytes: kafka.maxMessageBytes }) });
      return alsoClosing(new KafkaServedLogStore({ ...settings, source }), () => source.close());
    }
    default: {
      const unreachable: never = sink;
      throw new ConfigError(`unknown served-log sink ${JSON.stringify(unreachable)}`);
    }
  }
}

export interface OpenedServedLog {
  store: ServedLogStore;
  logger: ServedLogger;
  /** Flushes the logger (within its closeWaitMs), then closes the store. */
  close(): Promise<void>;
}

export interface OpenServedLogOptions {
  meter?: Meter | null;
  /** Where the start says what is logged where (or why nothing is), and failures are told. */
  log?: (line: string) => void;
  random?: () => number;
}

/** The gateway's served log: its store and logger, or null (said in the log) when logging is off. */
export async function openServedLog(config: GatewayConfig, history?: HistoryStore | null, kafkaSource?: StreamSource | null, options: OpenServedLogOptions = {}): Promise<OpenedServedLog | null> {
  const log = options.log ?? (() => {});
  const chosen = servedLogSink(config);
  if ('off' in chosen) {
    log(`served log: off (${chosen.off})`);
    return null;
  }
  const { sampleRate, bufferRecords, flushEveryMs } = config.servedLog;
  const store = await openServedLogStore(config, chosen.sink, { history, kafkaSource, log });
  const logger = new ServedLogger({ store, sampleRate, bufferRecords, flushEveryMs, meter: options.meter ?? null, log, ...(options.random ? { random: options.random } : {}) });
  log(`served log: ${+(sampleRate * 100).toFixed(4)}% of requests (and each with ${servedLogHeader}: 1) to ${describeSink(chosen.sink)}`);
  return {
    store,
    logger,
    close: async () => {
      await logger.close();
      await store.close();
    },
  };
}
