// Secrets never reach a message or a cause, whichever adapter wraps the driver's error: the MongoDB source
// and the Snowflake source and history store scrub with one rule (adapters/common/redact.ts). Each input
// here is one that the two copies they had before scrubbed differently, or that neither scrubbed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { wrapDriverError as wrapMongoError } from '../../../../adapters/sources/mongodb/errors.js';
import { wrapDriverError as wrapSnowflakeError } from '../../../../adapters/sources/snowflake/errors.js';

const key = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFLTBXBgkqhkiG9w0BBQ0wSjAp\n-----END ENCRYPTED PRIVATE KEY-----';

/** [driver message, what a message may say of it] */
const cases: [string, string, string][] = [
  ['a URL password without a user name (Redis)', 'cannot reach redis://:hunter2@cache:6379/0', 'cannot reach redis://:***@cache:6379/0'],
  ['a PEM private key', `key ${key} refused`, 'key [private key] refused'],
  ['a password holding an unencoded @', 'cannot reach mongodb://fg:hunt@r2@db:27017/app', 'cannot reach mongodb://fg:***@db:27017/app'],
  ['a token in a query string', 'GET https://acme.example.com/session?user=fg&token=hunter2&x=1 failed', 'GET https://acme.example.com/session?user=fg&token=***&x=1 failed'],
  ['a password in a query string', 'mongodb://db:27017/app?authSource=admin&password=hunter2', 'mongodb://db:27017/app?authSource=admin&password=***'],
  ['a signed URL', 'PUT https://s3.example.com/stage/f.gz?X-Amz-Credential=AKIA1%2F2&X-Amz-Signature=abc123 failed', 'PUT https://s3.example.com/stage/f.gz?X-Amz-Credential=***&X-Amz-Signature=*** failed'],
  ['an ordinary URL password (both kept it out)', 'mongodb+srv://u:p%40ss@c.example.net/app?authSource=admin', 'mongodb+srv://u:***@c.example.net/app?authSource=admin'],
];

const wrappers = [
  ['mongodb source', (message: string) => wrapMongoError('r', 'read', Object.assign(new Error(message), { name: 'MongoServerError', code: 18 }), []), 'mongodb source "r": read failed: '],
  ['snowflake source', (message: string) => wrapSnowflakeError('orders', 'read', Object.assign(new Error(message), { name: 'NetworkError' }), []), 'snowflake source "orders": read failed: '],
] as const;

for (const [adapter, wrap, prefix] of wrappers) {
  test(`${adapter}: a driver error keeps no secret, in its message or its cause`, () => {
    for (const [what, raw, scrubbed] of cases) {
      const wrapped = wrap(raw);
      assert.equal(wrapped.message, `${prefix}${scrubbed}`, what);
      assert.equal((wrapped.cause as Error).message, scrubbed, what);
      for (const secret of ['hunter2', 'hunt@r2', 'MIIFLTBX', 'abc123']) assert.ok(!inspect(wrapped, { depth: 20, showHidden: true }).includes(secret), `${what}: ${secret}`);
    }
  });
}
