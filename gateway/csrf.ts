// One CSRF rule for every route that runs something (GraphQL on both serving paths, POST /training-set,
// any other POST): Apollo Server's. A browser sends a cross-site request without a CORS preflight only
// when its content-type is one of three "simple" types and it carries no custom header; this server
// grants no preflight, so any other request cannot come from a page of another site. The content-type
// is parsed as a MIME type (WHATWG), parameters and all: "text/plain;charset=json" is text/plain.
import type { IncomingHttpHeaders } from 'node:http';

/** Content types a browser sends cross-site without asking (the fetch standard's CORS-safelisted ones). */
export const simpleContentTypes: readonly string[] = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/** Headers a page of another site cannot add without a preflight; a non-empty one makes any request safe. */
export const preflightHeaders: readonly string[] = ['apollo-require-preflight', 'x-apollo-operation-name'];

const httpWhitespace = /^[ \t\n\r]+|[ \t\n\r]+$/g;
const httpToken = /^[-!#$%&'*+.^_`|~A-Za-z0-9]+$/;

/**
 * The essence ("type/subtype", lower case) of a content-type header, or null when it is no MIME type,
 * as the WHATWG MIME Sniffing standard parses it (and Apollo Server, through whatwg-mimetype).
 */
export function mimeEssence(header: string): string | null {
  const input = header.replace(httpWhitespace, '');
  const slash = input.indexOf('/');
  if (slash <= 0) return null;
  const type = input.slice(0, slash);
  const end = input.indexOf(';', slash + 1);
  const subtype = input.slice(slash + 1, end === -1 ? undefined : end).replace(/[ \t\n\r]+$/, '');
  if (!httpToken.test(type) || !httpToken.test(subtype)) return null;
  return `${type}/${subtype}`.toLowerCase();
}

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/**
 * Why a request may not run, or null when it may. It may when its content-type is present and not
 * one of the simple types (an unparsable one is not simple: a browser would preflight it), or when it
 * carries a non-empty preflight header. `accepted` names the content types the route takes, for the message.
 */
export function csrfRefusal(headers: IncomingHttpHeaders, accepted: string): string | null {
  const contentType = headers['content-type'];
  if (contentType !== undefined) {
    const essence = mimeEssence(contentType);
    if (essence === null || !simpleContentTypes.includes(essence)) return null;
  }
  if (preflightHeaders.some((name) => headerValue(headers, name).length > 0)) return null;
  const sent = contentType === undefined ? 'no content-type' : `content-type ${JSON.stringify(contentType)}`;
  return (
    `this request has been blocked as a potential cross-site request forgery (CSRF): it has ${sent}, which a browser sends from any site without asking; ` +
    `send content-type ${accepted}, or a non-empty ${preflightHeaders.join(' or ')} header`
  );
}
