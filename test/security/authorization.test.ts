/**
 * Authorization at every entry point: a caller allowed only the demo company reaching the second company through
 * every query, mutation, federation reference and the download route. Forbidden keys fail alone (FORBIDDEN at
 * their path) and never reach Codat; allowed keys in the same request still resolve.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  ATTACHMENT_CUSTOMER_ID,
  AWKWARD_CUSTOMER_ID,
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  SECOND_COMPANY_ID,
  SECOND_CONNECTION_ID,
} from "codat-simulator";
import { useStack } from "../helpers/stack.js";
import { toGlobalId } from "../../src/ids/global-id.js";
import {
  bearer,
  codes,
  expectForbiddenAt,
  expectNoUpstream,
  graphqlBody,
  jwtEnv,
  mint,
  postRaw,
  request,
  type GraphQLBody,
} from "./support.js";

const stack = useStack({ env: jwtEnv({ SIGNING_SECRET: "authorization-suite-signing-secret-0123456789" }) });
let alice: Record<string, string>;
let bob: Record<string, string>;
let carol: Record<string, string>;

const secondCustomers = () =>
  stack.simulator.store
    .company(SECOND_COMPANY_ID)!
    .customers.all()
    .map((c) => c.id);
const demoCustomers = () =>
  stack.simulator.store
    .company(DEMO_COMPANY_ID)!
    .customers.all()
    .map((c) => c.id)
    .filter((id) => id !== AWKWARD_CUSTOMER_ID);
const secondPushKeys = () =>
  stack.simulator.store
    .company(SECOND_COMPANY_ID)!
    .pushOperations.all()
    .map((p) => p.pushOperationKey);
const demoPushKeys = () =>
  stack.simulator.store
    .company(DEMO_COMPANY_ID)!
    .pushOperations.all()
    .map((p) => p.pushOperationKey);
const A_UUID = "0b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3";

/** Upstream calls that touched the second company (whatever the case of the id). */
const secondCompanyCalls = () => stack.upstream().filter((r) => r.path.toLowerCase().includes(SECOND_COMPANY_ID));

async function run(query: string, variables: Record<string, unknown> | undefined, headers: Record<string, string>): Promise<GraphQLBody> {
  const raw = await postRaw(stack, { query, variables }, headers);
  expect(raw.status, raw.text.slice(0, 300)).toBe(200);
  return graphqlBody(raw);
}

beforeAll(async () => {
  alice = bearer(await mint({ sub: "alice", codat_company_ids: [DEMO_COMPANY_ID] }));
  bob = bearer(await mint({ sub: "bob", codat_company_ids: [DEMO_COMPANY_ID] }));
  carol = bearer(await mint({ sub: "carol", codat_company_ids: ["*"] }));
});

