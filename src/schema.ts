/**
 * Builds the executable Federation 2 subgraph schema from the SDL in schema/ and the resolver map. Pure: no
 * network, no environment; tests and the schema printer import it.
 */
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { printSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLArgument, GraphQLInputField, GraphQLSchema } from "graphql";
import { isInputObjectType, isInterfaceType, isObjectType, parse, valueFromAST } from "graphql";
import { resolveEntitiesAlone } from "./resolvers/entities.js";
import { resolvers } from "./resolvers/index.js";

const schemaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../schema");

/** The SDL of every schema/*.graphql file, in file-name order. */
export function loadTypeDefs(): string {
  return readdirSync(schemaDir)
    .filter((file) => file.endsWith(".graphql"))
    .sort()
    .map((file) => readFileSync(path.join(schemaDir, file), "utf8"))
    .join("\n");
}

export function buildSchema(): GraphQLSchema {
  const schema = withInternalDefaults(buildSubgraphSchema([{ typeDefs: parse(loadTypeDefs()), resolvers }]));
  // One malformed representation fails alone, not the whole batch.
  resolveEntitiesAlone(schema);
  return schema;
}

/**
 * SDL defaults in the internal values the resolver map gives enums. The schema is built from the SDL first and
 * the enums' internal values (Codat's `Active` behind `ACTIVE`) are attached afterwards, so a default such as
 * `status: CustomerStatus = ACTIVE` would otherwise stay the GraphQL name: it would reach Codat as "ACTIVE" and
 * fail introspection (the name does not serialize as an internal value). Each default is re-read from its AST
 * against the finished types, so enums at any depth (lists, input objects) get Codat's spelling.
 */
function withInternalDefaults(schema: GraphQLSchema): GraphQLSchema {
  const fix = (holder: GraphQLArgument | GraphQLInputField) => {
    const ast = holder.astNode?.defaultValue;
    if (ast) holder.defaultValue = valueFromAST(ast, holder.type);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (isInputObjectType(type)) for (const field of Object.values(type.getFields())) fix(field);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) for (const arg of field.args) fix(arg);
    }
  }
  return schema;
}

/** The SDL a team would publish to its schema registry. */
export function printSchema(schema: GraphQLSchema = buildSchema()): string {
  return printSubgraphSchema(schema);
}
