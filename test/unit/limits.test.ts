import { Kind, parse, specifiedRules, validate, type GraphQLError, type OperationDefinitionNode } from "graphql";
import { describe, expect, it } from "vitest";
import { buildSchema } from "../../src/schema.js";
import {
  checkOperationCost,
  OperationLimitError,
  operationCost,
  operationShapeRules,
  type OperationLimits,
} from "../../src/security/limits.js";

const schema = buildSchema();
const limits: OperationLimits = { maxDepth: 12, maxAliases: 100, maxDirectives: 20, maxCost: 50_000 };
const C = "8a210b68-6988-11ed-a1eb-0242ac120002";

/** Validation as Apollo runs it (the specified rules, then the shape rules), then the per-request cost check. */
function check(source: string, variables: Record<string, unknown> = {}): { error: GraphQLError | undefined; cost: number } {
  const document = parse(source);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const cost = operationCost(schema, document, operation, variables);
  const [invalid] = validate(schema, document, [...specifiedRules, ...operationShapeRules(limits)]);
  return { error: invalid ?? checkOperationCost(schema, document, operation, variables, limits), cost };
}

describe("operation limits", () => {
  it("lets the README's queries through with a modest cost", () => {
    const page = check(`{ customers(companyId: "${C}", first: 20) { totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { customerId customerName status addresses { type city } contacts { name phone { number type } } } } } }`);
    expect(page.error).toBeUndefined();
    // 20 edges × (cursor + node + 3 scalars + addresses 1+5×2 + contacts 1+5×(name + phone 1+5×2)) + the rest
    expect(page.cost).toBeGreaterThan(20 * 60);
    expect(page.cost).toBeLessThan(5_000);
    const aliases = Array.from(
      { length: 50 },
      (_, i) => `c${i}: customer(companyId: "${C}", customerId: "x${i}") { customerId customerName status }`,
    );
    expect(check(`{ ${aliases.join("\n")} }`).error).toBeUndefined();
  });

  it("counts first/last and variables in the cost", () => {
    const source = `query($n: Int) { customers(companyId: "${C}", first: $n) { edges { node { contacts { phone { number } } } } } }`;
    const small = check(source, { n: 10 }).cost;
    const large = check(source, { n: 500 }).cost;
    expect(large).toBeCloseTo(small * 50, -2);
    const bomb = Array.from(
      { length: 5 },
      (_, i) =>
        `a${i}: customers(companyId: "${C}", first: 500) { edges { node { contacts { phone { number } address { city } } addresses { city } } } }`,
    );
    expect(check(`{ ${bomb.join("\n")} }`).error?.extensions["code"]).toBe("BAD_USER_INPUT");
  });

  it("rejects depth, alias and directive bombs", () => {
    let nested = "displayName";
    for (let i = 0; i < 7; i++) nested = `properties { option { ${nested} } }`;
    const deep = check(`{ customerCreateUpdateModel(companyId: "${C}", connectionId: "${C}") { ${nested} } }`).error;
    expect(deep).toBeInstanceOf(OperationLimitError);
    expect(deep?.message).toBe("Query depth limit of 12 exceeded, found 16.");
    // __schema is exempt from depth (graphql-js's own introspection query is 15 deep); __type is measured.
    let ofType = "name";
    for (let i = 0; i < 14; i++) ofType = `ofType { ${ofType} }`;
    expect(check(`{ __schema { types { ${ofType} } } }`).error).toBeUndefined();
    expect(check(`{ __type(name: "Customer") { ${ofType} } }`).error?.message).toMatch(/depth limit/);
    const aliases = Array.from({ length: 101 }, (_, i) => `a${i}: __typename`).join(" ");
    expect(check(`{ ${aliases} }`).error?.message).toMatch(/Aliases limit/);
    const directives = Array.from({ length: 21 }, (_, i) => `d${i}: __typename @include(if: true)`).join(" ");
    expect(check(`{ ${directives} }`).error?.message).toMatch(/Directives limit/);
  });

  // 2^40 expansions: a walk that expanded fragments would never finish (the test would time out), so this passing
  // shows every check measures each fragment once.
  it("measures a fragment bomb in linear time and rejects what it expands to", () => {
    const levels = 40;
    const fragments = [`fragment F0 on Customer { a: id b: customerName }`];
    for (let i = 1; i <= levels; i++) fragments.push(`fragment F${i} on Customer { ...F${i - 1} ...F${i - 1} }`);
    const source = `{ customer(companyId: "${C}", customerId: "x") { ...F${levels} } } ${fragments.join("\n")}`;
    const { error, cost } = check(source);
    expect(error?.message).toMatch(/Aliases limit of 100 exceeded/);
    expect(cost).toBeGreaterThan(2 ** levels);
  });
});
