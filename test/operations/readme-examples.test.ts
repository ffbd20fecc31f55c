/**
 * The README's GraphQL examples, run exactly as printed against the gateway on the simulator: every ```graphql
 * block holding an operation is extracted from README.md, so the README cannot drift from the product. Variables
 * come from the demo data (the README says what each one is).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Kind, parse, type OperationDefinitionNode } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";

const README = readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8");

/** Every operation in a ```graphql block (blocks of SDL are skipped: they document the schema). */
function readmeOperations(): { name: string; text: string }[] {
  const operations: { name: string; text: string }[] = [];
  for (const match of README.matchAll(/```graphql\n([\s\S]*?)```/g)) {
    const text = match[1]!;
    const document = parse(text);
    const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    if (ops.length === 0) continue;
    expect(ops, "one operation per README block").toHaveLength(1);
    operations.push({ name: ops[0]!.name?.value ?? "(anonymous)", text });
  }
  return operations;
}

const stack = useStack({ simulator: { pushDelayMs: 0 } });
const context: Record<string, unknown> = {};
beforeAll(async () => {
  const page = await stack.graphql<{ customers: { nodes: { customerId: string; sourceModifiedDate: string | null }[] } }>(
    `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 2, query: "status=Active") { nodes { customerId sourceModifiedDate } } }`,
  );
  const [a, b] = page.data!.customers.nodes;
  Object.assign(context, { a: a!.customerId, b: b!.customerId, customerId: a!.customerId, sourceModifiedDate: a!.sourceModifiedDate });
});

describe("README examples", () => {
  const operations = readmeOperations();

  it("are all found (the extraction itself works)", () => {
    expect(operations.map((o) => o.name)).toEqual(
      expect.arrayContaining([
        "FirstPage",
        "ActiveGbpCustomers",
        "TwoCustomers",
        "CreateCustomer",
        "Poll",
        "UpdateCustomer",
        "CustomerFiles",
      ]),
    );
  });

  for (const operation of operations) {
    it(`${operation.name} runs as printed, with no errors`, async () => {
      if (operation.name === "Poll") {
        const created = operations.find((o) => o.name === "CreateCustomer")!;
        const result = await stack.graphql<{ createCustomer: { pushOperation: { pushOperationKey: string } } }>(created.text);
        context["pushOperationKey"] = result.data!.createCustomer.pushOperation.pushOperationKey;
      }
      const document = parse(operation.text).definitions[0] as OperationDefinitionNode;
      const variables = Object.fromEntries(
        (document.variableDefinitions ?? []).map((v) => [v.variable.name.value, context[v.variable.name.value]]),
      );
      const result = await stack.graphql(operation.text, variables);
      expect(result.errors, result.text.slice(0, 400)).toBeUndefined();
      expect(
        Object.values(result.data ?? {}).every((value) => value !== null),
        result.text.slice(0, 400),
      ).toBe(true);
    });
  }
});
