// The abuse test of every adapter's options (STYLE 3): each one is checked where it enters, before any
// connection, and refused with a ConfigError (INVALID_CONFIG, not retriable) that names the option, the
// contract and the bad value; every option is checked, and one error lists every problem. Secrets are
// never shown: a connection string is redacted, a password only said to be wrong. No server is needed:
// nothing here gets as far as connecting. (The memory history store and checkpoint store take no options.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { ConfigError } from '../../../schema/errors.js';
import { OptionsError } from '../../../adapters/common/options.js';
import { createOnlineStore, type OnlineStoreConfig } from '../../../adapters/online/index.js';
import { MemoryOnlineStore } from '../../../adapters/online/memory/index.js';
import { RedisOnlineStore, type RedisOnlineStoreOptions } from '../../../adapters/online/redis/index.js';
import { RedisCheckpointStore } from '../../../adapters/checkpoints/index.js';
import { EmbeddedHistoryStore, type EmbeddedHistoryStoreOptions } from '../../../adapters/history/embedded/index.js';
import { SharedEmbeddedHistoryStore, type SharedEmbeddedHistoryOptions } from '../../../adapters/history/embedded/shared.js';
import { SnowflakeHistoryStore, type SnowflakeHistoryStoreOptions } from '../../../adapters/history/snowflake/index.js';
import { KafkaStreamSource, type KafkaSourceOptions } from '../../../adapters/sources/kafka/index.js';
import { MemoryStream } from '../../../adapters/sources/memory/stream.js';
import { MemoryRows } from '../../../adapters/sources/memory/rows.js';
import { MongoRowSource, type MongoRowSourceOptions } from '../../../adapters/sources/mongodb/index.js';
import { SnowflakeRowSource, type SnowflakeRowSourceOptions } from '../../../adapters/sources/snowflake/index.js';
import { EmbeddedSql, type EmbeddedSourceOptions, type EmbeddedSqlOptions } from '../../../adapters/sources/embedded/index.js';
import type { BatchSourceDefinition } from '../../../schema/types.js';

const secret = 'hunter2';

/** The error a refused set of options gets: every problem, in the order the options are checked. */
function assertRefused(error: unknown, problems: readonly string[]): true {
  assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
  assert.ok(error instanceof OptionsError);
  assert.equal(error.code, 'INVALID_CONFIG');
  assert.equal(error.retriable, false);
  assert.deepEqual(error.problems, problems);
  assert.equal(error.message, problems.length === 1 ? problems[0] : `${problems.length} problems in the options:\n  - ${problems.join('\n  - ')}`);
  assert.ok(!inspect(error, { depth: 20, showHidden: true }).includes(secret), 'no secret in the error');
  return true;
}

const refuses = (make: () => unknown, ...problems: string[]) => assert.throws(make, (error) => assertRefused(error, problems));
const rejects = (open: () => Promise<unknown>, ...problems: string[]) => assert.rejects(open, (error) => assertRefused(error, problems));

test('online store factory: a type it does not know', async () => {
  await assert.rejects(createOnlineStore({ type: 'memcached' } as unknown as OnlineStoreConfig), { code: 'INVALID_CONFIG', message: 'online store: type must be "memory", "redis" or "redis-cluster", got "memcached"' });
});

test('memory online store: a clock that is no function', () => {
  refuses(() => new MemoryOnlineStore({ now: 42 as unknown as () => number }), 'memory online store: now must be a function, got 42');
  assert.throws(() => new MemoryOnlineStore(null as never), { code: 'INVALID_CONFIG', message: 'memory online store: options must be an object, got null' });
});