describe("every query entry point refuses a company outside the claim, before any Codat call", () => {
  const entryPoints: { name: string; field: string; query: () => string }[] = [
    {
      name: "customers",
      field: "customers",
      query: () => `{ customers(companyId: "${SECOND_COMPANY_ID}", first: 5) { totalCount nodes { customerId } } }`,
    },
    {
      name: "customers (last)",
      field: "customers",
      query: () => `{ customers(companyId: "${SECOND_COMPANY_ID}", last: 5) { nodes { customerId } } }`,
    },
    {
      name: "customer",
      field: "customer",
      query: () => `{ customer(companyId: "${SECOND_COMPANY_ID}", customerId: "${secondCustomers()[0]}") { id customerName } }`,
    },
    {
      name: "pushOperation",
      field: "pushOperation",
      query: () => `{ pushOperation(companyId: "${SECOND_COMPANY_ID}", pushOperationKey: "${secondPushKeys()[0] ?? A_UUID}") { status } }`,
    },
    { name: "connections", field: "connections", query: () => `{ connections(companyId: "${SECOND_COMPANY_ID}") { connectionId } }` },
    {
      name: "pushOperations",
      field: "pushOperations",
      query: () => `{ pushOperations(companyId: "${SECOND_COMPANY_ID}", first: 5) { totalCount } }`,
    },
    {
      name: "customerCreateUpdateModel",
      field: "customerCreateUpdateModel",
      query: () =>
        `{ customerCreateUpdateModel(companyId: "${SECOND_COMPANY_ID}", connectionId: "${SECOND_CONNECTION_ID}") { displayName } }`,
    },
    {
      name: "customerAttachment",
      field: "customerAttachment",
      query: () =>
        `{ customerAttachment(companyId: "${SECOND_COMPANY_ID}", connectionId: "${SECOND_CONNECTION_ID}", customerId: "${secondCustomers()[0]}", attachmentId: "${A_UUID}") { id downloadUrl } }`,
    },
    {
      name: "customer → attachments (links for another company)",
      field: "customer",
      query: () =>
        `{ customer(companyId: "${SECOND_COMPANY_ID}", customerId: "${secondCustomers()[0]}") { id attachments(connectionId: "${SECOND_CONNECTION_ID}") { downloadUrl } } }`,
    },
    {
      name: "customer with the company id upper-cased",
      field: "customer",
      query: () => `{ customer(companyId: "${SECOND_COMPANY_ID.toUpperCase()}", customerId: "${secondCustomers()[0]}") { customerId } }`,
    },
  ];

  it.each(entryPoints)("$name", async ({ field, query }) => {
    const body = await run(query(), undefined, alice);
    expectForbiddenAt(body, [field]);
    expect(JSON.stringify(body.data ?? null)).not.toContain(secondCustomers()[0]);
    expectNoUpstream(stack);
  });

  it("serves the same entry points to a caller whose claim is *", async () => {
    for (const { query } of entryPoints.filter((e) => e.field !== "customerAttachment")) {
      const body = await run(query(), undefined, carol);
      expect(
        codes(body).filter((c) => c === "FORBIDDEN"),
        JSON.stringify(body.errors),
      ).toEqual([]);
    }
    expect(secondCompanyCalls().length).toBeGreaterThan(0);
  });

  it("resolves the allowed root field and refuses the forbidden one in the same operation", async () => {
    const [mine] = demoCustomers();
    const [theirs] = secondCustomers();
    const body = await run(
      `{ mine: customer(companyId: "${DEMO_COMPANY_ID}", customerId: "${mine}") { customerId }
         theirs: customer(companyId: "${SECOND_COMPANY_ID}", customerId: "${theirs}") { customerId }
         theirPush: pushOperation(companyId: "${SECOND_COMPANY_ID}", pushOperationKey: "${secondPushKeys()[0] ?? A_UUID}") { status } }`,
      undefined,
      alice,
    );
    expect((body.data?.["mine"] as { customerId: string } | null)?.customerId).toBe(mine);
    expect(body.data?.["theirs"]).toBeNull();
    expect(body.data?.["theirPush"]).toBeNull();
    expectForbiddenAt(body, ["theirs"]);
    expectForbiddenAt(body, ["theirPush"]);
    expect(codes(body)).toEqual(["FORBIDDEN", "FORBIDDEN"]);
    expect(secondCompanyCalls()).toEqual([]);
  });

  it("two root customers connections, one forbidden: the allowed one keeps its data (the field is nullable)", async () => {
    const body = await run(
      `{ mine: customers(companyId: "${DEMO_COMPANY_ID}", first: 2) { nodes { customerId } }
         theirs: customers(companyId: "${SECOND_COMPANY_ID}", first: 2) { nodes { customerId } } }`,
      undefined,
      alice,
    );
    expect((body.data?.["mine"] as { nodes: unknown[] } | null)?.nodes).toHaveLength(2);
    expect(body.data?.["theirs"]).toBeNull();
    expectForbiddenAt(body, ["theirs"]);
    expect(secondCompanyCalls()).toEqual([]);
  });
});

