// Config abuse: every bad value is refused at start with a message that names the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, graphiqlEnabled, introspectionEnabled, federationAccess } from '../../../gateway/config.js';
import { ConfigError } from '../../../schema/errors.js';

const file = (content: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'fg-config-')), 'featuregraph.json');
  writeFileSync(path, content);
  return path;
};

test('defaults: port 4000, the food-delivery repo, the memory store, 2 MB requests', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.port, 4000);
  assert.equal(config.repo, 'examples/food-delivery/features');
  assert.deepEqual(config.onlineStore, { type: 'memory' });
  assert.equal(config.limits.maxRequestBytes, 2 * 1024 * 1024);
  assert.equal(introspectionEnabled(config), true);
  assert.equal(graphiqlEnabled(config), true);
});

test('servedLog defaults: 2% of requests, 10,000 records buffered, written every second, the sink chosen at start', () => {
  assert.deepEqual(loadConfig({ env: {} }).servedLog, { sampleRate: 0.02, bufferRecords: 10_000, flushEveryMs: 1000 });
  const given = loadConfig({ file: file(JSON.stringify({ servedLog: { sampleRate: 0, sink: { type: 'kafka', topic: 'served' } } })), env: {} });
  assert.deepEqual(given.servedLog, { sampleRate: 0, bufferRecords: 10_000, flushEveryMs: 1000, sink: { type: 'kafka', topic: 'served' } });
});

test('env PORT, then flags, override the file', () => {
  const path = file(JSON.stringify({ port: 5000, limits: { maxDepth: 5 } }));
  assert.equal(loadConfig({ file: path, env: {} }).port, 5000);
  assert.equal(loadConfig({ file: path, env: { PORT: '6000' } }).port, 6000);
  assert.equal(loadConfig({ file: path, env: { PORT: '6000' }, overrides: { port: 7000 } }).port, 7000);
  assert.equal(loadConfig({ file: path, env: {} }).limits.maxDepth, 5);
});

test('production turns introspection and GraphiQL off unless asked', () => {
  const config = loadConfig({ env: { FEATUREGRAPH_PRODUCTION: 'true' } });
  assert.equal(introspectionEnabled(config), false);
  assert.equal(graphiqlEnabled(config), false);
  assert.equal(introspectionEnabled(loadConfig({ env: { FEATUREGRAPH_PRODUCTION: 'true', FEATUREGRAPH_INTROSPECTION: 'true' } })), true);
});

test('production turns the federation fields off unless asked; the token comes from the environment', () => {
  assert.deepEqual(federationAccess(loadConfig({ env: {} }), {}), { serviceSdl: true, entities: true, token: null });
  assert.deepEqual(federationAccess(loadConfig({ env: { FEATUREGRAPH_PRODUCTION: 'true' } }), {}), { serviceSdl: false, entities: false, token: null });
  const asked = loadConfig({ file: file(JSON.stringify({ production: true, federation: { entities: true } })), env: { FEATUREGRAPH_FEDERATION_SDL: 'true' } });
  assert.deepEqual(federationAccess(asked, { FEATUREGRAPH_FEDERATION_TOKEN: 'x'.repeat(16) }), { serviceSdl: true, entities: true, token: 'x'.repeat(16) });
  assert.equal(federationAccess(loadConfig({ env: { FEATUREGRAPH_FEDERATION_ENTITIES: 'false' } }), {}).entities, false);
});

test('a federation token too short to be a secret is refused without being shown', () => {
  assert.throws(() => federationAccess(loadConfig({ env: {} }), { FEATUREGRAPH_FEDERATION_TOKEN: 'hunter2' }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, 'FEATUREGRAPH_FEDERATION_TOKEN must be at least 16 characters without spaces (it has 7)');
    return true;
  });
  assert.throws(() => federationAccess(loadConfig({ env: {} }), { FEATUREGRAPH_FEDERATION_TOKEN: 'sixteen chars ok' }), /without spaces/);
});

const refusals: [string, () => unknown, RegExp][] = [
  ['a port that is not a number', () => loadConfig({ env: { PORT: 'eighty' } }), /port: .*number/i],
  ['a port out of range', () => loadConfig({ env: { PORT: '70000' } }), /port: .*65535/],
  ['an unknown top-level key', () => loadConfig({ file: file('{"prot": 1}'), env: {} }), /\(root\): .*prot/i],
  ['an unknown limit', () => loadConfig({ file: file('{"limits": {"maxDeep": 3}}'), env: {} }), /limits: .*maxDeep/i],
  ['a negative limit', () => loadConfig({ file: file('{"limits": {"maxDepth": -1}}'), env: {} }), /limits\.maxDepth: /],
  ['an unknown online store type', () => loadConfig({ file: file('{"onlineStore": {"type": "dynamo"}}'), env: {} }), /onlineStore\.type: /],
  ['a file that is not JSON', () => loadConfig({ file: file('port: 1'), env: {} }), /is not valid JSON/],
  ['a file that does not exist', () => loadConfig({ file: '/nonexistent/featuregraph.json', env: {} }), /cannot read config file \/nonexistent\/featuregraph.json: ENOENT/],
  ['a file holding a list', () => loadConfig({ file: file('[]'), env: {} }), /must hold a JSON object/],
  ['an unknown federation switch', () => loadConfig({ file: file('{"federation": {"sdl": true}}'), env: {} }), /federation: .*sdl/i],
  // The Redis store's own bounds (adapters/online/redis/options.ts): refused here, at start, not later by the store.
  ['a Redis read timeout past the store\'s bound', () => loadConfig({ file: file('{"onlineStore": {"type": "redis", "url": "redis://127.0.0.1:6379", "commandTimeoutMs": 600001}}'), env: {} }), /onlineStore\.commandTimeoutMs: .*600000/],
  ['a Redis write timeout of zero', () => loadConfig({ file: file('{"onlineStore": {"type": "redis-cluster", "nodes": [{"host": "a", "port": 7000}], "writeTimeoutMs": 0}}'), env: {} }), /onlineStore\.writeTimeoutMs: /],
  ['a federation switch that is not a boolean', () => loadConfig({ file: file('{"federation": {"entities": "yes"}}'), env: {} }), /federation\.entities: /],
  ['a served-log sample rate above 1', () => loadConfig({ file: file('{"servedLog": {"sampleRate": 1.5}}'), env: {} }), /servedLog\.sampleRate: .*1/],
  ['an unknown served-log key', () => loadConfig({ file: file('{"servedLog": {"rate": 0.1}}'), env: {} }), /servedLog: .*rate/],
  ['a served-log buffer of no records', () => loadConfig({ file: file('{"servedLog": {"bufferRecords": 0}}'), env: {} }), /servedLog\.bufferRecords: /],
  ['an unknown served-log sink', () => loadConfig({ file: file('{"servedLog": {"sink": {"type": "redis"}}}'), env: {} }), /servedLog\.sink\.type: /],
  ['a key of another served-log sink', () => loadConfig({ file: file('{"servedLog": {"sink": {"type": "memory", "topic": "t"}}}'), env: {} }), /servedLog\.sink: .*topic/],
];

for (const [what, load, message] of refusals) {
  test(`refused: ${what}`, () => {
    assert.throws(load, (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(error.code, 'INVALID_CONFIG');
      assert.match(error.message, message);
      return true;
    });
  });
}
