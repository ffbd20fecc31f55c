/**
 * Custom scalars. DateTime passes Codat's strings through unchanged (they may lack a time zone, and guessing
 * one would be worse than saying so); JSON passes any value through.
 */
import { GraphQLScalarType, Kind, valueFromASTUntyped } from "graphql";
import { badUserInput } from "../errors.js";

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
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});