describe("batches with mixed companies", () => {
  it("50 customer aliases, half of them another company's: only those fail, and only the allowed company is called", async () => {
    const mine = demoCustomers().slice(0, 25);
    const theirs = secondCustomers().slice(0, 25);
    expect(theirs).toHaveLength(25);
    const fields: string[] = [];
    const expected: Record<string, string | null> = {};
    for (let i = 0; i < 25; i++) {
      fields.push(`m${i}: customer(companyId: "${DEMO_COMPANY_ID}", customerId: "${mine[i]}") { customerId companyId }`);
      fields.push(`t${i}: customer(companyId: "${SECOND_COMPANY_ID}", customerId: "${theirs[i]}") { customerId companyId }`);
      expected[`m${i}`] = mine[i] ?? null;
      expected[`t${i}`] = null;
    }
    const body = await run(`{ ${fields.join("\n")} }`, undefined, alice);
    const data = body.data ?? {};
    for (const [alias, id] of Object.entries(expected)) {
      expect((data[alias] as { customerId: string } | null)?.customerId ?? null, alias).toBe(id);
    }
    expect(body.errors).toHaveLength(25);
    for (let i = 0; i < 25; i++) expectForbiddenAt(body, [`t${i}`]);
    expect(secondCompanyCalls()).toEqual([]);
    expect(stack.upstream().length).toBeGreaterThan(0);
    for (const call of stack.upstream()) expect(call.path.toLowerCase()).toMatch(new RegExp(`^/companies/${DEMO_COMPANY_ID}/`));
  });

  it("_entities with mixed companies and types: forbidden representations are null + FORBIDDEN, the rest resolve", async () => {
    const [mine] = demoCustomers();
    const [theirs] = secondCustomers();
    const [myKey] = demoPushKeys();
    expect(myKey).toBeDefined();
    const representations = [
      { __typename: "Customer", companyId: DEMO_COMPANY_ID, customerId: mine },
      { __typename: "Customer", companyId: SECOND_COMPANY_ID, customerId: theirs },
      { __typename: "PushOperation", companyId: DEMO_COMPANY_ID, pushOperationKey: myKey },
      { __typename: "PushOperation", companyId: SECOND_COMPANY_ID, pushOperationKey: secondPushKeys()[0] ?? A_UUID },
      { __typename: "Customer", companyId: SECOND_COMPANY_ID.toUpperCase(), customerId: theirs },
      { __typename: "Customer", companyId: DEMO_COMPANY_ID.toUpperCase(), customerId: mine },
    ];
    const body = await run(
      `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Customer { customerId companyId customerName } ... on PushOperation { pushOperationKey status } } }`,
      { r: representations },
      alice,
    );
    const entities = (body.data?.["_entities"] ?? []) as ({ customerId?: string; pushOperationKey?: string } | null)[];
    expect(entities).toHaveLength(6);
    expect(entities[0]?.customerId).toBe(mine);
    expect(entities[1]).toBeNull();
    expect(entities[2]?.pushOperationKey).toBe(myKey);
    expect(entities[3]).toBeNull();
    expect(entities[4]).toBeNull();
    expect(entities[5]?.customerId).toBe(mine);
    expect(body.errors).toHaveLength(3);
    for (const index of [1, 3, 4]) expectForbiddenAt(body, ["_entities", index]);
    expect(secondCompanyCalls()).toEqual([]);
  });

  it("_entities with only forbidden representations makes no upstream call at all", async () => {
    const representations = secondCustomers()
      .slice(0, 10)
      .map((id) => ({ __typename: "Customer", companyId: SECOND_COMPANY_ID, customerId: id }));
    const body = await run(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { customerId } } }`,
      { r: representations },
      alice,
    );
    expect(body.data?.["_entities"]).toEqual(Array.from({ length: 10 }, () => null));
    expect(codes(body)).toEqual(Array.from({ length: 10 }, () => "FORBIDDEN"));
    expectNoUpstream(stack);
  });
});

describe("mutations", () => {
  const customer = { customerName: "Should Not Exist Ltd", status: "ACTIVE" };

  it("createCustomer for another company is FORBIDDEN and nothing is written", async () => {
    const before = stack.simulator.store.company(SECOND_COMPANY_ID)!.customers.size;
    const body = await run(
      `mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { pushOperation { status } customer { id } } }`,
      { i: { companyId: SECOND_COMPANY_ID, connectionId: SECOND_CONNECTION_ID, customer } },
      alice,
    );
    expectForbiddenAt(body, ["createCustomer"]);
    expectNoUpstream(stack);
    expect(stack.simulator.store.company(SECOND_COMPANY_ID)!.customers.size).toBe(before);
  });

  it("updateCustomer for another company is FORBIDDEN and nothing is written", async () => {
    const [theirs] = secondCustomers();
    const body = await run(
      `mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { pushOperation { status } } }`,
      {
        i: {
          companyId: SECOND_COMPANY_ID.toUpperCase(),
          connectionId: SECOND_CONNECTION_ID,
          customerId: theirs,
          customer,
          forceUpdate: true,
        },
      },
      alice,
    );
    expectForbiddenAt(body, ["updateCustomer"]);
    expectNoUpstream(stack);
    expect(stack.simulator.store.company(SECOND_COMPANY_ID)!.customers.get(theirs ?? "")?.customerName).not.toBe(customer.customerName);
  });

  it("a mutation that is allowed still runs for the allowed company", async () => {
    const body = await run(
      `mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { pushOperation { companyId } } }`,
      { i: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: { customerName: "Allowed Ltd", status: "ACTIVE" } } },
      alice,
    );
    expect(body.errors).toBeUndefined();
    expect(stack.upstream().some((r) => r.method === "POST")).toBe(true);
  });
});

describe("download links are bound to the caller who asked for them", () => {
  async function aliceLink(): Promise<string> {
    const record = stack.simulator.store.company(DEMO_COMPANY_ID)!.attachments.get(ATTACHMENT_CUSTOMER_ID)?.[0];
    expect(record).toBeDefined();
    const body = await run(
      `{ customerAttachment(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}", customerId: "${ATTACHMENT_CUSTOMER_ID}", attachmentId: "${record?.attachment.id}") { downloadUrl } }`,
      undefined,
      alice,
    );
    const url = (body.data?.["customerAttachment"] as { downloadUrl: string } | null)?.downloadUrl;
    if (!url) throw new Error(`no link: ${JSON.stringify(body)}`);
    stack.resetUpstream();
    return url;
  }
  const downloads = () => stack.upstream().filter((r) => r.path.endsWith("/download"));

  it("refuses another authenticated caller with 403 wrong_caller and no upstream call (GET and HEAD)", async () => {
    const url = await aliceLink();
    for (const method of ["GET", "HEAD"]) {
      const raw = await request(url, { method, headers: bob });
      expect(raw.status, `${method} ${raw.text}`).toBe(403);
      if (method === "GET") {
        expect(raw.json).toMatchObject({ error: { code: "FORBIDDEN", reason: "wrong_caller" } });
      }
    }
    expectNoUpstream(stack);
  });

  it("serves a plain browser request with no Authorization header (the link is the credential)", async () => {
    const raw = await request(await aliceLink());
    expect(raw.status, raw.text.slice(0, 300)).toBe(200);
    expect(downloads()).toHaveLength(1);
  });

  it("serves the caller it was minted for", async () => {
    const raw = await request(await aliceLink(), { headers: alice });
    expect(raw.status, raw.text.slice(0, 300)).toBe(200);
    expect(downloads()).toHaveLength(1);
  });

  it("refuses a tampered link with 403 invalid and no upstream call", async () => {
    const url = await aliceLink();
    const [prefix, token] = url.split("/downloads/") as [string, string];
    const [payload, mac] = token.split(".") as [string, string];
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    for (const forged of [`${flip(payload, 10)}.${mac}`, `${payload}.${flip(mac, 5)}`, `${payload}.`, payload]) {
      const raw = await request(`${prefix}/downloads/${forged}`);
      expect(raw.status, forged).toBe(403);
      expect(raw.json).toMatchObject({ error: { code: "FORBIDDEN", reason: "invalid" } });
    }
    expectNoUpstream(stack);
  });

  it("refuses a download carrying an invalid bearer token without an upstream call", async () => {
    const url = await aliceLink();
    const expired = await mint({ sub: "alice", codat_company_ids: [DEMO_COMPANY_ID] }, { expiresIn: -3600 });
    for (const headers of [
      bearer("garbage"),
      bearer(expired),
      bearer(await mint({ sub: "alice" }, { key: "forged-secret-forged-secret-forged-secret" })),
    ]) {
      const raw = await request(url, { headers });
      expect([401, 403], raw.text).toContain(raw.status);
    }
    expectNoUpstream(stack);
  });

  it("does not let the caller strip its binding by re-using the link under a different (valid) identity", async () => {
    const url = await aliceLink();
    // A caller allowed every company is still not the caller the link was minted for.
    const raw = await request(url, { headers: carol });
    expect(raw.status).toBe(403);
    expect(raw.json).toMatchObject({ error: { code: "FORBIDDEN", reason: "wrong_caller" } });
    expectNoUpstream(stack);
  });
});

