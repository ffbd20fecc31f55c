/**
 * A real supergraph: this subgraph composed (with Apollo's composition library) with a small invoices subgraph
 * that references Customer by key and adds a field to it, run by Apollo Gateway on loopback.
 */
import { composeServices } from "@apollo/composition";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "graphql";
import { printSchema } from "../../src/schema.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AWKWARD_CUSTOMER_ID, DEMO_COMPANY_ID } from "codat-simulator";
import { startStack, useStack, type Stack } from "../helpers/stack.js";
import { INVOICES_SDL, startInvoicesSubgraph, type InvoiceRecord, type InvoicesSubgraph } from "../helpers/invoices-subgraph.js";

const MISSING_CUSTOMER = "11111111-2222-4333-8444-555555555555";

// Counts the list calls of each operation: no read cache (test/cache/ covers it).
const stack = useStack({ env: { CACHE_ENABLED: "false" } });
let invoices: InvoicesSubgraph;
let router: ApolloServer;
let routerUrl: string;
let customerIds: string[];

async function routerQuery<T>(
  query: string,
): Promise<{ data?: T; errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[] }> {
  const response = await fetch(routerUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

beforeAll(async () => {
  const all = await fetch(`${stack.simulator.url}/companies/${DEMO_COMPANY_ID}/data/customers?page=1&pageSize=200`);
  customerIds = ((await all.json()) as { results: { id: string }[] }).results.map((c) => c.id).filter((id) => id !== AWKWARD_CUSTOMER_ID);
  const records: InvoiceRecord[] = customerIds
    .slice(0, 100)
    .map((customerId, i) => ({ id: `inv-${i}`, amount: 100 + i, companyId: DEMO_COMPANY_ID, customerId }));
  records.push({ id: "inv-missing", amount: 1, companyId: DEMO_COMPANY_ID, customerId: MISSING_CUSTOMER });
  invoices = await startInvoicesSubgraph(records);

  // Compose as a router's tooling would: from each subgraph's published SDL.
  const sdl = await stack.graphql<{ _service: { sdl: string } }>(`{ _service { sdl } }`);
  const composed = composeServices([
    { name: "customers", typeDefs: parse(sdl.data!._service.sdl), url: stack.url },
    { name: "invoices", typeDefs: parse(INVOICES_SDL), url: invoices.url },
  ]);
  expect(composed.errors ?? []).toEqual([]);
  if (!composed.supergraphSdl) throw new Error("composition failed");
  router = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl: composed.supergraphSdl }) });
  routerUrl = (await startStandaloneServer(router, { listen: { port: 0, host: "127.0.0.1" } })).url;
});

afterAll(async () => {
  await router?.stop();
  await invoices?.stop();
});

beforeEach(() => stack.resetUpstream());

describe("supergraph", () => {
  it("resolves 101 customers referenced from another subgraph in ⌈101/49⌉ Codat calls, null for the missing one", async () => {
    const result = await routerQuery<{
      invoices: {
        id: string;
        customer: { customerId: string; customerName: string | null; status: string; invoiceCount: number } | null;
      }[];
    }>(`{
      invoices { id amount customer { customerId customerName status invoiceCount } }
    }`);
    expect(result.errors).toBeUndefined();
    const rows = result.data!.invoices;
    expect(rows).toHaveLength(101);
    rows.slice(0, 100).forEach((row, i) => {
      expect(row.customer?.customerId).toBe(customerIds[i]);
      expect(row.customer?.customerName).toBeTruthy();
      expect(row.customer?.invoiceCount).toBe(1);
    });
    expect(rows[100]!.customer).toBeNull();
    const calls = stack.upstream();
    expect(calls.length).toBe(3);
    for (const call of calls) expect(call.path).toBe(`/companies/${DEMO_COMPANY_ID}/data/customers`);
  });

  it("serves this subgraph's own fields through the router, with a field another subgraph adds", async () => {
    const result = await routerQuery<{ customers: { nodes: { id: string; invoiceCount: number }[] } }>(`{
      customers(companyId: "${DEMO_COMPANY_ID}", first: 3) { nodes { customerId customerName invoiceCount } }
    }`);
    expect(result.errors).toBeUndefined();
    expect(result.data!.customers.nodes).toHaveLength(3);
    expect(result.data!.customers.nodes.every((n) => n.invoiceCount === 1)).toBe(true);
    expect(stack.upstream()).toHaveLength(1);
  });
});

