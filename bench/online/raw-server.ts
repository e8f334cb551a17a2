// The baseline of the online benchmark: what serving these features costs with no gateway at all.
// A plain node:http server that parses the request body, reads the packed values with ONE ioredis MGET,
// parses each value, picks the fields the query asks for and writes the same JSON the gateway answers.
// It knows each benchmark query's field list from bench/online/shapes.ts instead of parsing GraphQL:
// that is the floor a gateway is measured against. It caches nothing; every request does the reads.
//
//   node --import tsx bench/online/raw-server.ts --redis redis://127.0.0.1:16379 [--prefix fg:] [--port 0]
//
// Prints "raw baseline serving at http://HOST:PORT/graphql" on stderr once it answers.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { entityKey, shapes, viewName, type Shape } from './shapes.js';

const { values: args } = parseArgs({
  options: {
    redis: { type: 'string' },
    prefix: { type: 'string', default: 'fg:' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
  },
  strict: true,
});
if (!args.redis) {
  process.stderr.write('raw-server: --redis URL is required\n');
  process.exit(2);
}

// Same key layout as adapters/online/redis: `<prefix><view>:{<key>}`.
const keyOf = (id: string): string => `${args.prefix}${viewName}:{${id}}`;

// RESP2, as the gateway's store uses: plain arrays for MGET, the cheapest replies to parse.
const redis = new Redis(args.redis, { protocol: 2 });
redis.on('error', (error: Error) => process.stderr.write(`raw-server: redis: ${error.message}\n`));

const byQuery = new Map<string, Shape>(Object.values(shapes).map((shape) => [shape.query, shape]));

interface RequestBody {
  query?: unknown;
  variables?: Record<string, unknown> | null;
}

interface PackedValue {
  values?: Record<string, unknown>;
}

type Row = Record<string, unknown>;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** One entity's answer: its key, then each asked field from the packed value (null when absent). */
function rowOf(id: string, raw: string | null, fields: readonly string[]): Row {
  const row: Row = { [entityKey]: id };
  const packed = raw === null ? null : (JSON.parse(raw) as PackedValue);
  const values = packed?.values;
  for (const field of fields) row[field] = values?.[field] ?? null;
  return row;
}

async function answer(body: RequestBody): Promise<{ status: number; text: string }> {
  const shape = typeof body.query === 'string' ? byQuery.get(body.query) : undefined;
  if (!shape) return { status: 400, text: JSON.stringify({ errors: [{ message: 'the raw baseline answers only the benchmark queries' }] }) };
  const variable = body.variables?.[shape.variable];
  const ids = shape.root === 'item' ? [variable] : variable;
  if (!Array.isArray(ids) || !ids.every((id): id is string => typeof id === 'string')) {
    return { status: 400, text: JSON.stringify({ errors: [{ message: `variable ${shape.variable} is missing or not ${shape.root === 'item' ? 'a string' : 'a list of strings'}` }] }) };
  }
  const raws = await redis.mget(ids.map(keyOf));
  const rows = ids.map((id, i) => rowOf(id, raws[i] ?? null, shape.fields));
  const data = shape.root === 'item' ? { item: rows[0] } : { items: rows };
  return { status: 200, text: JSON.stringify({ data }) };
}

const server = createServer((req, res) => {
  void (async () => {
    try {
      if (req.method !== 'POST' || !(req.url ?? '').startsWith('/graphql')) return send(res, 404, '{"errors":[{"message":"POST /graphql"}]}');
      const body = JSON.parse(await readBody(req)) as RequestBody;
      const { status, text } = await answer(body);
      send(res, status, text);
    } catch (error) {
      send(res, 500, JSON.stringify({ errors: [{ message: error instanceof Error ? error.message : String(error) }] }));
    }
  })();
});
// As long as the gateway's: the load generator keeps its connections for the whole run.
server.keepAliveTimeout = 65_000;

await redis.ping();
server.listen(Number(args.port), args.host, () => {
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`raw baseline serving at http://${args.host}:${port}/graphql\n`);
});

const stop = (): void => {
  server.close();
  server.closeAllConnections();
  redis.disconnect();
  process.exit(0);
};
// `on`, not `once`: tsx's loader ends the process on a signal nobody else listens to.
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