test('redis online store: a bad option is INVALID_CONFIG, not a retriable ONLINE_STORE_UNAVAILABLE, and every other option is checked too', () => {
  const redis = (options: Record<string, unknown>) => () => new RedisOnlineStore(options as unknown as RedisOnlineStoreOptions);
  refuses(redis({ mode: 'standalone', url: 'redis://127.0.0.1:1', maxKeysPerTileCall: 0 }), 'redis online store: maxKeysPerTileCall must be an integer from 1 to 100000, got 0');
  refuses(
    redis({ mode: 'standalone', url: `http://fg:${secret}@cache:6379`, keyPrefix: 'fg:*', commandTimeoutMs: 0, writeTimeoutMs: 1.5, connectTimeoutMs: -1, breakerFailures: 0, breakerOpenMs: 'soon', maxKeysPerTileCall: 1e6 }),
    'redis online store: keyPrefix must be a string without { } * ? [ ] or \\, got "fg:*"',
    'redis online store: commandTimeoutMs must be an integer from 1 to 600000, got 0',
    'redis online store: writeTimeoutMs must be an integer from 1 to 600000, got 1.5',
    'redis online store: connectTimeoutMs must be an integer from 1 to 600000, got -1',
    'redis online store: breakerFailures must be an integer from 1 to 10000, got 0',
    'redis online store: breakerOpenMs must be an integer from 1 to 600000, got "soon"',
    'redis online store: maxKeysPerTileCall must be an integer from 1 to 100000, got 1000000',
    'redis online store: url must be a connection string starting with redis:// or rediss://, got "http://..."',
  );
  refuses(redis({ mode: 'sentinel', url: 'redis://127.0.0.1:1' }), 'redis online store: mode must be "standalone" or "cluster", got "sentinel"');
  refuses(redis({ mode: 'cluster', nodes: [] }), 'redis-cluster online store: nodes must list at least one { host, port }, got []');
  refuses(
    redis({ mode: 'cluster', nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '', port: 70000 }], keyPrefix: '{fg}', username: '', password: 42 }),
    'redis-cluster online store: keyPrefix must be a string without { } * ? [ ] or \\, got "{fg}"',
    'redis-cluster online store: nodes[1].host must be a non-empty string, got ""',
    'redis-cluster online store: nodes[1].port must be an integer from 1 to 65535, got 70000',
    'redis-cluster online store: username must be a non-empty string, got ""',
    'redis-cluster online store: password must be a string',
  );
});

test('redis online store: options that pass are taken without connecting', async () => {
  const store = new RedisOnlineStore({ mode: 'standalone', url: 'redis://127.0.0.1:1', keyPrefix: 'fg-test:options:', commandTimeoutMs: 50, breakerFailures: 1 });
  assert.equal(store.keyOf({ view: 'v', key: 'k' }), 'fg-test:options:v:{k}');
  await store.close();
});

test('redis checkpoint store: the URL (redacted) and the prefix', () => {
  refuses(() => new RedisCheckpointStore('localhost:6379'), 'redis checkpoint store: url must be a connection string starting with redis:// or rediss://, got "localhost:6379"');
  refuses(() => new RedisCheckpointStore(`redis:/fg:${secret}@cache`), 'redis checkpoint store: url must be a connection string starting with redis:// or rediss://, got "redis:/..."');
  refuses(
    () => new RedisCheckpointStore(`redis//:${secret}@cache:6379`, ''),
    'redis checkpoint store: url must be a connection string starting with redis:// or rediss://, got "redis//:..."',
    'redis checkpoint store: prefix must be a non-empty string, got ""',
  );
});

test('embedded history store: memory limits, threads, temp directory and views, all checked before the file is opened', async () => {
  const open = (options: Record<string, unknown>, path = ':memory:') => () => EmbeddedHistoryStore.open(path, options as EmbeddedHistoryStoreOptions);
  await rejects(open({ bulkMemoryLimit: 'lots' }), 'embedded history store: bulkMemoryLimit must be a size such as 512MB or 2GB, got "lots"');
  await rejects(open({ memoryLimit: '1 GB; DROP' }), 'embedded history store: memoryLimit must be a size such as 512MB or 2GB, got "1 GB; DROP"');
  await rejects(
    open({ memoryLimit: 512, threads: 0, tempDirectory: '', views: 42, bulkMemoryLimit: '2 lots' }, ''),
    'embedded history store: path must be a non-empty string, got ""',
    'embedded history store: memoryLimit must be a size such as 512MB or 2GB, got 512',
    'embedded history store: threads must be an integer from 1 to 1024, got 0',
    'embedded history store: tempDirectory must be a non-empty string, got ""',
    'embedded history store: views must be an iterable of resolved views (registry.views.values()), got 42',
    'embedded history store: bulkMemoryLimit must be a size such as 512MB or 2GB, got "2 lots"',
  );
});

test('shared embedded history store: a file, and its own options with the store\'s, checked in a process that may never open the file', async () => {
  const open = (file: string, options: Record<string, unknown>) => () => SharedEmbeddedHistoryStore.open(file, options as SharedEmbeddedHistoryOptions);
  await rejects(open(':memory:', {}), 'a shared embedded history store needs a file; use EmbeddedHistoryStore for :memory:');
  await rejects(
    open('', { takeoverMs: 0, socketDir: '', log: 'stderr', memoryLimit: 'lots' }),
    'shared embedded history store: file must be a non-empty string, got ""',
    'shared embedded history store: takeoverMs must be an integer from 1 to 3600000, got 0',
    'shared embedded history store: socketDir must be a non-empty string, got ""',
    'shared embedded history store: log must be a function, got "stderr"',
    'embedded history store: memoryLimit must be a size such as 512MB or 2GB, got "lots"',
  );
});

