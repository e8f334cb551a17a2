// bench:stream's command line: the usage text, and the options every phase reads.
import { parseArgs } from 'node:util';
import { defaultTuning, type ConsumerTuning } from './common.js';

export const help = `npm run bench:stream -- [options]

throughput (materializer vs a bare kafkajs consumer, same topic, same group settings):
  --events N              events produced to a fresh 3-partition topic (default 200000)
  --entities N            restaurants the events are keyed over (default 1000)
  --rounds N              bare, materializer pairs over that topic (default 2)
  --chunk-size N          KafkaStreamSource chunkSize (default ${defaultTuning.chunkSize})
  --chunks-in-flight N    KafkaStreamSource chunksInFlight (default ${defaultTuning.chunksInFlight})
  --concurrency N         partitionsConsumedConcurrently, both consumers (default ${defaultTuning.partitionsConsumedConcurrently})
  --write-timeout MS      the materializer's RedisOnlineStore writeTimeoutMs (default: the store's own,
                          which is what \`featuregraph materialize\` runs with)
freshness (producer send -> readable through GraphQL):
  --rate R                events/s produced (default 5000)
  --duration S            seconds of load (default 20)
  --probe-every MS        one probe event every MS ms among the load (default 50)
  --poll-every MS         the prober asks the gateway every MS ms (default 3)
general:
  --only NAME             throughput or freshness (default: both)
  --profile               CPU-profile the measured part of the last throughput round (bare consumer and
                          materializer) and of the freshness materializer; prints where the time went
  --help`;

export interface StreamOptions {
  events: number;
  entities: number;
  rounds: number;
  tuning: ConsumerTuning;
  /** The materializer's RedisOnlineStore writeTimeoutMs; null: the store's default. */
  writeTimeoutMs: number | null;
  rate: number;
  durationS: number;
  probeEveryMs: number;
  pollEveryMs: number;
  only: 'throughput' | 'freshness' | undefined;
  profile: boolean;
}

function positiveInt(values: Record<string, string | boolean | undefined>, flag: string, fallback: number): number {
  const raw = values[flag];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(value) || value <= 0) throw new Error(`--${flag} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

function parseOptions(): StreamOptions {
  const parsed = parseArgs({
    options: {
      events: { type: 'string' },
      entities: { type: 'string' },
      rounds: { type: 'string' },
      'chunk-size': { type: 'string' },
      'chunks-in-flight': { type: 'string' },
      concurrency: { type: 'string' },
      'write-timeout': { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      'probe-every': { type: 'string' },
      'poll-every': { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const flags = parsed.values;
  if (flags.help) {
    process.stdout.write(`${help}\n`);
    process.exit(0);
  }
  const only = flags.only;
  if (only !== undefined && only !== 'throughput' && only !== 'freshness') throw new Error(`--only must be throughput or freshness, got ${JSON.stringify(only)}`);
  return {
    events: Math.round(positiveInt(flags, 'events', 200_000)),
    entities: Math.round(positiveInt(flags, 'entities', 1000)),
    rounds: Math.round(positiveInt(flags, 'rounds', 2)),
    tuning: {
      ...defaultTuning,
      chunkSize: Math.round(positiveInt(flags, 'chunk-size', defaultTuning.chunkSize)),
      chunksInFlight: flags['chunks-in-flight'] === '0' ? 0 : Math.round(positiveInt(flags, 'chunks-in-flight', defaultTuning.chunksInFlight)),
      partitionsConsumedConcurrently: Math.round(positiveInt(flags, 'concurrency', defaultTuning.partitionsConsumedConcurrently)),
    },
    writeTimeoutMs: flags['write-timeout'] === undefined ? null : Math.round(positiveInt(flags, 'write-timeout', 10_000)),
    rate: positiveInt(flags, 'rate', 5000),
    durationS: positiveInt(flags, 'duration', 20),
    probeEveryMs: positiveInt(flags, 'probe-every', 50),
    pollEveryMs: positiveInt(flags, 'poll-every', 3),
    only,
    profile: flags.profile === true,
  };
}

/** The options, or the usage text and exit: 0 after --help, 2 after a bad flag. */
export function readOptions(): StreamOptions {
  try {
    return parseOptions();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${help}\n`);
    process.exit(2);
  }
}
