// Secrets out of every text an adapter puts in a message, a cause or a log line: a driver's error can
// quote a connection string, a signed URL or the settings it was given, and what reaches a log or a
// client must hold none of them. One rule for every adapter (MongoDB, Snowflake, Redis).

const privateKeyBlock = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g;

/**
 * A URL's password, as a URL parser reads the authority: after `//user:` (the user may be empty, as in
 * redis://:secret@host) up to the authority's last @ (a password written without encoding may hold one).
 */
const urlPassword = /(\/\/[^\s/?#@:]*:)([^\s/?#]*)@/;

/** A query-string (or `key=value`) parameter whose name ends like a secret's: token, password, key, signature... */
const secretParameter = /(^|[?&;\s])([^\s=&#?;]*?(?:pass|passwd|password|pwd|secret|token|key|sig|signature|credential|credentials)=)[^\s&#;]*/gi;

/** Replaces URL passwords, secret query parameters, PEM private keys and each given secret by `***` (a key by `[private key]`). */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text
    .replace(privateKeyBlock, '[private key]')
    .replace(new RegExp(urlPassword, 'g'), '$1***@')
    .replace(secretParameter, '$1$2***');
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('***');
  return out;
}

/**
 * A scrubbed copy of a driver error, to keep as a cause: its name and its redacted message, nothing
 * else (a driver's error object can carry HTTP requests, topology or connection settings, and a cause
 * gets logged with everything it holds).
 */
export function scrubbedError(error: unknown, secrets: readonly string[]): Error {
  const e = (error ?? {}) as { name?: unknown; message?: unknown };
  const copy = new Error(redact(typeof e.message === 'string' ? e.message : String(error), secrets));
  copy.name = typeof e.name === 'string' ? e.name : 'Error';
  return copy;
}

/** The password of a connection string, as written and decoded (a driver may quote either); none without one. */
export function urlSecrets(url: string): string[] {
  const written = urlPassword.exec(url)?.[2];
  if (!written) return [];
  try {
    const decoded = decodeURIComponent(written);
    return decoded === written ? [written] : [written, decoded];
  } catch {
    // A malformed escape (p%zz): the driver refuses the URL, quoting it as written.
    return [written];
  }
}
