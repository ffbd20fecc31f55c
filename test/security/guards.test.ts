/**
 * Issue 27, parts 4 and 7: the cost is the Codat calls and items an operation will cost (defaulted variables,
 * `nodes(ids)` per id, `_entities` per representation, attachments per parent), refused over
 * MAX_CODAT_CALLS_PER_OPERATION or MAX_QUERY_COST before any call, and reported in `extensions.cost` when asked;
 * and the smaller findings, each refused with a code and no Codat call.
 */
import { describe, expect, it } from "vitest";
import { ATTACHMENT_CUSTOMER_ID, DEMO_COMPANY_ID, DEMO_CONNECTION_ID, SECOND_COMPANY_ID } from "codat-simulator";
import { parseConfig } from "../../src/config.js";
import { toGlobalId } from "../../src/ids/global-id.js";
import { MAX_QUERY_LENGTH } from "../../src/loaders/customers.js";
import { MAX_ORDER_BY_LENGTH } from "../../src/resolvers/connections.js";
import { MAX_ECHOED_CHARS, MAX_JSON_DEPTH, MAX_MESSAGE_CHARS } from "../../src/security/guards.js";
import { useStack, type Stack } from "../helpers/stack.js";
import { bearer, codes, expectNoUpstream, graphqlBody, jwtEnv, mint, postRaw, type GraphQLBody, type RawResponse } from "./support.js";

const LIMITS = parseConfig({ CODAT_BASE_URL: "http://127.0.0.1:9" }).limits;
const uuid = (i: number, group = 0) => `00000000-0000-0000-${String(group).padStart(4, "0")}-${String(i).padStart(12, "0")}`;

/** A refusal with `code` (every error), at `status`, and nothing sent to Codat. */
function expectRefused(stack: Stack, raw: RawResponse, code: string, status = 400): GraphQLBody {
  expect(raw.status, raw.text.slice(0, 400)).toBe(status);
  const body = graphqlBody(raw);
  expect(new Set(codes(body)), raw.text.slice(0, 400)).toEqual(new Set([code]));
  expect(body.data ?? null).toBeNull();
  expectNoUpstream(stack);
  return body;
}

