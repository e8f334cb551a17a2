// The gateway's one CSRF rule is Apollo Server's: for every content type and header below, csrfRefusal
// refuses exactly when Apollo Server (csrfPrevention on) refuses, and parses content types as it does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { csrfRefusal, mimeEssence } from '../../../gateway/csrf.js';

const contentTypes: (string | undefined)[] = [
  undefined,
  '',
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'text/csv',
  'text/csv; charset=utf-8',
  'text/plain',
  'text/plain;charset=json',
  'text/plain; csv',
  ' Text/Plain ; charset=UTF-8',
  'text/plain\t',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; json',
  'multipart/form-data; boundary=json',
  'MULTIPART/FORM-DATA',
  'text/plain+json',
  'text/ plain',
  'text /plain',
  'text/',
  '/plain',
  'json',
  'text/plain/x',
  'text/plain,application/json',
  'application/json, text/plain',
];

const headerSets: Record<string, string>[] = [{}, { 'apollo-require-preflight': 'true' }, { 'x-apollo-operation-name': 'Q' }, { 'apollo-require-preflight': '' }, { 'x-apollo-operation-name': '' }];

async function apolloRefuses(server: ApolloServer, contentType: string | undefined, extra: Record<string, string>): Promise<boolean> {
  const headers = new HeaderMap();
  if (contentType !== undefined) headers.set('content-type', contentType);
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  const response = await server.executeHTTPGraphQLRequest({ httpGraphQLRequest: { method: 'POST', headers, search: '', body: { query: '{ ok }' } }, context: async () => ({}) });
  const text = response.body.kind === 'complete' ? response.body.string : '';
  return response.status === 400 && text.includes('Cross-Site Request Forgery');
}

test('refuses exactly what Apollo Server refuses, for every content type and preflight header', async () => {
  const server = new ApolloServer({ typeDefs: 'type Query { ok: Boolean }', resolvers: { Query: { ok: () => true } }, csrfPrevention: true });
  await server.start();
  try {
    for (const contentType of contentTypes) {
      for (const extra of headerSets) {
        const nodeHeaders = { ...(contentType === undefined ? {} : { 'content-type': contentType }), ...extra };
        const ours = csrfRefusal(nodeHeaders, 'application/json') !== null;
        assert.equal(ours, await apolloRefuses(server, contentType, extra), `content-type ${JSON.stringify(contentType)} with ${JSON.stringify(extra)}`);
      }
    }
  } finally {
    await server.stop();
  }
});

test('the refusal names what was sent and what to send', () => {
  assert.equal(
    csrfRefusal({ 'content-type': 'text/plain;charset=json' }, 'application/json or text/csv'),
    'this request has been blocked as a potential cross-site request forgery (CSRF): it has content-type "text/plain;charset=json", which a browser sends from any site without asking; send content-type application/json or text/csv, or a non-empty apollo-require-preflight or x-apollo-operation-name header',
  );
  assert.match(csrfRefusal({}, 'application/json') ?? '', /it has no content-type, which a browser sends/);
});

test('content types are parsed as MIME types: essence in lower case, parameters aside, null when malformed', () => {
  assert.equal(mimeEssence('text/plain;charset=json'), 'text/plain');
  assert.equal(mimeEssence(' Application/JSON ; charset=utf-8'), 'application/json');
  assert.equal(mimeEssence('multipart/form-data; boundary=json'), 'multipart/form-data');
  assert.equal(mimeEssence('text/csv'), 'text/csv');
  for (const bad of ['', 'json', 'text/', '/csv', 'text/ csv', 'text /csv', 'text/plain/x', 'tëxt/plain']) assert.equal(mimeEssence(bad), null, JSON.stringify(bad));
});