const connection = { account: 'fakesnow', username: 'fg', password: secret, database: 'DB', schema: 'S', host: '127.0.0.1', port: 1, protocol: 'http' } as const;

test('snowflake history store: every option before logging in; the password never shown', async () => {
  const open = (options: Record<string, unknown>) => () => SnowflakeHistoryStore.open({ connection, ...options } as SnowflakeHistoryStoreOptions);
  await rejects(open({ appendBatch: 0 }), 'snowflake history store: appendBatch must be an integer from 1 to 100000, got 0');
  await rejects(open({ exactSums: 'yes' }), 'snowflake history store: exactSums must be true or false, got "yes"');
  await rejects(open({ uploadBatch: 1.5 }), 'snowflake history store: uploadBatch must be an integer from 1 to 1000000, got 1.5');
  await rejects(open({ connection: { ...connection, account: '' } }), 'snowflake history store: connection.account must be a non-empty string, got ""');
  await rejects(
    open({ connection: { ...connection, password: 42, protocol: 'ftp' }, table: 'a"b', payloadBytes: 10, requestTimeoutMs: 0, connectTimeoutMs: 'fast', loginRetries: 21 }),
    'snowflake history store: connection.protocol must be "http" or "https", got "ftp"',
    'snowflake history store: connection.password must be a non-empty string',
    'snowflake history store: table must be an identifier matching /^[A-Za-z_][A-Za-z0-9_$]{0,254}$/ (letters, digits, _ and $, quoted as written, so case-sensitive), got "a\\"b"',
    'snowflake history store: payloadBytes must be an integer from 1024 to 16777216, got 10',
    'snowflake history store: requestTimeoutMs must be an integer from 1 to 3600000, got 0',
    'snowflake history store: connectTimeoutMs must be an integer from 1 to 600000, got "fast"',
    'snowflake history store: loginRetries must be an integer from 0 to 20, got 21',
  );
});

test('kafka source: every option before any broker is asked; SASL secrets never shown', () => {
  const kafka = (options: Record<string, unknown>) => () => new KafkaStreamSource(options as unknown as KafkaSourceOptions);
  refuses(kafka({ brokers: [] }), 'kafka: brokers must list at least one host:port, got []');
  refuses(kafka({ brokers: ['127.0.0.1:9092'], maxMessageBytes: 50 }), "kafka: maxMessageBytes must be an integer above 93 (a topic's max.message.bytes), got 50");
  refuses(
    kafka({
      brokers: ['127.0.0.1:9092', 'localhost'],
      clientId: '',
      ssl: 'yes',
      sasl: { mechanism: 'kerberos', username: 'fg', password: secret },
      chunkSize: 0,
      chunksInFlight: -1,
      commitIntervalMs: 1.5,
      partitionsConsumedConcurrently: 0,
      sessionTimeoutMs: 'long',
      defaultPartitions: 0,
      incarnationSweepMs: 0,
      caughtUpIntervalMs: 0,
      onStartup: 'log',
      startupBackoff: { initialMs: 0 },
    }),
    'kafka: brokers[1] must be host:port, got "localhost"',
    'kafka: clientId must be a non-empty string, got ""',
    'kafka: ssl must be true or false, got "yes"',
    'kafka: sasl.mechanism must be "plain", "scram-sha-256", "scram-sha-512", "aws" or "oauthbearer", got "kerberos"',
    'kafka: chunkSize must be an integer from 1 to 1000000, got 0',
    'kafka: chunksInFlight must be an integer from 0 to 1000, got -1',
    'kafka: commitIntervalMs must be an integer from 0 to 600000, got 1.5',
    'kafka: partitionsConsumedConcurrently must be an integer from 1 to 1000, got 0',
    'kafka: sessionTimeoutMs must be an integer from 1 to 3600000, got "long"',
    'kafka: defaultPartitions must be an integer from 1 to 100000, got 0',
    'kafka: incarnationSweepMs must be an integer from 1 to 600000, got 0',
    'kafka: caughtUpIntervalMs must be an integer from 1 to 600000, got 0',
    'kafka: onStartup must be a function, got "log"',
    'kafka start-up: backoff initialMs must be a positive number of ms, got 0',
  );
  refuses(kafka({ brokers: ['127.0.0.1:9092'], sasl: secret }), 'kafka: sasl must be an object with a mechanism (plain, scram-sha-256, scram-sha-512, aws, oauthbearer)');
});

