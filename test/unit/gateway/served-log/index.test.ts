// The served log's factory: which sink the config chooses (following the history store by default),
// why logging is off when it is, and that an embedded sink on the history's file goes through the
// history store the process holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type GatewayConfigInput } from '../../../../gateway/config.js';
import { openServedLog, servedLogSink } from '../../../../gateway/served-log/index.js';
import { SharedEmbeddedHistoryStore } from '../../../../adapters/history/embedded/shared.js';
import { EmbeddedServedLogStore } from '../../../../adapters/served-log/embedded.js';
import { ConfigError } from '../../../../schema/errors.js';
import { readAll, servedRecord } from '../../../conformance/served-log-store.js';

const config = (overrides: Partial<GatewayConfigInput>, env: NodeJS.ProcessEnv = {}) => loadConfig({ env, overrides });
const kafkaEnv = { FEATUREGRAPH_KAFKA_BROKERS: 'kafka:9092' };

test('the default sink follows the history store: memory, the embedded file, else kafka when configured, else off', () => {
  assert.deepEqual(servedLogSink(config({})), { sink: { type: 'memory' } });
  assert.deepEqual(servedLogSink(config({ history: { type: 'embedded', path: 'h.duckdb' } })), { sink: { type: 'embedded', path: 'h.duckdb' } });
  assert.deepEqual(servedLogSink(config({ history: { type: 'snowflake' } }, kafkaEnv)), { sink: { type: 'kafka' } });
  assert.deepEqual(servedLogSink(config({ history: { type: 'snowflake' } })), { off: 'history is snowflake and no kafka cluster is configured: set servedLog.sink' });
  assert.deepEqual(servedLogSink(config({ servedLog: { sampleRate: 0, sink: { type: 'memory' } } })), { off: 'servedLog.sampleRate is 0' });
});

test('a sink given wins; an embedded one takes the history file unless it names its own', () => {
  assert.deepEqual(servedLogSink(config({ history: { type: 'embedded', path: 'h.duckdb' }, servedLog: { sink: { type: 'kafka', topic: 't' } } }, kafkaEnv)), { sink: { type: 'kafka', topic: 't' } });
  assert.deepEqual(servedLogSink(config({ history: { type: 'embedded', path: 'h.duckdb' }, servedLog: { sink: { type: 'embedded' } } })), { sink: { type: 'embedded', path: 'h.duckdb' } });
  assert.deepEqual(servedLogSink(config({ servedLog: { sink: { type: 'embedded', path: 'served.duckdb' } } })), { sink: { type: 'embedded', path: 'served.duckdb' } });
});

test('a sink that cannot be is refused, naming the key and what it needs', () => {
  const refused = (input: Partial<GatewayConfigInput>, message: string) =>
    assert.throws(() => servedLogSink(config(input)), (error: unknown) => error instanceof ConfigError && error.message === message);
  refused({ servedLog: { sink: { type: 'embedded' } } }, 'servedLog.sink: an embedded sink needs a path when history is not embedded (history is memory)');
  refused({ servedLog: { sink: { type: 'kafka' } } }, 'servedLog.sink: a kafka sink needs the kafka cluster (config kafka.brokers, or env FEATUREGRAPH_KAFKA_BROKERS)');
});

test('openServedLog: off says why and gives nothing; on says what is logged where', async () => {
  const lines: string[] = [];
  assert.equal(await openServedLog(config({ servedLog: { sampleRate: 0 } }), null, null, { log: (line) => lines.push(line) }), null);
  const served = await openServedLog(config({}), null, null, { log: (line) => lines.push(line) });
  assert.ok(served);
  assert.equal(served.store.name, 'memory');
  assert.deepEqual(lines, ['served log: off (servedLog.sampleRate is 0)', 'served log: 2% of requests (and each with x-featuregraph-log: 1) to memory (this process, the newest 100,000 records)']);
  served.logger.offer([servedRecord('m-1', 5)]);
  await served.logger.flush();
  assert.deepEqual((await readAll(served.store, { from: 0, to: 10 })).records.map((r) => r.id), ['m-1']);
  await served.close();
});

test('an embedded sink on the history file goes through the history store this process holds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-served-log-factory-'));
  const path = join(dir, 'history.duckdb');
  const history = await SharedEmbeddedHistoryStore.open(path);
  try {
    const served = await openServedLog(config({ history: { type: 'embedded', path } }), history);
    assert.ok(served);
    assert.ok(served.store instanceof EmbeddedServedLogStore);
    served.logger.offer([servedRecord('e-1', 7)]);
    await served.close();
    // Closing the served log leaves the history store open, and the record in its file.
    assert.deepEqual((await readAll(new EmbeddedServedLogStore(history), { from: 0, to: 10 })).records.map((r) => r.id), ['e-1']);
  } finally {
    await history.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
