// Identifiers in the embedded source's SQL: names come from feature repos (table, key, event-time and
// feature columns), so each is checked against a plain-identifier pattern and then double-quoted. No
// value ever goes into SQL text: since, until and inserted rows are bound as parameters or appended.

const plainIdentifier = /^[A-Za-z_][A-Za-z0-9_$]*$/;

export class EmbeddedSqlError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbeddedSqlError';
  }
}

/** `name` double-quoted, after checking it is a plain identifier (letters, digits, _ and $). */
export function quoteIdentifier(name: string, what = 'identifier'): string {
  if (!plainIdentifier.test(name) || name.length > 255) {
    throw new EmbeddedSqlError(`${what} ${JSON.stringify(name)} is not a plain SQL identifier (letters, digits, _ and $, not starting with a digit)`);
  }
  return `"${name}"`;
}

/** A table name, optionally qualified (`schema.table` or `catalog.schema.table`), each part quoted. */
export function quoteTableName(name: string): string {
  const parts = name.split('.');
  if (parts.length > 3) throw new EmbeddedSqlError(`table ${JSON.stringify(name)} has more than catalog.schema.table parts`);
  return parts.map((part) => quoteIdentifier(part, 'table')).join('.');
}

/** The parts of a possibly qualified table name, for APIs that take them apart (the appender). */
export function splitTableName(name: string): { catalog: string | null; schema: string | null; table: string } {
  quoteTableName(name);
  const parts = name.split('.');
  const table = parts.pop() as string;
  const schema = parts.pop() ?? null;
  const catalog = parts.pop() ?? null;
  return { catalog, schema, table };
}