describe("global ids are no way around authorization", () => {
  it("node(id) of another company's customer is FORBIDDEN with no upstream call; an unparseable id is BAD_USER_INPUT", async () => {
    const theirs = toGlobalId({ type: "Customer", companyId: SECOND_COMPANY_ID, customerId: secondCustomers()[0]! });
    const forbiddenBody = await run(`query($id: ID!) { node(id: $id) { id } }`, { id: theirs }, alice);
    expectForbiddenAt(forbiddenBody, ["node"]);
    expect(secondCompanyCalls()).toEqual([]);

    for (const id of [
      "not-a-global-id",
      "WyJDdXN0b21lciJd",
      Buffer.from('["Customer","x","y","z"]').toString("base64url"),
      Buffer.from('["Nope","a","b"]').toString("base64url"),
    ]) {
      const body = await run(`query($id: ID!) { node(id: $id) { id } }`, { id }, alice);
      expect(codes(body), id).toEqual(["BAD_USER_INPUT"]);
    }
    expectNoUpstream(stack);
  });

  it("nodes(ids) mixing companies: only the forbidden ids fail, and only the allowed company is called", async () => {
    const [mine] = demoCustomers();
    const ids = [
      toGlobalId({ type: "Customer", companyId: DEMO_COMPANY_ID, customerId: mine! }),
      toGlobalId({ type: "Customer", companyId: SECOND_COMPANY_ID, customerId: secondCustomers()[0]! }),
      toGlobalId({ type: "PushOperation", companyId: SECOND_COMPANY_ID, pushOperationKey: secondPushKeys()[0] ?? A_UUID }),
    ];
    const body = await run(`query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Customer { customerId } } }`, { ids }, alice);
    const nodes = body.data?.["nodes"] as ({ customerId?: string } | null)[];
    expect(nodes[0]?.customerId).toBe(mine);
    expect(nodes[1]).toBeNull();
    expect(nodes[2]).toBeNull();
    expectForbiddenAt(body, ["nodes", 1]);
    expectForbiddenAt(body, ["nodes", 2]);
    expect(secondCompanyCalls()).toEqual([]);
  });
});
