// The parts of how processes start, wait and report, without servers (the backoff and retry helper has
// its own file, test/unit/schema/backoff.test.ts): Health (a state change logged once, the /readyz report, probes bounded),
// the choice of views `materialize` runs, targets that never carry a password, the deferred history
// store of `serve`, and the Kafka source's start-up against a port nothing listens on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WaitAborted } from '../../../schema/backoff.js';
import { FeaturegraphError } from '../../../schema/errors.js';
import { Health } from '../../../gateway/health.js';
import { chooseViews } from '../../../gateway/materialize-views.js';
import { onlineStoreTarget, openServeHistory } from '../../../gateway/dependencies.js';
import { historyTarget } from '../../../gateway/history.js';
import { DeferredHistoryStore } from '../../../gateway/deferred-history.js';
import { configSchema, loadConfig } from '../../../gateway/config.js';
import { loadFeatureRepo } from '../../../schema/load.js';
import { MemoryHistoryStore } from '../../../adapters/history/memory/index.js';
import { KafkaStartup, type KafkaStartupEvent } from '../../../adapters/sources/kafka/startup.js';
import { freePort } from '../../fixtures/cli-process.js';

test('Health logs a dependency when its state or cause changes, never on a repeat, and reports each one', async () => {
  const lines: string[] = [];
  let now = Date.parse('2026-06-01T12:00:00Z');
  const health = new Health({ log: (line) => lines.push(line), now: () => now });
  health.add('kafka', { target: '127.0.0.1:9092', meanwhile: 'views wait' });
  health.add('topic:orders', { target: 'kafka 127.0.0.1:9092' });
  health.set('kafka', 'waiting', 'connect ECONNREFUSED 127.0.0.1:9092');
  health.set('kafka', 'waiting', 'connect ECONNREFUSED 127.0.0.1:9092');
  health.fail('kafka', 'connect ECONNREFUSED 127.0.0.1:9092');
  now += 1000;
  health.set('kafka', 'ready');
  health.set('kafka', 'ready');
  health.fail('kafka', 'Connection error: read ECONNRESET');
  health.fail('kafka', 'Connection error: read ECONNRESET');
  assert.deepEqual(lines, [
    'waiting for kafka (127.0.0.1:9092): connect ECONNREFUSED 127.0.0.1:9092; meanwhile views wait',
    'kafka (127.0.0.1:9092) ready',
    'kafka (127.0.0.1:9092) unavailable: Connection error: read ECONNRESET; meanwhile views wait',
  ]);
  assert.deepEqual(health.report(), {
    status: 'not ready',
    dependencies: {
      kafka: { state: 'unavailable', target: '127.0.0.1:9092', cause: 'Connection error: read ECONNRESET', meanwhile: 'views wait', since: '2026-06-01T12:00:01.000Z' },
      'topic:orders': { state: 'waiting', target: 'kafka 127.0.0.1:9092', since: '2026-06-01T12:00:00.000Z' },
    },
  });
  health.set('topic:orders', 'failed', 'authorization failed');
  health.fail('topic:orders', 'something else');
  assert.equal(health.state('topic:orders'), 'failed');
  assert.throws(() => health.set('nope', 'ready'), /unknown dependency "nope"/);
});

test('Health probes: an answer is ready, a rejection its cause, a probe that never answers is bounded', async () => {
  const health = new Health({ log: () => {} });
  health.add('a', { target: 'a', probe: async () => {} });
  health.add('b', { target: 'b', probe: async () => Promise.reject(new Error('not connected (reconnecting): connect ECONNREFUSED 127.0.0.1:1')) });
  health.add('c', { target: 'c', probe: () => new Promise<void>(() => {}), probeTimeoutMs: 20 });
  const report = await health.check();
  assert.equal(report.status, 'not ready');
  assert.deepEqual(Object.fromEntries(Object.entries(report.dependencies).map(([k, d]) => [k, [d.state, d.cause]])), {
    a: ['ready', undefined],
    b: ['waiting', 'not connected (reconnecting): connect ECONNREFUSED 127.0.0.1:1'],
    c: ['waiting', 'no answer within 20 ms'],
  });
});

