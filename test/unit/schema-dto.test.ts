/**
 * Catches a `Customer` field added to the SDL that Codat's `Customer` schema does not have (a typo, or a field
 * that needs a resolver first): `npm run typecheck` cannot, since the default resolver reads any property name.
 * Each SDL field must be a property of the vendored OpenAPI `Customer` or be listed below with what serves it.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { GraphQLObjectType } from "graphql";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildSchema } from "../../src/schema.js";

type Schema = { properties?: Record<string, Schema>; allOf?: Schema[]; $ref?: string };

const spec = parse(readFileSync(path.resolve(import.meta.dirname, "../../openapi/codat/accounting-customers.yaml"), "utf8")) as {
  components: { schemas: Record<string, Schema> };
};

function resolve(schema: Schema): Schema {
  if (!schema.$ref) return schema;
  let node: unknown = spec;
  for (const part of schema.$ref.slice(2).split("/")) node = (node as Record<string, unknown>)[part];
  return resolve(node as Schema);
}

/** Every property name of an object schema, through `allOf` and `$ref`s. */
function propertiesOf(schema: Schema): Set<string> {
  const resolved = resolve(schema);
  const names = new Set(Object.keys(resolved.properties ?? {}));
  for (const part of resolved.allOf ?? []) for (const name of propertiesOf(part)) names.add(name);
  return names;
}

/** SDL fields served by a resolver rather than by the DTO property of the same name. */
const SERVED_BY_RESOLVERS: Record<string, string> = {
  customerId: "Codat's id (the DTO's `id`; the SDL's `id` is the global Node id built from it)",
  companyId: "the company the customer was read from (src/resolvers/Customer.ts)",
  attachments: "a loader call per connection (src/resolvers/Customer.ts)",
  isDeleted: "Codat's metadata.isDeleted",
  freshness: "what the read cache says about the record it served (src/cache/freshness.ts)",
  pendingSync: "a customer written through the gateway and not yet synced by Codat (src/cache/read-cache.ts)",
};

describe("schema ↔ Codat DTO", () => {
  it("every Customer field in the SDL has a Codat Customer property or a resolver listed here", () => {
    const dto = propertiesOf(spec.components.schemas["Customer"]!);
    expect(dto.has("customerName")).toBe(true); // the walk itself works
    const customer = buildSchema().getType("Customer") as GraphQLObjectType;
    const unmatched = Object.keys(customer.getFields()).filter((field) => !dto.has(field) && !(field in SERVED_BY_RESOLVERS));
    expect(unmatched, "add the field to Codat's DTO, or a resolver plus an entry in SERVED_BY_RESOLVERS").toEqual([]);
  });

  it("the allow-list names no field Codat's DTO already has", () => {
    const dto = propertiesOf(spec.components.schemas["Customer"]!);
    expect(Object.keys(SERVED_BY_RESOLVERS).filter((field) => dto.has(field))).toEqual([]);
  });
});
