// The server span of an HTTP request, by the semantic conventions for HTTP servers: named for the
// method and route, continuing the trace of an incoming W3C traceparent, ended when the response is
// (with its status code; a 5xx, or a response cut short, marks it failed).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, trace, type Context, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH, ATTR_URL_SCHEME } from '@opentelemetry/semantic-conventions';
import { spanNames } from '../../schema/telemetry.js';

const knownMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/**
 * Starts the request's span, a child of the caller's context when the request carries one, and ends
 * it with the response. Returns the context its children go under.
 */
export function traceHttpRequest(tracer: Tracer, propagator: TextMapPropagator, req: IncomingMessage, res: ServerResponse, path: string, route: string | null): Context {
  const method = (req.method ?? 'GET').toUpperCase();
  const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
  const known = knownMethods.has(method);
  const span = tracer.startSpan(spanNames.httpRequest(known ? method : 'HTTP', route), { kind: SpanKind.SERVER }, parent);
  // A span not sampled records nothing: no attributes to make, no end to wait for.
  if (!span.isRecording()) return trace.setSpan(parent, span);
  span.setAttributes({ [ATTR_HTTP_REQUEST_METHOD]: known ? method : '_OTHER', [ATTR_URL_PATH]: path, [ATTR_URL_SCHEME]: 'http', ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}) });
  res.once('close', () => {
    const status = res.statusCode;
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (status >= 500) {
      span.setAttribute(ATTR_ERROR_TYPE, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    } else if (!res.writableFinished) {
      // The connection closed before the whole response was written.
      span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  });
  return trace.setSpan(parent, span);
}
