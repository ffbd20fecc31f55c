/**
 * Builds the executable Federation 2 subgraph schema from the SDL in schema/ and the resolver map. Pure: no
 * network, no environment; tests and the schema printer import it.
 */
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { printSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLSchema } from "graphql";
import { parse } from "graphql";
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
  // The resolver map's generated type is stricter than @apollo/subgraph's; both describe the same object.
  return buildSubgraphSchema([{ typeDefs: parse(loadTypeDefs()), resolvers: resolvers as never }]);
}

/** The SDL a team would publish to its schema registry. */
export function printSchema(schema: GraphQLSchema = buildSchema()): string {
  return printSubgraphSchema(schema);
}