describe("cost = predicted Codat calls and items", () => {
  // The predictions are checked against the calls that reach Codat: the read cache is off, so every read is a call.
  const stack = useStack({ env: { CACHE_ENABLED: "false" } });

  it("counts a defaulted variable like a literal: 50 × customers(first: $f = 500) is refused, no call", async () => {
    const fields = Array.from(
      { length: 50 },
      (_, i) => `a${i}: customers(companyId: "${DEMO_COMPANY_ID}", first: $f) { nodes { customerId customerName } }`,
    );
    const raw = await postRaw(stack, { query: `query Bomb($f: Int = 500) { ${fields.join("\n")} }`, extensions: { cost: true } });
    const body = expectRefused(stack, raw, "BAD_USER_INPUT");
    expect(body.errors?.[0]?.message).toMatch(/estimated cost is 75050; the limit is 50000/);
    expect((raw.json as { extensions?: unknown }).extensions).toEqual({
      // The 50 aliases ask for the same page: the page loader makes it one call.
      cost: { estimated: 75_050, limit: LIMITS.maxCost, codatCalls: 1, codatCallsLimit: LIMITS.maxCodatCalls },
    });
  });

  it("counts nodes(ids) per id: 100 attachment ids are 100 calls, over the cap, refused naming the estimate", async () => {
    const ids = Array.from({ length: 100 }, (_, i) =>
      toGlobalId({
        type: "Attachment",
        companyId: DEMO_COMPANY_ID,
        connectionId: DEMO_CONNECTION_ID,
        customerId: uuid(i),
        attachmentId: "a",
      }),
    );
    const raw = await postRaw(stack, { query: `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, variables: { ids } });
    const body = expectRefused(stack, raw, "BAD_USER_INPUT");
    expect(body.errors?.[0]?.message).toBe(
      `The operation would make an estimated 100 Codat calls; the limit is ${LIMITS.maxCodatCalls} per operation. Split it into smaller operations.`,
    );
  });

  it("batches customer ids as the loader does: 100 ids of one company are 3 list calls, and 3 are made", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => toGlobalId({ type: "Customer", companyId: DEMO_COMPANY_ID, customerId: uuid(i) }));
    const raw = await postRaw(stack, {
      query: `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
      variables: { ids },
      extensions: { cost: true },
    });
    expect(raw.status, raw.text.slice(0, 300)).toBe(200);
    expect((raw.json as { extensions: { cost: { codatCalls: number } } }).extensions.cost.codatCalls).toBe(3);
    expect(stack.upstream()).toHaveLength(3);
  });

  it("counts _entities per representation: 300 customers of 300 companies are refused, one company's are 7 calls", async () => {
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { customerName } } }`;
    const spread = Array.from({ length: 300 }, (_, i) => ({ __typename: "Customer", companyId: uuid(i, 1), customerId: uuid(i) }));
    // As the issue sent them: defaulted in the document, no variables.
    const defaulted = `query($r: [_Any!]! = ${JSON.stringify(spread).replace(/"(\w+)":/g, "$1:")}) { _entities(representations: $r) { ... on Customer { customerName } } }`;
    const refused = await postRaw(stack, { query: defaulted });
    expect(expectRefused(stack, refused, "BAD_USER_INPUT").errors?.[0]?.message).toMatch(/estimated 300 Codat calls/);
    const same = spread.map((r) => ({ ...r, companyId: DEMO_COMPANY_ID }));
    const raw = await postRaw(stack, { query, variables: { r: same }, extensions: { cost: true } });
    expect(raw.status, raw.text.slice(0, 300)).toBe(200);
    expect((raw.json as { extensions: { cost: { codatCalls: number } } }).extensions.cost.codatCalls).toBe(7);
    expect(stack.upstream()).toHaveLength(7);
  });

  it("counts attachments per parent customer, and predicts what is made", async () => {
    const raw = await postRaw(stack, {
      query: `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 5) { nodes { customerId attachments(connectionId: "${DEMO_CONNECTION_ID}") { name } } } }`,
      extensions: { cost: true },
    });
    expect(raw.status, raw.text.slice(0, 300)).toBe(200);
    expect((raw.json as { extensions: { cost: { codatCalls: number } } }).extensions.cost.codatCalls).toBe(6);
    expect(stack.upstream()).toHaveLength(6);
  });

  it("reports no cost unless asked", async () => {
    const raw = await postRaw(stack, { query: `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }` });
    expect(raw.status).toBe(200);
    expect((raw.json as { extensions?: unknown }).extensions).toBeUndefined();
  });
});

describe("the smaller findings, each refused with a code and no Codat call", () => {
  const stack = useStack();

  it("checks JSON depth without recursion: deeply nested supplementalData is BAD_USER_INPUT, not a stack overflow", async () => {
    // Written as text: JSON.stringify itself would overflow the stack on it.
    const levels = 100_000;
    const deep = `${'{"a":'.repeat(levels)}"x"${"}".repeat(levels)}`;
    const mutation = `mutation($s: JSON) { createCustomer(input: { companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}",
      customer: { customerName: "Deep", supplementalData: $s } }) { pushOperation { status } } }`;
    const raw = await postRaw(stack, `{"query":${JSON.stringify(mutation)},"variables":{"s":{"content":${deep}}}}`);
    const body = expectRefused(stack, raw, "BAD_USER_INPUT");
    expect(body.errors?.[0]?.message).toContain(`nested at most ${MAX_JSON_DEPTH} levels deep`);
    expect(raw.text).not.toMatch(/stacktrace|RangeError/);
    // A literal too deep for the bound is refused in validation with the same code.
    let literal = "1";
    for (let i = 0; i < MAX_JSON_DEPTH + 1; i++) literal = `{ a: ${literal} }`;
    const inline = mutation.replace("mutation($s: JSON)", "mutation").replace("$s", literal);
    expectRefused(stack, await postRaw(stack, { query: inline }), "BAD_USER_INPUT");
  });

  it("resolves each _entities representation alone: a malformed one fails at its index, the others resolve", async () => {
    const first = (
      await stack.graphql<{ customers: { nodes: { customerId: string }[] } }>(
        `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 2) { nodes { customerId } } }`,
      )
    ).data!.customers.nodes;
    // The page filled these customers' entries in the read cache; the batching under test is what a miss does
    // (a connection event drops every entry of the company).
    await stack.gateway.cache?.dataChanged({ kind: "connection", companyId: DEMO_COMPANY_ID, dataTypes: ["*"] });
    stack.resetUpstream();
    const representations = [
      { __typename: "Customer", companyId: DEMO_COMPANY_ID, customerId: first[0]!.customerId },
      { __typename: "Customer", companyId: DEMO_COMPANY_ID },
      "not an object",
      { __typename: "Nope", id: "x" },
      { __typename: "Customer", id: "not-a-global-id" },
      { __typename: "Customer", companyId: DEMO_COMPANY_ID, customerId: first[1]!.customerId },
    ];
    const result = await stack.graphql<{ _entities: ({ customerId: string } | null)[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { customerId } } }`,
      { r: representations },
    );
    expect(result.data?._entities).toEqual([
      { customerId: first[0]!.customerId },
      null,
      null,
      null,
      null,
      { customerId: first[1]!.customerId },
    ]);
    expect(result.errors?.map((e) => [e.path, e.extensions?.["code"]])).toEqual([
      [["_entities", 1], "BAD_USER_INPUT"],
      [["_entities", 2], "BAD_USER_INPUT"],
      [["_entities", 3], "BAD_USER_INPUT"],
      [["_entities", 4], "BAD_USER_INPUT"],
    ]);
    // The two good ones in one batched call.
    expect(stack.upstream()).toHaveLength(1);
  });

  it("never echoes a long bad variable value", async () => {
    const huge = "x".repeat(900_000);
    const raw = await postRaw(stack, {
      query: `query($n: Int) { customers(companyId: "${DEMO_COMPANY_ID}", first: $n) { totalCount } }`,
      variables: { n: huge },
    });
    const body = expectRefused(stack, raw, "BAD_USER_INPUT");
    expect(body.errors?.[0]?.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS + 1);
    expect(body.errors?.[0]?.message).toContain(`"${"x".repeat(MAX_ECHOED_CHARS)}…" (900000 characters)`);
    expect(raw.text.length).toBeLessThan(2 * MAX_MESSAGE_CHARS);
  });

  it("length-checks query and orderBy before Codat", async () => {
    const long = (n: number) => `customerName=${"a".repeat(n)}`;
    for (const [arg, value] of [
      ["query", long(MAX_QUERY_LENGTH)],
      ["orderBy", "a".repeat(MAX_ORDER_BY_LENGTH + 1)],
    ] as const) {
      const result = await stack.graphql(
        `query($v: String) { customers(companyId: "${DEMO_COMPANY_ID}", first: 1, ${arg}: $v) { totalCount } }`,
        {
          v: value,
        },
      );
      expect(result.errors?.map((e) => [e.extensions?.["code"], e.extensions?.["argumentName"]])).toEqual([["BAD_USER_INPUT", arg]]);
      expectNoUpstream(stack);
    }
  });

  it("serves _service { sdl } when authentication is off on loopback", async () => {
    const result = await stack.graphql<{ _service: { sdl: string } }>(`{ _service { sdl } }`);
    expect(result.data?._service.sdl).toContain("type Customer");
  });
});

