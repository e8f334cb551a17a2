// The outage benchmark (npm run bench:outage): the timing goals of failures, which tests no longer
// assert because a busy machine stretches them (tests check that the failure is coded and that no
// retry loop ran; this measures how long it took).
//
//   redis-recovery         the gateway over a private redis-server under three request loops; Redis
//                          SIGKILLed, started again: ms from its first PONG to the first request sent
//                          after it that got the value back (test/fixtures/redis-outage.ts, the store's
//                          default settings). Goal 2,000 ms.
//   snowflake-unreachable  a Snowflake row source's read against a closed port: ms to SOURCE_UNAVAILABLE. Goal 2,000 ms.
//   snowflake-outage       the same source after a successful read, its server cut off (a TCP proxy
//                          stopped): ms to SOURCE_UNAVAILABLE. Goal 2,000 ms. Needs the harness's fakesnow.
//   mongodb-unreachable    a MongoDB row source (serverSelectionTimeoutMs 300) against a closed port. Goal 2,000 ms.
//   mongodb-outage         the same source (serverSelectionTimeoutMs 500) after a successful read, its
//                          server cut off. Goal 3,000 ms. Needs the harness's MongoDB (FerretDB).
//
//   node --import tsx bench/outage/run.ts [--rounds 3] [--only redis-recovery,snowflake-outage,...]
//
// Output: one JSON line per variant on stdout: {bench:"outage", variant, rounds, p50_ms, p99_ms (the
// worst round: rounds are few), goal_ms, ratio, meets_goal, load_avg, node, cpus, cpu_model, commit};
// ratio = goal_ms / p99_ms, so above 1 means every round met the goal. A variant whose service is not
// running prints {variant, skipped: reason}. Progress goes to stderr.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { MongoClient } from 'mongodb';
import { FeaturegraphError } from '../../schema/errors.js';
import type { RowSource } from '../../adapters/sources/types.js';
import { SnowflakeRowSource, type SnowflakeConnectionSettings } from '../../adapters/sources/snowflake/index.js';
import { MongoRowSource } from '../../adapters/sources/mongodb/index.js';
import { readEndpoints } from '../../test/services/harness.js';
import { connectSnowflake, destroySnowflake, executeSql } from '../../test/services/snowflake.js';
import { closedPort, TcpProxy } from '../../test/conformance/row-source.js';
import { runRedisOutage } from '../../test/fixtures/redis-outage.js';

const variants = ['redis-recovery', 'snowflake-unreachable', 'snowflake-outage', 'mongodb-unreachable', 'mongodb-outage'] as const;
type Variant = (typeof variants)[number];
const goals: Record<Variant, number> = { 'redis-recovery': 2000, 'snowflake-unreachable': 2000, 'snowflake-outage': 2000, 'mongodb-unreachable': 2000, 'mongodb-outage': 3000 };

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? (process.argv[at + 1] as string) : fallback;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Resolves to how long the read took to fail; throws when it did not fail with SOURCE_UNAVAILABLE. */
async function timeToFailure(source: RowSource): Promise<number> {
  const started = performance.now();
  try {
    for await (const _ of source.read({ since: null, until: Date.UTC(2100, 0, 1), columns: [] })) void _;
  } catch (error) {
    const ms = performance.now() - started;
    if (!(error instanceof FeaturegraphError) || error.code !== 'SOURCE_UNAVAILABLE') throw error;
    return ms;
  }
  throw new Error('the read succeeded against a server that is gone');
}

async function readOnce(source: RowSource): Promise<void> {
  for await (const _ of source.read({ since: null, until: Date.UTC(2100, 0, 1), columns: [] })) void _;
}

/** A source that reads through a proxy, once, then the proxy stops: how long the next read takes to fail. */
async function outageRound(host: string, port: number, open: (proxyPort: number) => RowSource): Promise<number> {
  const proxy = new TcpProxy(host, port);
  const source = open(await proxy.start());
  try {
    await readOnce(source);
    await proxy.stop();
    return await timeToFailure(source);
  } finally {
    await source.close();
    await proxy.stop();
  }
}

type Round = () => Promise<number>;
interface Setup {
  round: Round;
  teardown(): Promise<void>;
}

