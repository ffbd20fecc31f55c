/**
 * Introspection under the default operation limits: Sandbox's schema explorer, graphql-codegen pointed at the
 * URL, GraphiQL and IDE plugins all send one deep query (graphql-js's `getIntrospectionQuery()` is 15 levels).
 */
import { generate } from "@graphql-codegen/cli";
import { buildClientSchema, getIntrospectionQuery, type IntrospectionQuery } from "graphql";
import { describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";

const stack = useStack();

/** The options Apollo Sandbox/Explorer and GraphiQL turn on (descriptions, deprecated input values, specifiedByURL…). */
const SANDBOX_INTROSPECTION = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
});

describe("introspection under the default limits", () => {
  for (const [name, query] of [
    ["graphql-js getIntrospectionQuery()", getIntrospectionQuery()],
    ["the Sandbox/GraphiQL variant", SANDBOX_INTROSPECTION],
  ] as const) {
    it(`answers ${name} with a schema a client can build`, async () => {
      const result = await stack.graphql<IntrospectionQuery>(query);
      expect(result.errors, result.text.slice(0, 300)).toBeUndefined();
      const schema = buildClientSchema(result.data!);
      expect(schema.getType("Customer")).toBeDefined();
    });
  }

  it("graphql-codegen loads the schema from the running URL", async () => {
    const files = await generate(
      { schema: stack.url, generates: { "schema.graphql": { plugins: ["schema-ast"] } }, silent: true, errorsOnly: true },
      false,
    );
    expect(files).toHaveLength(1);
    expect(files[0]!.content).toContain("type Customer");
  });

  it("is no bypass: the rest of an operation that also selects __schema is measured as usual", async () => {
    let nested = "displayName";
    for (let i = 0; i < 14; i++) nested = `properties { option { ${nested} } }`;
    stack.resetUpstream();
    const result = await stack.graphql(
      `{ __schema { queryType { name } } customerCreateUpdateModel(companyId: "${DEMO_COMPANY_ID}", connectionId: "2e9d2c44-f675-40ba-8049-353bfcb5e171") { ${nested} } }`,
    );
    expect(result.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(result.errors?.[0]?.message).toMatch(/^Query depth limit of \d+ exceeded, found \d+\.$/);
    expect(stack.upstream()).toHaveLength(0);
  });

  it("counts aliases on introspection fields, and measures __type's depth like any field's", async () => {
    const many = Array.from({ length: 101 }, (_, i) => `s${i}: __schema { queryType { name } }`).join(" ");
    expect((await stack.graphql(`{ ${many} }`)).errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    let type = "name";
    for (let i = 0; i < 20; i++) type = `ofType { ${type} }`;
    const deep = await stack.graphql(`{ __type(name: "Customer") { fields { type { ${type} } } } }`);
    expect(deep.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(deep.errors?.[0]?.message).toMatch(/depth limit/);
  });
});
