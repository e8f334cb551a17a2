// Smoke test of the Jaeger test/services starts: a span sent by OTLP/HTTP (JSON encoding) comes back
// from the query API, found by service name and a per-run attribute, as a trace search for a stale
// feature will find its request. Jaeger keeps traces in memory, so nothing needs removing afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { requireEndpoint } from '../services/endpoints.js';
import { waitFor } from '../services/harness.js';

const serviceName = 'featuregraph-harness-test';
const run = randomUUID();

interface JaegerTrace {
  traceID: string;
  spans: { traceID: string; spanID: string; operationName: string; tags: { key: string; value: unknown }[]; processID: string }[];
  processes: Record<string, { serviceName: string }>;
}

/** One export request with one span, built by hand in the OTLP JSON encoding (ids in hex, times as strings). */
function exportRequest(traceId: string, spanId: string): unknown {
  const end = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] },
        scopeSpans: [
          {
            scope: { name: 'featuregraph-smoke' },
            spans: [
              {
                traceId,
                spanId,
                name: 'smoke span',
                kind: 1,
                startTimeUnixNano: String(end - 1_000_000n),
                endTimeUnixNano: String(end),
                attributes: [{ key: 'featuregraph.run', value: { stringValue: run } }],
              },
            ],
          },
        ],
      },
    ],
  };
}

test('jaeger: a span sent by OTLP/HTTP is found through the query API by service and attribute', async () => {
  const { otlpHttp, queryUrl } = requireEndpoint('jaeger');
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');

  const exported = await fetch(`${otlpHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(exportRequest(traceId, spanId)) });
  const text = await exported.text();
  assert.equal(exported.status, 200, text);
  const reply = JSON.parse(text) as { partialSuccess?: { rejectedSpans?: string | number } };
  assert.equal(Number(reply.partialSuccess?.rejectedSpans ?? 0), 0);

  const search = new URL('/api/traces', queryUrl);
  search.searchParams.set('service', serviceName);
  search.searchParams.set('tags', JSON.stringify({ 'featuregraph.run': run }));
  const traces = await waitFor('jaeger', `the span of run ${run} in the query API`, async () => {
    const response = await fetch(search);
    if (!response.ok) return null;
    const { data } = (await response.json()) as { data: JaegerTrace[] | null };
    return data !== null && data.length > 0 ? data : null;
  });

  assert.deepEqual(traces.map((t) => t.traceID), [traceId]);
  const [span] = traces[0]!.spans;
  assert.ok(span !== undefined);
  assert.equal(span.spanID, spanId);
  assert.equal(span.operationName, 'smoke span');
  assert.deepEqual(span.tags.find((tag) => tag.key === 'featuregraph.run')?.value, run);
  assert.equal(traces[0]!.processes[span.processID]?.serviceName, serviceName);
});