test('materialize views: every view whose source is configured, the rest skipped by setting; refusals name the settings', async () => {
  const registry = await loadFeatureRepo('examples/food-delivery/features');
  const config = (input: object) => configSchema.parse(input);
  const kafkaOnly = chooseViews(registry, config({ kafka: { brokers: ['127.0.0.1:9092'] } }));
  assert.deepEqual(kafkaOnly.stream, ['restaurant_order_activity', 'user_order_activity']);
  assert.deepEqual(kafkaOnly.batch, []);
  assert.deepEqual(kafkaOnly.skipped.map((s) => s.view), ['restaurant_prep', 'restaurant_profile', 'user_profile']);
  const tablesOnly = chooseViews(registry, config({ sources: { batch: { type: 'embedded', path: 'x.duckdb' } } }));
  assert.deepEqual([tablesOnly.stream, tablesOnly.batch], [[], ['restaurant_prep']]);
  assert.throws(() => chooseViews(registry, config({})), {
    message:
      'nothing to materialize: no view has a configured source (restaurant_order_activity, user_order_activity read a kafka topic: set kafka.brokers in the config (or env FEATUREGRAPH_KAFKA_BROKERS=host:port,...); restaurant_prep reads a table: set sources.batch in the config (snowflake or embedded); restaurant_profile, user_profile read a collection: set sources.document in the config (mongodb))',
  });
  assert.throws(() => chooseViews(registry, config({ kafka: { brokers: ['127.0.0.1:9092'] } }), ['restaurant_order_activity', 'restaurant_profile']), {
    message: '--views asks for views whose source is not configured: restaurant_profile reads a collection: set sources.document in the config (mongodb)',
  });
  assert.throws(() => chooseViews(registry, config({}), ['nope']), { code: 'BAD_USER_INPUT', message: /^--views: unknown feature view "nope"; known: restaurant_order_activity, / });
  assert.throws(() => chooseViews(registry, config({}), []), { code: 'INVALID_CONFIG' });
});

test('targets name hosts and ports, never a password', () => {
  assert.equal(onlineStoreTarget({ type: 'redis', url: 'redis://app:s3cret@cache.internal:6380/2' }), 'redis cache.internal:6380, db 2');
  assert.equal(onlineStoreTarget({ type: 'redis', url: 'rediss://:s3cret@cache.internal' }), 'redis cache.internal:6379');
  assert.equal(onlineStoreTarget({ type: 'redis-cluster', nodes: [{ host: 'a', port: 1 }, { host: 'b', port: 2 }], password: 's3cret' }), 'redis-cluster a:1,b:2');
  const history = { type: 'snowflake' as const, account: 'org-acct', user: 'fg', database: 'D', schema: 'S' };
  assert.equal(historyTarget(history, { FEATUREGRAPH_SNOWFLAKE_PASSWORD: 's3cret' }), 'snowflake org-acct.snowflakecomputing.com:443, table FEATUREGRAPH_HISTORY');
  assert.equal(historyTarget({ ...history, host: '127.0.0.1', port: 18085, protocol: 'http', table: 'H' }, {}), 'snowflake 127.0.0.1:18085, table H');
  assert.equal(historyTarget({ ...history, host: '127.0.0.1' }, { FEATUREGRAPH_SNOWFLAKE_HOST: 'sf.internal', FEATUREGRAPH_SNOWFLAKE_PORT: '8443' }), 'snowflake sf.internal:8443, table FEATUREGRAPH_HISTORY');
});

test('config: materializer.healthPort is a port, off by default', () => {
  assert.equal(loadConfig({ env: {} }).materializer.healthPort, undefined);
  assert.equal(configSchema.parse({ materializer: { healthPort: 9464 } }).materializer.healthPort, 9464);
  assert.equal(configSchema.safeParse({ materializer: { healthPort: 70000 } }).success, false);
});

