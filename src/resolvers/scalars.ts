/**
 * Custom scalars. DateTime passes Codat's strings through unchanged (they may lack a time zone, and guessing
 * one would be worse than saying so); JSON passes any value through, an input within MAX_JSON_DEPTH and
 * MAX_JSON_BYTES (security/guards.ts).
 */
import { GraphQLScalarType, Kind, valueFromASTUntyped } from "graphql";
import { badUserInput } from "../errors.js";
import { jsonValueProblem } from "../security/guards.js";
import { OperationLimitError } from "../security/limits.js";

/** A JSON input value within its depth and size bounds (BAD_USER_INPUT otherwise, measured without recursion). */
function boundedJson(value: unknown): unknown {
  const problem = jsonValueProblem(value);
  if (problem !== undefined) throw new OperationLimitError(`A JSON value ${problem}.`);
  return value;
}

export const DateTime = new GraphQLScalarType<string, string>({
  name: "DateTime",
  serialize: (value) => String(value),
  parseValue: (value) => {
    if (typeof value !== "string" || Number.isNaN(Date.parse(value))) throw badUserInput("DateTime must be an ISO 8601 string.");
    return value;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING || Number.isNaN(Date.parse(ast.value))) throw badUserInput("DateTime must be an ISO 8601 string.");
    return ast.value;
  },
});

export const JSONScalar = new GraphQLScalarType<unknown, unknown>({
  name: "JSON",
  serialize: (value) => value,
  parseValue: (value) => boundedJson(value),
  parseLiteral: (ast, variables) => boundedJson(valueFromASTUntyped(ast, variables)),
});
