// POST /training-set: the CLI's training-set export over HTTP, answering a Parquet file. The body is
// JSON ({ entity?, features, mode?, rows: [{ <key>, asOf, inputs? }] }, rows as in the GraphQL
// training set) or CSV (content-type text/csv, with ?features=a,b&mode=SERVED&entity=Restaurant).
// Bounded: body bytes, rows, exports at once; every refusal is a coded JSON error.
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadInputError, FeaturegraphError, type ErrorCode } from '../schema/errors.js';
import { parseInstant } from '../schema/instant.js';
import type { FeatureRegistry } from '../schema/registry.js';
import type { HistoryStore, TimeMode } from '../adapters/history/types.js';
import { parseRowInputs } from '../resolvers/request-inputs.js';
import { mimeEssence } from './csrf.js';
import { BodyTooLargeError, readBody, sendGraphqlError } from './http.js';
import { exportTrainingSet, resolveAsked } from './training-set.js';

export interface TrainingSetLimits {
  /** Largest request body (default 64 MB). */
  maxBytes: number;
  /** Most rows in one export (default 1,000,000). */
  maxRows: number;
  /** Exports running at once; more are refused with 429 (default 2). */
  maxConcurrent: number;
}

export const defaultTrainingSetLimits: TrainingSetLimits = { maxBytes: 64 * 1024 * 1024, maxRows: 1_000_000, maxConcurrent: 2 };

export interface TrainingSetEndpointOptions {
  registry: FeatureRegistry;
  history?: HistoryStore;
  now: () => number;
  limits: TrainingSetLimits;
  log: (message: string) => void;
}

const statusOf: Partial<Record<ErrorCode, number>> = { BAD_USER_INPUT: 400, LIMIT_EXCEEDED: 413, AS_OF_UNAVAILABLE: 503, HISTORY_STORE_UNAVAILABLE: 503, UNSUPPORTED_CAPABILITY: 501 };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function modeOf(raw: unknown): TimeMode {
  if (raw === undefined || raw === null) return 'SERVED';
  if (raw === 'SERVED' || raw === 'EVENT_TIME') return raw;
  throw new BadInputError(`mode must be SERVED or EVENT_TIME, got ${JSON.stringify(raw)}`);
}

function featuresOf(raw: unknown): string[] {
  if (typeof raw === 'string') return raw.split(',').map((f) => f.trim()).filter(Boolean);
  if (Array.isArray(raw) && raw.every((f) => typeof f === 'string')) return raw;
  throw new BadInputError(`features must be a list of feature names (or "a,b"), got ${JSON.stringify(raw ?? null)}`);
}

interface Request {
  entity?: string;
  features: string[];
  mode: TimeMode;
  rowsPath: string;
}

/** JSON rows to newline-delimited JSON, a row's inputs flattened to `feature.argument` columns. */
function jsonRequest(registry: FeatureRegistry, body: unknown, dir: string): Request {
  if (!isObject(body)) throw new BadInputError('the body must be a JSON object: { "features": [...], "mode": "SERVED", "rows": [{ <key>, "asOf": ..., "inputs": {...} }] }');
  const features = featuresOf(body.features);
  const entityName = body.entity === undefined || body.entity === null ? undefined : String(body.entity);
  const { entity } = resolveAsked(registry, features, entityName);
  if (!Array.isArray(body.rows) || body.rows.length === 0) throw new BadInputError('rows must be a non-empty list of { <key>, asOf, inputs? }');
  const lines = body.rows.map((row: unknown, i) => {
    const where = `row ${i + 1}`;
    if (!isObject(row)) throw new BadInputError(`${where} must be an object, got ${JSON.stringify(row)}`);
    const key = row[entity.key];
    if (typeof key !== 'string' && typeof key !== 'number') throw new BadInputError(`${where}: ${entity.key} must be a string, got ${JSON.stringify(key ?? null)}`);
    // Each row's asOf by the one rule, here in JavaScript: the file below then holds epoch ms only.
    const flat: Record<string, unknown> = { [entity.key]: String(key), asOf: parseInstant(row.asOf, `${where}: asOf`) };
    for (const [feature, args] of Object.entries(parseRowInputs(entity, row.inputs, where) ?? {})) {
      for (const [argument, value] of Object.entries(args)) flat[`${feature}.${argument}`] = value;
    }
    return JSON.stringify(flat);
  });
  const rowsPath = join(dir, 'rows.ndjson');
  writeFileSync(rowsPath, `${lines.join('\n')}\n`);
  return { entity: entityName, features, mode: modeOf(body.mode), rowsPath };
}

