// DateTime travels as an ISO-8601 string and is held as epoch milliseconds inside the gateway. What it
// accepts is schema/instant.ts's rule, the one every other path into the product follows: ISO-8601
// text (no offset means UTC), or epoch milliseconds (a number, or decimal text), floored.
import { GraphQLScalarType, Kind, print, type ValueNode } from 'graphql';
import { epochTextPattern, parseInstant, readEpochNumber, instantRefusal } from '../schema/instant.js';

// A BadInputError (not a GraphQLError): graphql-js then adds where (the variable's path, or the
// literal's location), and the gateway's error formatting gives it the BAD_USER_INPUT code.
const parseValue = (value: unknown): number => parseInstant(value, 'DateTime');

function parseLiteral(ast: ValueNode): number {
  if (ast.kind === Kind.STRING) return parseValue(ast.value);
  if (ast.kind === Kind.INT || ast.kind === Kind.FLOAT) {
    // The literal's own digits, floored exactly: as a double, 1767232593635.99999999 would round up.
    if (epochTextPattern.test(ast.value)) return parseValue(ast.value);
    const reading = readEpochNumber(Number(ast.value));
    if (!reading.ok) throw instantRefusal('DateTime', Number(ast.value), reading.reason);
    return reading.ms;
  }
  throw instantRefusal('DateTime', print(ast), `it is ${ast.kind === Kind.ENUM ? 'an enum' : `a ${ast.kind.toLowerCase().replace('value', '')}`} literal`);
}

export const DateTimeScalar = new GraphQLScalarType<number, string>({
  name: 'DateTime',
  serialize: (value) => new Date(value as number).toISOString(),
  parseValue,
  parseLiteral,
});

function literalToJson(ast: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default:
      return undefined;
  }
}

export const JsonScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => literalToJson(ast, variables),
});
