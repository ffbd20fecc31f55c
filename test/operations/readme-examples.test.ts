/**
 * The documentation's GraphQL examples, run exactly as printed against the gateway on the simulator: every ```graphql
 * block holding an operation is extracted from README.md and docs/*.md, so the docs cannot drift from the product.
 * Variables come from the demo data (the docs say what each one is). The README's first query is a curl command:
 * its URL path, headers and body are read from the command and sent as curl would, and the answer must be the one
 * the README prints.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Kind, parse, type OperationDefinitionNode } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DOCS = [
  "README.md",
  ...readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];
const README = readFileSync(path.join(ROOT, "README.md"), "utf8");

/** Every operation in a ```graphql block (blocks of SDL are skipped: they document the schema). */
function documentedOperations(): { name: string; text: string; file: string }[] {
  const operations: { name: string; text: string; file: string }[] = [];
  for (const file of DOCS) {
    for (const match of readFileSync(path.join(ROOT, file), "utf8").matchAll(/```graphql\n([\s\S]*?)```/g)) {
      const text = match[1]!;
      const document = parse(text);
      const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
      if (ops.length === 0) continue;
      expect(ops, `one operation per block (${file})`).toHaveLength(1);
      operations.push({ name: ops[0]!.name?.value ?? "(anonymous)", text, file });
    }
  }
  return operations;
}

/** The README's curl command (the first ```sh block under "Your first query") and the answer printed after it. */
function firstQuery(): { url: URL; headers: Record<string, string>; body: string; answer: unknown } {
  const section = README.slice(README.indexOf("## Your first query"));
  const command = /```sh\n([\s\S]*?)```/.exec(section)![1]!.replace(/\\\n\s*/g, " ");
  const url = new URL(/curl -s (\S+)/.exec(command)![1]!);
  const headers = Object.fromEntries([...command.matchAll(/-H '([^:']+): ([^']*)'/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
  const body = /-d '([^']*)'/.exec(command)![1]!;
  const answer: unknown = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!);
  return { url, headers, body, answer };
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

describe("the README's first query (curl)", () => {
  it("targets npm start's default address, and answers what the README prints", async () => {
    const { url, headers, body, answer } = firstQuery();
    expect(url.href).toBe("http://127.0.0.1:4000/graphql");
    const response = await fetch(new URL(url.pathname, stack.origin), { method: "POST", headers, body });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(answer);
  });
});

describe("documented GraphQL examples", () => {
  const operations = documentedOperations();

  it("are all found (the extraction itself works)", () => {
    expect(operations.map((o) => o.name)).toEqual(
      expect.arrayContaining([
        "FirstPage",
        "ActiveGbpCustomers",
        "TwoCustomers",
        "Connections",
        "CreateCustomer",
        "Poll",
        "UpdateCustomer",
        "CustomerFiles",
      ]),
    );
    expect(new Set(operations.map((o) => o.name)).size, "operation names are unique").toBe(operations.length);
  });

  for (const operation of operations) {
    it(`${operation.name} (${operation.file}) runs as printed, with no errors`, async () => {
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