test('memory stream and memory rows: partitions, clock and name', () => {
  refuses(() => new MemoryStream(0), 'memory stream: partitionsPerTopic must be an integer from 1 to 1000, got 0');
  refuses(() => new MemoryStream(1.5, 'now' as unknown as () => number), 'memory stream: partitionsPerTopic must be an integer from 1 to 1000, got 1.5', 'memory stream: now must be a function, got "now"');
  refuses(() => new MemoryRows(''), 'memory rows: name must be a non-empty string, got ""');
});

const collection = { kind: 'document', name: 'rows', collection: 'rows', keyField: '_id', updatedAtField: 'updatedAt' } as const;

test('mongodb source: the definition and every option before connecting; the URL redacted', () => {
  const mongo = (options: Record<string, unknown>, definition: Record<string, unknown> = {}) => () =>
    new MongoRowSource({ url: 'mongodb://127.0.0.1:1', database: 'app', definition: { ...collection, ...definition }, ...options } as MongoRowSourceOptions);
  refuses(mongo({}, { keyField: '$where' }), 'mongodb source "rows": keyField must be a field path like "menuSize" or "stats.menuSize" (no empty segment, none starting with $), got "$where"');
  refuses(mongo({ database: 'a.b' }), 'mongodb source "rows": database must be a database name (no / \\ . space " or $), got "a.b"');
  refuses(mongo({ batchSize: 0 }), 'mongodb source "rows": batchSize must be an integer from 1 to 100000, got 0');
  refuses(mongo({ url: `mongodb:/fg:${secret}@nowhere` }), 'mongodb source "rows": url must be a connection string starting with mongodb:// or mongodb+srv://, got "mongodb:/..."');
  refuses(mongo({ url: `postgres://fg:${secret}@db/app` }), 'mongodb source "rows": url must be a connection string starting with mongodb:// or mongodb+srv://, got "postgres://..."');
  refuses(
    mongo({ database: '', watchMaxAwaitMs: 0, username: '', password: 7, serverSelectionTimeoutMs: 0, connectTimeoutMs: 1e9 }, { collection: 'system.users', updatedAtField: 'a..b', filter: [] }),
    'mongodb source "rows": collection must be a collection name (no $, not system.*), got "system.users"',
    'mongodb source "rows": updatedAtField must be a field path like "menuSize" or "stats.menuSize" (no empty segment, none starting with $), got "a..b"',
    'mongodb source "rows": filter must be a query object like { active: true }, got []',
    'mongodb source "rows": database must be a database name (no / \\ . space " or $), got ""',
    'mongodb source "rows": watchMaxAwaitMs must be an integer from 1 to 600000, got 0',
    'mongodb source "rows": username must be a non-empty string, got ""',
    'mongodb source "rows": password must be a non-empty string',
    'mongodb source "rows": serverSelectionTimeoutMs must be an integer from 1 to 600000, got 0',
    'mongodb source "rows": connectTimeoutMs must be an integer from 1 to 600000, got 1000000000',
  );
  refuses(mongo({}, { kind: 'batch', name: '' }), 'mongodb source: definition must be a document source (mongoCollection(...)), got "batch"');
  refuses(mongo({ client: {} }), 'mongodb source "rows": client must be a MongoClient, got {}', 'mongodb source "rows": a shared client has its own connection settings; url cannot be given with it');
});

test('mongodb source: a password with a malformed escape is a ConfigError that keeps it out, not a URIError', () => {
  assert.throws(
    () => new MongoRowSource({ url: `mongodb://fg:${secret}%zz@127.0.0.1:1/app`, database: 'app', definition: collection }),
    (error: unknown) => error instanceof ConfigError && /^mongodb source "rows": url is not a valid connection string: /.test(error.message) && !inspect(error, { depth: 20, showHidden: true }).includes(secret),
  );
});

const table = { kind: 'batch', name: 'prep', table: 'PREP', keyColumn: 'K', eventTimeColumn: 'T' } as const;

