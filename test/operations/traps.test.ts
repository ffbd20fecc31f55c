/**
 * The small traps a new user fell into (issue 29 part 5), each fixed: a global `id` where a Codat id is expected
 * is a BAD_USER_INPUT with a hint (it used to read as a silent null); the create/update model's status choices
 * say which enum name to send; the docs' graphql-ws snippet runs as printed on this Node. (Download CORS and the
 * tracing headers: test/http/download-cors.test.ts.)
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ATTACHMENT_CUSTOMER_ID, DEMO_COMPANY_ID, DEMO_CONNECTION_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";
import { toGlobalId } from "../../src/ids/global-id.js";

const stack = useStack({ simulator: { pushDelayMs: 0 } });

async function someCustomerId(): Promise<string> {
  const page = await stack.graphql<{ customers: { nodes: { customerId: string }[] } }>(
    `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { nodes { customerId } } }`,
  );
  stack.resetUpstream();
  return page.data!.customers.nodes[0]!.customerId;
}

describe("a global id passed where a Codat id is expected", () => {
  it("is BAD_USER_INPUT naming the argument and the field to pass instead, with no Codat call", async () => {
    const customerId = await someCustomerId();
    const customerGlobalId = toGlobalId({ type: "Customer", companyId: DEMO_COMPANY_ID, customerId });
    const result = await stack.graphql(`query($c: ID!, $id: ID!) { customer(companyId: $c, customerId: $id) { customerName } }`, {
      c: DEMO_COMPANY_ID,
      id: customerGlobalId,
    });
    expect(result.data).toEqual({ customer: null });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argumentName: "customerId" });
    expect(result.errors?.[0]?.message).toMatch(/global id.*Customer.*`customerId`.*node\(id:\)/);
    expect(stack.upstream()).toHaveLength(0);
  });

  it("is refused in every Codat id argument: companyId, connectionId, attachmentId, pushOperationKey, write inputs", async () => {
    const customerId = await someCustomerId();
    const companyGlobalId = toGlobalId({ type: "DataConnection", companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID });
    const attachmentGlobalId = toGlobalId({
      type: "Attachment",
      companyId: DEMO_COMPANY_ID,
      connectionId: DEMO_CONNECTION_ID,
      customerId: ATTACHMENT_CUSTOMER_ID,
      attachmentId: "a",
    });
    const cases: [string, Record<string, unknown>, string][] = [
      [`query($v: ID!) { customers(companyId: $v, first: 1) { totalCount } }`, { v: companyGlobalId }, "companyId"],
      [
        `query($v: ID!) { customerAttachment(companyId: "${DEMO_COMPANY_ID}", connectionId: $v, customerId: "x", attachmentId: "y") { name } }`,
        { v: companyGlobalId },
        "connectionId",
      ],
      [
        `query($v: ID!) { customerAttachment(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}", customerId: "${ATTACHMENT_CUSTOMER_ID}", attachmentId: $v) { name } }`,
        { v: attachmentGlobalId },
        "attachmentId",
      ],
      [
        `query($v: ID!) { pushOperation(companyId: "${DEMO_COMPANY_ID}", pushOperationKey: $v) { status } }`,
        { v: toGlobalId({ type: "PushOperation", companyId: DEMO_COMPANY_ID, pushOperationKey: "k" }) },
        "pushOperationKey",
      ],
      [
        `mutation($v: ID!) { updateCustomer(input: { companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}", customerId: $v, customer: { customerName: "x" } }) { pushOperation { status } } }`,
        { v: toGlobalId({ type: "Customer", companyId: DEMO_COMPANY_ID, customerId }) },
        "input.customerId",
      ],
      [
        `mutation($v: ID!) { createCustomer(input: { companyId: "${DEMO_COMPANY_ID}", connectionId: $v, customer: { customerName: "x" } }) { pushOperation { status } } }`,
        { v: companyGlobalId },
        "input.connectionId",
      ],
    ];
    for (const [query, variables, argumentName] of cases) {
      const result = await stack.graphql(query, variables);
      expect(result.errors?.[0]?.extensions, argumentName).toMatchObject({ code: "BAD_USER_INPUT", argumentName });
      expect(result.errors?.[0]?.message, argumentName).toContain("global id");
    }
    expect(stack.upstream()).toHaveLength(0);
  });

  it("never mistakes a Codat id for one: ids that merely look alike reach Codat as before", async () => {
    for (const id of ["WyJ", "WyJub3QtYS1nbG9iYWwtaWQiXQ", "WyJDdXN0b21lciJd"]) {
      const result = await stack.graphql(
        `query($id: ID!) { customer(companyId: "${DEMO_COMPANY_ID}", customerId: $id) { customerName } }`,
        { id },
      );
      expect(result.errors, id).toBeUndefined();
      expect(result.data, id).toEqual({ customer: null });
    }
    expect(stack.upstream().length).toBeGreaterThan(0);
  });
});

describe("the create/update model's status choices", () => {
  it("give the enum name to send (InActive → ARCHIVED), which reaches Codat as Archived", async () => {
    const model = await stack.graphql<{
      customerCreateUpdateModel: { properties: { name: string; option: { options: { value: string; inputValue: string | null }[] } }[] };
    }>(
      `{ customerCreateUpdateModel(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}") { properties { name option { options { value inputValue } } } } }`,
    );
    const choices = model.data!.customerCreateUpdateModel.properties.find((p) => p.name === "status")!.option.options;
    const inactive = choices.find((c) => c.value === "InActive")!;
    expect(inactive.inputValue).toBe("ARCHIVED");
    stack.resetUpstream();
    const created = await stack.graphql(
      `mutation($status: CustomerStatus!) { createCustomer(input: { companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}", customer: { customerName: "From the model", status: $status } }) { pushOperation { status } } }`,
      { status: inactive.inputValue },
    );
    expect(created.errors).toBeUndefined();
    const post = stack.upstream().find((r) => r.method === "POST")!;
    expect((JSON.parse(post.body!) as { status: string }).status).toBe("Archived");
  });
});

describe("the docs' graphql-ws snippet (docs/writes.md)", () => {
  /** The ```ts block under "## Push status in real time". */
  function snippet(): string {
    const text = readFileSync(path.resolve(import.meta.dirname, "../../docs/writes.md"), "utf8");
    const section = text.slice(text.indexOf("## Push status in real time"));
    return /```ts\n([\s\S]*?)```/.exec(section)![1]!;
  }

  it("imports ws and passes it as webSocketImpl (Node 20 has no global WebSocket), and defines every name it uses", () => {
    const code = snippet();
    expect(code).toContain('import WebSocket from "ws";');
    expect(code).toContain("webSocketImpl: WebSocket");
    for (const name of ["token", "companyId", "pushOperationKey"]) expect(code).toMatch(new RegExp(`const ${name} = `));
    expect(code).toContain("await client.dispose()");
  });

  it("runs as printed (only the URL pointed at this gateway) and prints the push's final status", async () => {
    const created = await stack.graphql<{ createCustomer: { pushOperation: { pushOperationKey: string } } }>(
      `mutation { createCustomer(input: { companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}", customer: { customerName: "Watched" } }) { pushOperation { pushOperationKey } } }`,
    );
    const key = created.data!.createCustomer.pushOperation.pushOperationKey;

    // The imports become lookups in the real modules; the rest is the block's text.
    const modules: Record<string, Record<string, unknown>> = { "graphql-ws": await import("graphql-ws"), ws: await import("ws") };
    const body = snippet()
      .replace(
        /^import \{ (\w+) \} from "([^"]+)";$/gm,
        (_m, name: string, from: string) => `const { ${name} } = modules[${JSON.stringify(from)}];`,
      )
      .replace(
        /^import (\w+) from "([^"]+)";$/gm,
        (_m, name: string, from: string) => `const ${name} = modules[${JSON.stringify(from)}].default;`,
      )
      .replace("ws://127.0.0.1:4000/graphql", stack.url.replace(/^http/, "ws"));
    expect(body).not.toMatch(/^import /m);
    const logged: unknown[] = [];
    const fakeProcess = { env: {}, argv: ["node", "watch.mjs", key] };
    const fakeConsole = { log: (value: unknown) => logged.push(value) };
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
      ...args: string[]
    ) => (...values: unknown[]) => Promise<void>;
    await new AsyncFunction("modules", "process", "console", body)(modules, fakeProcess, fakeConsole);
    expect(logged.at(-1)).toBe("SUCCESS");
    expect(logged.every((value) => typeof value === "string")).toBe(true);
  });
});
