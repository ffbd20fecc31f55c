import { parse, validate, type OperationDefinitionNode } from "graphql";
import { describe, expect, it } from "vitest";
import { buildSchema } from "../../src/schema.js";
import { checkOperation, operationCost, type OperationLimits } from "../../src/security/limits.js";

const schema = buildSchema();
const limits: OperationLimits = { maxDepth: 12, maxAliases: 100, maxDirectives: 20, maxCost: 50_000 };
const C = "8a210b68-6988-11ed-a1eb-0242ac120002";

function check(source: string, variables: Record<string, unknown> = {}) {
  const document = parse(source);
  expect(validate(schema, document)).toEqual([]);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === "OperationDefinition")!;
  return { error: checkOperation(schema, document, operation, variables, limits), cost: operationCost(schema, document, operation, variables) };
}

describe("operation limits", () => {
  it("lets the README's queries through with a modest cost", () => {
    const page = check(`{ customers(companyId: "${C}", first: 20) { totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { customerId customerName status addresses { type city } contacts { name phone { number type } } } } } }`);
    expect(page.error).toBeUndefined();
    // 20 edges × (cursor + node + 3 scalars + addresses 1+5×2 + contacts 1+5×(name + phone 1+5×2)) + the rest
    expect(page.cost).toBeGreaterThan(20 * 60);
    expect(page.cost).toBeLessThan(5_000);
    const aliases = Array.from({ length: 50 }, (_, i) => `c${i}: customer(companyId: "${C}", customerId: "x${i}") { customerId customerName status }`);
    expect(check(`{ ${aliases.join("\n")} }`).error).toBeUndefined();
  });

  it("counts first/last and variables in the cost", () => {
    const source = `query($n: Int) { customers(companyId: "${C}", first: $n) { edges { node { contacts { phone { number } } } } } }`;
    const small = check(source, { n: 10 }).cost;
    const large = check(source, { n: 500 }).cost;
    expect(large).toBeCloseTo(small * 50, -2);
    const bomb = Array.from({ length: 5 }, (_, i) => `a${i}: customers(companyId: "${C}", first: 500) { edges { node { contacts { phone { number } address { city } } addresses { city } } } }`);
    expect(check(`{ ${bomb.join("\n")} }`).error?.extensions["code"]).toBe("BAD_USER_INPUT");
  });

  it("rejects depth, alias and directive bombs", () => {
    let nested = "displayName";
    for (let i = 0; i < 7; i++) nested = `properties { option { ${nested} } }`;
    expect(check(`{ customerCreateUpdateModel(companyId: "${C}", connectionId: "${C}") { ${nested} } }`).error?.message).toMatch(/levels deep/);
    // Introspection has its own, wider bound (graphql-js's own introspection query is 15 deep).
    let ofType = "name";
    for (let i = 0; i < 14; i++) ofType = `ofType { ${ofType} }`;
    expect(check(`{ __type(name: "Customer") { ${ofType} } }`).error).toBeUndefined();
    for (let i = 0; i < 6; i++) ofType = `ofType { ${ofType} }`;
    expect(check(`{ __type(name: "Customer") { ${ofType} } }`).error?.message).toMatch(/introspection is nested/);
    const aliases = Array.from({ length: 101 }, (_, i) => `a${i}: __typename`).join(" ");
    expect(check(`{ ${aliases} }`).error?.message).toMatch(/aliases/);
    const directives = Array.from({ length: 21 }, (_, i) => `d${i}: __typename @include(if: true)`).join(" ");
    expect(check(`{ ${directives} }`).error?.message).toMatch(/directives/);
  });

  it("measures a fragment bomb in linear time and rejects what it expands to", () => {
    const levels = 40;
    const fragments = [`fragment F0 on Customer { a: id b: customerName }`];
    for (let i = 1; i <= levels; i++) fragments.push(`fragment F${i} on Customer { ...F${i - 1} ...F${i - 1} }`);
    const source = `{ customer(companyId: "${C}", customerId: "x") { ...F${levels} } } ${fragments.join("\n")}`;
    const document = parse(source);
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === "OperationDefinition")!;
    const started = performance.now();
    const error = checkOperation(schema, document, operation, {}, limits);
    expect(performance.now() - started).toBeLessThan(200);
    expect(error?.message).toMatch(/aliases/);
  });
});