test('snowflake source: the definition and every option before logging in; secrets never shown', () => {
  const snowflake = (options: Record<string, unknown>) => () => new SnowflakeRowSource({ connection, definition: table, ...options } as SnowflakeRowSourceOptions);
  refuses(snowflake({ batchSize: 0 }), 'snowflake source "prep": batchSize must be an integer from 1 to 100000, got 0');
  refuses(snowflake({ epochUnit: 'ns' }), 'snowflake source "prep": epochUnit must be "milliseconds" or "seconds", got "ns"');
  refuses(snowflake({ connectTimeoutMs: -1 }), 'snowflake source "prep": connectTimeoutMs must be an integer from 1 to 600000, got -1');
  refuses(snowflake({ definition: { ...table, kind: 'stream' } }), 'snowflake source: definition must be a batch source (snowflakeTable(...)), got "stream"');
  refuses(snowflake({ connection: { ...connection, account: '' } }), 'snowflake source: connection.account must be a non-empty string, got ""');
  refuses(snowflake({ connection: { ...connection, protocol: 'ftp' } }), 'snowflake source: connection.protocol must be "http" or "https", got "ftp"');
  refuses(snowflake({ connection: { ...connection, port: 70000 } }), 'snowflake source: connection.port must be an integer from 1 to 65535, got 70000');
  refuses(snowflake({ connection: { ...connection, privateKey: 'not a key' } }), 'snowflake source: connection needs exactly one of password or privateKey (got both)', 'snowflake source: connection.privateKey must be a PEM private key ("-----BEGIN PRIVATE KEY-----...")');
  refuses(snowflake({ connection: { ...connection, password: undefined } }), 'snowflake source: connection needs exactly one of password or privateKey (got neither)');
  refuses(snowflake({ connection: { ...connection, password: 42 } }), 'snowflake source: connection.password must be a non-empty string');
  refuses(snowflake({ connection: { ...connection, password: undefined, privateKey: secret } }), 'snowflake source: connection.privateKey must be a PEM private key ("-----BEGIN PRIVATE KEY-----...")');
  refuses(
    snowflake({ definition: { ...table, keyColumn: 'id" OR 1=1 --', query: 'SELECT 1' }, connection: { ...connection, schema: undefined }, batchSize: 1e6, loginRetries: -1 }),
    'snowflake source "prep": keyColumn must be an identifier matching /^[A-Za-z_][A-Za-z0-9_$]{0,254}$/ (letters, digits, _ and $, quoted as written, so case-sensitive), got "id\\" OR 1=1 --"',
    'snowflake source "prep": the definition takes exactly one of table or query',
    'snowflake source: connection.schema must be a non-empty string, got undefined',
    'snowflake source "prep": batchSize must be an integer from 1 to 100000, got 1000000',
    'snowflake source "prep": loginRetries must be an integer from 0 to 20, got -1',
  );
});

test('embedded database and source: settings and definition before any SQL', async () => {
  const open = (options: Record<string, unknown>, path = ':memory:') => () => EmbeddedSql.open(path, options as EmbeddedSqlOptions);
  await rejects(open({ memoryLimit: 'lots', threads: 0, tempDirectory: 7 }, ''),
    'embedded database: path must be a non-empty string, got ""',
    'embedded database: memoryLimit must be a size such as 512MB or 2GB, got "lots"',
    'embedded database: threads must be an integer from 1 to 1024, got 0',
    'embedded database: tempDirectory must be a non-empty string, got 7',
  );
  const db = await EmbeddedSql.open();
  try {
    const source = (definition: Record<string, unknown>, options: Record<string, unknown> = {}) => () => db.source({ ...table, ...definition } as BatchSourceDefinition, options as EmbeddedSourceOptions);
    refuses(source({}, { batchSize: 0 }), 'embedded source "prep": batchSize must be an integer from 1 to 100000, got 0');
    refuses(source({ query: 'SELECT 1' }), 'embedded source "prep": the definition takes exactly one of table or query');
    refuses(
      source({ table: 'a.b.c.d', keyColumn: 7, eventTimeColumn: 't-1' }, { batchSize: 2.5 }),
      'embedded source "prep": table "a.b.c.d" has more than catalog.schema.table parts',
      'embedded source "prep": keyColumn must be a name, got 7',
      'embedded source "prep": eventTimeColumn "t-1" is not a plain SQL identifier (letters, digits, _ and $, not starting with a digit)',
      'embedded source "prep": batchSize must be an integer from 1 to 100000, got 2.5',
    );
    refuses(source({ kind: 'document' }), 'embedded source: definition must be a batch source (snowflakeTable(...)), got "document"');
  } finally {
    await db.close();
  }
});