function csvRequest(text: string, url: URL, dir: string): Request {
  const rowsPath = join(dir, 'rows.csv');
  writeFileSync(rowsPath, text);
  return { entity: url.searchParams.get('entity') ?? undefined, features: featuresOf(url.searchParams.get('features') ?? undefined), mode: modeOf(url.searchParams.get('mode') ?? undefined), rowsPath };
}

export function trainingSetEndpoint(options: TrainingSetEndpointOptions): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  let running = 0;
  const { limits } = options;
  return async (req, res, url) => {
    if ((req.method ?? 'GET').toUpperCase() !== 'POST') {
      res.setHeader('allow', 'POST');
      return sendGraphqlError(res, 405, 'BAD_REQUEST', 'POST /training-set with a JSON body { features, mode, rows } or a CSV body (content-type text/csv, ?features=a,b&mode=SERVED)');
    }
    if (!options.history) return sendGraphqlError(res, 503, 'AS_OF_UNAVAILABLE', 'training sets need a history store, and this gateway has none; configure history (embedded or snowflake) with materializers writing to it');
    if (running >= limits.maxConcurrent) return sendGraphqlError(res, 429, 'LIMIT_EXCEEDED', `${running} training sets are being exported; at most ${limits.maxConcurrent} at once: retry later`);
    running++;
    const dir = mkdtempSync(join(tmpdir(), 'featuregraph-training-set-http-'));
    try {
      let text: string;
      try {
        text = await readBody(req, limits.maxBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) return sendGraphqlError(res, 413, 'LIMIT_EXCEEDED', `request body is larger than ${limits.maxBytes} bytes: split the rows, or use featuregraph training-set`);
        throw error;
      }
      // The parsed type decides, parameters aside: "text/plain;csv" is text/plain (and was refused as CSRF).
      const contentType = req.headers['content-type'] ?? '';
      const essence = mimeEssence(contentType);
      let request: Request;
      if (essence === 'application/json') {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch (error) {
          throw new BadInputError(`request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
        }
        request = jsonRequest(options.registry, body, dir);
      } else if (essence === 'text/csv') {
        request = csvRequest(text, url, dir);
      } else {
        throw new BadInputError(`content-type must be application/json or text/csv, got ${JSON.stringify(contentType)}`);
      }
      const out = join(dir, 'training-set.parquet');
      const result = await exportTrainingSet({ registry: options.registry, history: options.history, ...request, out, now: options.now(), maxRows: limits.maxRows });
      res.writeHead(200, {
        'content-type': 'application/vnd.apache.parquet',
        'content-length': statSync(out).size,
        'content-disposition': 'attachment; filename="training-set.parquet"',
        'cache-control': 'no-store',
        'x-featuregraph-rows': String(result.rows),
      });
      const stream = createReadStream(out);
      stream.pipe(res);
      await new Promise<void>((resolve) => {
        res.once('close', resolve);
        stream.once('error', () => {
          res.destroy();
          resolve();
        });
      });
    } catch (error) {
      if (res.headersSent) return void res.destroy();
      if (error instanceof FeaturegraphError) return sendGraphqlError(res, statusOf[error.code] ?? 500, error.code, error.message);
      options.log(`training set failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return sendGraphqlError(res, 500, 'INTERNAL', 'internal error');
    } finally {
      // The file has been sent (or the client went away): nothing of the export stays on disk.
      running--;
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