async function setup(variant: Variant): Promise<Setup | string> {
  const endpoints = readEndpoints();
  switch (variant) {
    case 'redis-recovery':
      return {
        round: async () => {
          const run = await runRedisOutage();
          return run.recovered.at - run.backAt;
        },
        teardown: async () => undefined,
      };
    case 'snowflake-unreachable':
    case 'snowflake-outage': {
      const endpoint = endpoints.snowflake;
      const settings = (port: number): SnowflakeConnectionSettings => ({ ...(endpoint ?? { host: '127.0.0.1', protocol: 'http', account: 'fakesnow' }), port, username: 'fg', password: 'bench', database: 'FG_BENCH', schema: 'OUTAGE' }) as SnowflakeConnectionSettings;
      const definition = { kind: 'batch' as const, name: 'bench_rows', table: 'ROWS', keyColumn: 'id', eventTimeColumn: 'updated_at' };
      if (variant === 'snowflake-unreachable') {
        return {
          round: async () => {
            const source = new SnowflakeRowSource({ connection: settings(await closedPort()), definition });
            try {
              return await timeToFailure(source);
            } finally {
              await source.close();
            }
          },
          teardown: async () => undefined,
        };
      }
      if (!endpoint) return 'snowflake is not running (test/services/up snowflake)';
      const schema = `OUTAGE_${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;
      const admin = await connectSnowflake(endpoint);
      await executeSql(admin, 'CREATE DATABASE IF NOT EXISTS FG_BENCH');
      await executeSql(admin, `CREATE SCHEMA FG_BENCH.${schema}`);
      await executeSql(admin, `CREATE TABLE FG_BENCH.${schema}."ROWS" ("id" VARCHAR, "updated_at" TIMESTAMP_NTZ)`);
      return {
        round: () => outageRound(endpoint.host, endpoint.port, (port) => new SnowflakeRowSource({ connection: { ...settings(port), schema }, definition })),
        teardown: async () => {
          await executeSql(admin, `DROP SCHEMA IF EXISTS FG_BENCH.${schema} CASCADE`);
          await destroySnowflake(admin);
        },
      };
    }
    case 'mongodb-unreachable':
    case 'mongodb-outage': {
      const database = `fg_bench_outage_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
      const definition = { kind: 'document' as const, name: 'bench_rows', collection: 'rows', keyField: 'id', updatedAtField: 'updated_at' };
      if (variant === 'mongodb-unreachable') {
        return {
          round: async () => {
            const source = new MongoRowSource({ url: `mongodb://127.0.0.1:${await closedPort()}/`, serverSelectionTimeoutMs: 300, database, definition });
            try {
              return await timeToFailure(source);
            } finally {
              await source.close();
            }
          },
          teardown: async () => undefined,
        };
      }
      const url = endpoints.mongodb?.url;
      if (!url) return 'mongodb is not running (test/services/up mongodb)';
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
      await client.db(database).collection('rows').insertOne({ id: 'a', updated_at: new Date(Date.UTC(2026, 0, 1)) });
      return {
        round: () => outageRound('127.0.0.1', Number(new URL(url).port), (port) => new MongoRowSource({ url: `mongodb://127.0.0.1:${port}/`, serverSelectionTimeoutMs: 500, database, definition })),
        teardown: async () => {
          await client.db(database).dropDatabase();
          await client.close();
        },
      };
    }
    default: {
      const unreachable: never = variant;
      throw new Error(`unknown variant ${String(unreachable)}`);
    }
  }
}

const rounds = Number(argument('rounds', '3'));
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) throw new Error(`--rounds must be an integer from 1 to 100, got ${argument('rounds', '3')}`);
const only = argument('only', variants.join(',')).split(',');
for (const name of only) if (!(variants as readonly string[]).includes(name)) throw new Error(`--only takes ${variants.join(', ')}; got ${JSON.stringify(name)}`);
const commit = (() => {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).stdout.trim() !== '';
  return head === '' ? null : `${head}${dirty ? '-dirty' : ''}`;
})();
const machine = { node: process.version, cpus: cpus().length, cpu_model: cpus()[0]?.model ?? null, commit };

for (const variant of variants.filter((v) => only.includes(v))) {
  const ready = await setup(variant);
  if (typeof ready === 'string') {
    process.stdout.write(`${JSON.stringify({ bench: 'outage', variant, skipped: ready, ...machine })}\n`);
    continue;
  }
  const load = loadavg()[0] ?? 0;
  const times: number[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const ms = await ready.round();
      log(`${variant} round ${round}: ${ms.toFixed(0)} ms (goal ${goals[variant]} ms)`);
      times.push(ms);
    }
  } finally {
    await ready.teardown();
  }
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor((times.length - 1) / 2)] as number;
  const worst = times.at(-1) as number;
  const goal = goals[variant];
  process.stdout.write(
    `${JSON.stringify({ bench: 'outage', variant, rounds, p50_ms: Math.round(p50), p99_ms: Math.round(worst), goal_ms: goal, ratio: Number((goal / worst).toFixed(2)), meets_goal: worst <= goal, load_avg: Number(load.toFixed(2)), ...machine })}\n`,
  );
}