test('DeferredHistoryStore: answers HISTORY_STORE_UNAVAILABLE with the cause while opening, then the store; a failure no wait mends stops it', async () => {
  let open!: (store: MemoryHistoryStore) => void;
  const outcomes: string[] = [];
  const deferred = new DeferredHistoryStore('snowflake', () => new Promise((done) => (open = done)), 'cannot reach 127.0.0.1:1 (ECONNREFUSED)', (o) => outcomes.push(o.kind));
  await assert.rejects(deferred.count('v'), { code: 'HISTORY_STORE_UNAVAILABLE', message: 'history store snowflake is not open yet (retrying with backoff): cannot reach 127.0.0.1:1 (ECONNREFUSED)' });
  await assert.rejects(deferred.ping(), { code: 'HISTORY_STORE_UNAVAILABLE', message: 'cannot reach 127.0.0.1:1 (ECONNREFUSED)' });
  deferred.retrying('cannot reach 127.0.0.1:1 (ETIMEDOUT)');
  await assert.rejects(deferred.readAsOf({ features: [], mode: 'SERVED' }, []), { message: /\(ETIMEDOUT\)$/ });
  assert.equal(deferred.exportTrainingSet, undefined);
  const memory = new MemoryHistoryStore();
  await memory.append([{ view: 'v', key: 'k', id: '1', eventTime: 1, availableTime: 2, values: { a: 1 } }]);
  open(memory);
  await new Promise((done) => setImmediate(done));
  assert.deepEqual(outcomes, ['open']);
  assert.equal(await deferred.count('v'), 1);
  await deferred.ping();
  await deferred.close();
  await assert.rejects(deferred.count('v'), { message: 'history store snowflake is closed' });

  const refused = new DeferredHistoryStore('snowflake', async () => Promise.reject(new FeaturegraphError('HISTORY_STORE_UNAVAILABLE', 'open (login) failed: Incorrect username or password was specified.')), 'cannot reach', (o) => outcomes.push(o.kind));
  await new Promise((done) => setImmediate(done));
  await assert.rejects(refused.count('v'), { message: 'history store snowflake could not be opened: open (login) failed: Incorrect username or password was specified.' });
  assert.deepEqual(outcomes, ['open', 'failed']);
  await refused.close();

  // Closed while opening: the wait is stopped (its signal aborts), and a store opened late is closed.
  let signalled: AbortSignal | null = null;
  const stopped = new DeferredHistoryStore('snowflake', (signal) => {
    signalled = signal;
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new WaitAborted('history'))));
  }, 'cannot reach');
  await stopped.close();
  assert.equal((signalled as AbortSignal | null)?.aborted, true);
});

test('openServeHistory: a store that opens is returned as it is; one not reachable yet comes back deferred while the wait goes on, until close() stops it; a failure no wait mends is thrown', async () => {
  const quiet = () => undefined;
  const ready = new Health({ log: quiet });
  const memory = await openServeHistory(configSchema.parse({ history: { type: 'memory' } }).history, { views: [], log: quiet, health: ready });
  assert.ok(memory instanceof MemoryHistoryStore);
  assert.equal(ready.state('history'), 'ready');

  const port = await freePort();
  const snowflake = configSchema.parse({ history: { type: 'snowflake', account: 'a', user: 'fg', database: 'D', schema: 'S', host: '127.0.0.1', port, protocol: 'http' } }).history;
  const health = new Health({ log: quiet });
  const deferred = await openServeHistory(snowflake, { views: [], log: quiet, health, env: { FEATUREGRAPH_SNOWFLAKE_PASSWORD: 'pw' }, backoff: { initialMs: 5, maxMs: 20 } });
  assert.ok(deferred instanceof DeferredHistoryStore);
  assert.equal(health.state('history'), 'waiting');
  const cause = `cannot reach 127.0.0.1:${port} (ECONNREFUSED)`;
  assert.ok(health.report().dependencies.history?.cause?.endsWith(cause), JSON.stringify(health.report()));
  await assert.rejects(deferred.count('v'), (error: unknown) => error instanceof FeaturegraphError && error.retriable && error.message.startsWith('history store snowflake is not open yet (retrying with backoff): ') && error.message.endsWith(cause));
  await deferred.close();
  assert.equal(health.state('history'), 'waiting', 'stopped, not failed');
  await assert.rejects(deferred.count('v'), { message: 'history store snowflake is closed' });

  await assert.rejects(openServeHistory(snowflake, { views: [], log: quiet, health: new Health({ log: quiet }), env: {} }), { code: 'INVALID_CONFIG' });
});

test('Kafka start-up: a port nothing listens on is waited for (each check reported), and close() stops the wait', async () => {
  const port = await freePort();
  const events: KafkaStartupEvent[] = [];
  const startup = new KafkaStartup({ brokers: [`127.0.0.1:${port}`], clientId: 'startup-unit' }, { onEvent: (e) => events.push(e), backoff: { initialMs: 5, maxMs: 20 } });
  const waiting = startup.ready(['orders']);
  const deadline = Date.now() + 60_000;
  while (events.length < 3 && Date.now() < deadline) await new Promise((done) => setTimeout(done, 20));
  await startup.close();
  await assert.rejects(waiting, WaitAborted);
  assert.ok(events.length >= 3, `several checks: ${JSON.stringify(events)}`);
  for (const event of events) {
    assert.equal(event.kind, 'broker');
    assert.equal(event.state, 'waiting');
    assert.match((event as { cause: string }).cause, new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
  }
});