describe("subgraph entry points", () => {
  it("publishes a Federation 2 SDL with the entity keys and no upstream URLs", async () => {
    const result = await stack.graphql<{ _service: { sdl: string } }>(`{ _service { sdl } }`);
    const sdl = result.data!._service.sdl;
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.7"');
    expect(sdl).toMatch(/type Customer implements Node @key\(fields: "companyId customerId"\) @key\(fields: "id"\)/);
    expect(sdl).toMatch(/type PushOperation implements Node @key\(fields: "companyId pushOperationKey"\) @key\(fields: "id"\)/);
    expect(sdl).not.toContain("api.codat.io");
    expect(sdl).not.toContain(stack.simulator.url);
  });

  it("batches _entities: 100 representations of one company cost ⌈100/49⌉ list calls; misses and bad keys fail alone", async () => {
    const representations: Record<string, string>[] = customerIds
      .slice(0, 100)
      .map((id) => ({ __typename: "Customer", companyId: DEMO_COMPANY_ID, customerId: id }));
    representations.push({ __typename: "Customer", companyId: DEMO_COMPANY_ID, customerId: MISSING_CUSTOMER });
    const result = await stack.graphql<{ _entities: ({ customerId: string; customerName: string } | null)[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { customerId customerName } } }`,
      { r: representations },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!._entities.slice(0, 100).map((e) => e?.customerId)).toEqual(customerIds.slice(0, 100));
    expect(result.data!._entities[100]).toBeNull();
    expect(stack.upstream()).toHaveLength(3);

    stack.resetUpstream();
    const mixed = await stack.graphql<{ _entities: ({ customerId: string } | null)[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { customerId } } }`,
      {
        r: [
          { __typename: "Customer", companyId: DEMO_COMPANY_ID, customerId: customerIds[0] },
          { __typename: "Customer", companyId: "not-a-uuid", customerId: "x" },
        ],
      },
    );
    expect(mixed.data!._entities[0]).toEqual({ customerId: customerIds[0] });
    expect(mixed.data!._entities[1]).toBeNull();
    expect(mixed.errors?.map((e) => e.extensions?.["code"])).toEqual(["BAD_USER_INPUT"]);
    expect(stack.upstream()).toHaveLength(1);
  });

  it("resolves PushOperation references by key", async () => {
    const list = await stack.graphql<{ pushOperations: { nodes: { pushOperationKey: string }[] } }>(
      `{ pushOperations(companyId: "${DEMO_COMPANY_ID}", first: 2) { nodes { pushOperationKey } } }`,
    );
    const key = list.data!.pushOperations.nodes[0]!.pushOperationKey;
    const result = await stack.graphql<{ _entities: ({ pushOperationKey: string; status: string } | null)[] }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on PushOperation { pushOperationKey status } } }`,
      { r: [{ __typename: "PushOperation", companyId: DEMO_COMPANY_ID, pushOperationKey: key }] },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!._entities[0]?.pushOperationKey).toBe(key);
  });
});

describe("router-only mode (ROUTER_SECRET)", () => {
  const SECRET = "router-secret-router-secret";
  let locked: Stack;
  let lockedRouter: ApolloServer;
  let lockedRouterUrl: string;

  beforeAll(async () => {
    locked = await startStack({ env: { ROUTER_SECRET: SECRET, ROUTER_SECRET_HEADER: "X-Router-Secret" } });
    const composed = composeServices([
      { name: "customers", typeDefs: parse(printSchema()), url: locked.url },
      { name: "invoices", typeDefs: parse(INVOICES_SDL), url: invoices.url },
    ]);
    if (!composed.supergraphSdl) throw new Error("composition failed");
    lockedRouter = new ApolloServer({
      gateway: new ApolloGateway({
        supergraphSdl: composed.supergraphSdl,
        buildService: ({ name, url }) =>
          new RemoteGraphQLDataSource({
            ...(url ? { url } : {}),
            willSendRequest: ({ request }) => {
              if (name === "customers") request.http?.headers.set("x-router-secret", SECRET);
            },
          }),
      }),
    });
    lockedRouterUrl = (await startStandaloneServer(lockedRouter, { listen: { port: 0, host: "127.0.0.1" } })).url;
  });

  afterAll(async () => {
    await lockedRouter?.stop();
    await locked?.close();
  });

  it("refuses every direct GraphQL request, _service and _entities included, with no upstream call", async () => {
    locked.resetUpstream();
    for (const query of [`{ _service { sdl } }`, `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 1) { totalCount } }`]) {
      const result = await locked.graphql(query);
      expect(result.status).toBe(401);
      expect(result.errors?.[0]?.extensions?.["code"]).toBe("UNAUTHENTICATED");
    }
    const wrong = await locked.graphql(`{ _entities(representations: []) { __typename } }`, {}, { "x-router-secret": "nope" });
    expect(wrong.status).toBe(401);
    expect(locked.upstream()).toHaveLength(0);
    expect((await fetch(`${locked.origin}/healthz`)).status).toBe(200);
  });

  it("serves the router that sends the header", async () => {
    const response = await fetch(lockedRouterUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ invoices { id customer { customerName } } }` }),
    });
    const body = (await response.json()) as { data?: { invoices: { customer: { customerName: string } | null }[] }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data!.invoices[0]!.customer?.customerName).toBeTruthy();
  });
});

describe("schema snapshot", () => {
  it("matches the committed subgraph SDL (refresh with `npx tsx scripts/print-schema.ts --write`)", () => {
    const committed = readFileSync(path.resolve(import.meta.dirname, "../__snapshots__/subgraph.graphql"), "utf8");
    expect(printSchema().trimEnd()).toBe(committed.trimEnd());
  });
});