describe("in JWT mode", () => {
  const stack = useStack({ env: jwtEnv() });

  it("refuses _service { sdl } to a caller's token (FORBIDDEN, through a fragment too)", async () => {
    const token = await mint({ sub: "alice", codat_company_ids: [DEMO_COMPANY_ID] });
    for (const query of ["{ _service { sdl } }", "query { ...Q } fragment Q on Query { _service { sdl } }"]) {
      const raw = await postRaw(stack, { query }, bearer(token));
      expect(expectRefused(stack, raw, "FORBIDDEN", 403).errors?.[0]?.message).toMatch(/ROUTER_SECRET/);
    }
  });

  it("refuses a token whose sub is not a non-empty string (401, no call)", async () => {
    for (const sub of [{}, true, 123, ["alice"], "", "  "]) {
      const token = await mint({ sub: sub as string, codat_company_ids: [DEMO_COMPANY_ID] });
      const raw = await postRaw(stack, { query: `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }` }, bearer(token));
      expect(raw.status, `sub ${JSON.stringify(sub)}: ${raw.text.slice(0, 200)}`).toBe(401);
      expect(codes(graphqlBody(raw))).toEqual(["UNAUTHENTICATED"]);
    }
    expectNoUpstream(stack);
  });
});

describe("with ROUTER_SECRET", () => {
  const SECRET = "router-secret-guards-0123456789";
  const stack = useStack({ env: jwtEnv({ ROUTER_SECRET: SECRET }) });

  it("serves _service { sdl } to the router", async () => {
    const token = await mint({ sub: "router", codat_company_ids: "*" });
    const raw = await postRaw(stack, { query: "{ _service { sdl } }" }, { ...bearer(token), "x-router-secret": SECRET });
    expect(raw.status, raw.text.slice(0, 200)).toBe(200);
    expect((graphqlBody(raw).data as { _service: { sdl: string } })._service.sdl).toContain("type Customer");
  });
});

describe("in production", () => {
  const stack = useStack({ env: { NODE_ENV: "production", AUTH_MODE: "none" } });

  it("drops 'Did you mean' from variable errors too", async () => {
    const raw = await postRaw(stack, {
      query: `mutation($c: CustomerInput!) { createCustomer(input: { companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}", customer: $c }) { pushOperation { status } } }`,
      variables: { c: { customerNam: "x", status: "ACTIV" } },
    });
    const body = expectRefused(stack, raw, "BAD_USER_INPUT");
    expect(body.errors?.map((e) => e.message).join("\n")).toMatch(/customerNam(?!e)[\s\S]*ACTIV(?!E)/);
    expect(raw.text).not.toMatch(/Did you mean|customerName/);
    // A field typo in validation, too.
    const typo = await postRaw(stack, {
      query: `{ customer(companyId: "${SECOND_COMPANY_ID}", customerId: "${ATTACHMENT_CUSTOMER_ID}") { customerNam } }`,
    });
    expect(typo.status).toBe(400);
    expect(typo.text).not.toMatch(/Did you mean/);
  });
});
