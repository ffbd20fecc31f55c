import { describe, expect, it } from "vitest";
import { AWKWARD_CUSTOMER_ID, DEMO_COMPANY_ID, EMPTY_COMPANY_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";

const UNKNOWN_COMPANY = "00000000-0000-4000-8000-000000000000";

interface CustomerNode {
  customerId: string;
  customerName: string | null;
  status: string;
}
interface CustomersPage {
  customers: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
    edges: { cursor: string; node: CustomerNode }[];
    nodes: CustomerNode[];
  };
}

const PAGE_QUERY = /* GraphQL */ `
  query Page($companyId: ID!, $first: Int, $after: String, $last: Int, $before: String, $query: String, $orderBy: String) {
    customers(companyId: $companyId, first: $first, after: $after, last: $last, before: $before, query: $query, orderBy: $orderBy) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        cursor
        node {
          customerId
          customerName
          status
        }
      }
      nodes {
        customerId
      }
    }
  }
`;

// Counts the Codat calls of each operation: no read cache (test/cache/ covers it).
const stack = useStack({ env: { CACHE_ENABLED: "false" } });

/** The simulator's whole list, read straight from its REST endpoint. */
async function directIds(query?: string, orderBy?: string): Promise<string[]> {
  const url = new URL(`/companies/${DEMO_COMPANY_ID}/data/customers`, stack.simulator.url);
  url.searchParams.set("page", "1");
  url.searchParams.set("pageSize", "5000");
  if (query) url.searchParams.set("query", query);
  if (orderBy) url.searchParams.set("orderBy", orderBy);
  const body = (await (await fetch(url)).json()) as { results: { id: string }[] };
  return body.results.map((c) => c.id);
}

describe("customers connection", () => {
  it("serves the README's first query with one upstream call", async () => {
    const result = await stack.graphql(/* GraphQL */ `
      { customers(companyId: "${DEMO_COMPANY_ID}", first: 20) {
          totalCount pageInfo { hasNextPage endCursor }
          edges { cursor node { customerId customerName status addresses { type city } contacts { name phone { number type } } } } } }
    `);
    expect(result.errors).toBeUndefined();
    const data = result.data as { customers: { totalCount: number; edges: unknown[]; pageInfo: { hasNextPage: boolean } } };
    expect(data.customers.totalCount).toBeGreaterThanOrEqual(120);
    expect(data.customers.edges).toHaveLength(20);
    expect(data.customers.pageInfo.hasNextPage).toBe(true);
    expect(stack.upstream()).toHaveLength(1);
    expect(stack.upstream()[0]?.query).toMatchObject({ page: "1", pageSize: "20" });
  });

  it("walks every page forward and backward with several sizes, returning the simulator's full list in order", async () => {
    for (const [query, orderBy] of [
      [undefined, undefined],
      ["status=Active", "-customerName"],
    ] as const) {
      const expected = await directIds(query, orderBy);
      expect(expected.length).toBeGreaterThan(20);
      for (const size of [7, 20, 50]) {
        const forward: string[] = [];
        let after: string | null = null;
        for (let guard = 0; guard < 100; guard++) {
          const page: { data?: CustomersPage | null } = await stack.graphql<CustomersPage>(PAGE_QUERY, {
            companyId: DEMO_COMPANY_ID,
            first: size,
            after,
            query,
            orderBy,
          });
          const connection = page.data!.customers;
          expect(connection.totalCount).toBe(expected.length);
          forward.push(...connection.edges.map((e) => e.node.customerId));
          expect(connection.nodes.map((n) => n.customerId)).toEqual(connection.edges.map((e) => e.node.customerId));
          if (!connection.pageInfo.hasNextPage) break;
          after = connection.pageInfo.endCursor;
        }
        expect(forward).toEqual(expected);

        const backward: string[] = [];
        let before: string | null = null;
        for (let guard = 0; guard < 100; guard++) {
          const page: { data?: CustomersPage | null } = await stack.graphql<CustomersPage>(PAGE_QUERY, {
            companyId: DEMO_COMPANY_ID,
            last: size,
            before,
            query,
            orderBy,
          });
          const connection = page.data!.customers;
          backward.unshift(...connection.edges.map((e) => e.node.customerId));
          if (!connection.pageInfo.hasPreviousPage) break;
          before = connection.pageInfo.startCursor;
        }
        expect(backward).toEqual(expected);
      }
    }
  });

  it("costs at most two upstream calls for an unaligned page and never fetches more than twice the items", async () => {
    const first = await stack.graphql<CustomersPage>(PAGE_QUERY, { companyId: DEMO_COMPANY_ID, first: 3 });
    stack.resetUpstream();
    await stack.graphql<CustomersPage>(PAGE_QUERY, {
      companyId: DEMO_COMPANY_ID,
      first: 10,
      after: first.data!.customers.pageInfo.endCursor,
    });
    const calls = stack.upstream();
    expect(calls.length).toBeLessThanOrEqual(2);
    expect(calls.reduce((n, c) => n + Number(c.query["pageSize"]), 0)).toBeLessThanOrEqual(20);
  });

  it("passes query and orderBy through to Codat", async () => {
    const result = await stack.graphql<CustomersPage>(PAGE_QUERY, {
      companyId: DEMO_COMPANY_ID,
      first: 5,
      query: "status=Archived",
      orderBy: "-modifiedDate",
    });
    expect(result.errors).toBeUndefined();
    expect(result.data!.customers.edges.every((e) => e.node.status === "ARCHIVED")).toBe(true);
    expect(stack.upstream()[0]?.query).toMatchObject({ query: "status=Archived", orderBy: "-modifiedDate" });
  });

  it("answers an empty company with an empty page", async () => {
    const result = await stack.graphql<CustomersPage>(PAGE_QUERY, { companyId: EMPTY_COMPANY_ID, first: 10 });
    expect(result.data!.customers).toEqual({
      totalCount: 0,
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      edges: [],
      nodes: [],
    });
  });

  it("refuses tampered, foreign and reused cursors with BAD_USER_INPUT and no upstream call", async () => {
    const page = await stack.graphql<CustomersPage>(PAGE_QUERY, { companyId: DEMO_COMPANY_ID, first: 5 });
    const cursor = page.data!.customers.pageInfo.endCursor!;
    stack.resetUpstream();
    const tampered = `${cursor.slice(0, -2)}${cursor.endsWith("AA") ? "BB" : "AA"}`;
    for (const variables of [
      { companyId: DEMO_COMPANY_ID, first: 5, after: tampered },
      { companyId: DEMO_COMPANY_ID, first: 5, after: "bm90IGEgY3Vyc29y" },
      { companyId: DEMO_COMPANY_ID, first: 5, after: cursor, query: "status=Active" },
      { companyId: DEMO_COMPANY_ID, last: 5, before: cursor, orderBy: "customerName" },
      { companyId: DEMO_COMPANY_ID, first: 0 },
      { companyId: DEMO_COMPANY_ID, first: 501 },
    ]) {
      const result = await stack.graphql(PAGE_QUERY, variables);
      expect(result.errors?.[0]?.extensions?.["code"], JSON.stringify(variables)).toBe("BAD_USER_INPUT");
    }
    expect(stack.upstream()).toHaveLength(0);
  });

  it("maps a malformed Codat query to BAD_USER_INPUT", async () => {
    const result = await stack.graphql(PAGE_QUERY, { companyId: DEMO_COMPANY_ID, first: 5, query: "status=Active&&{" });
    expect(result.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(result.errors?.[0]?.extensions?.["upstream"]).toMatchObject({ status: 400 });
  });
});

describe("customer by id", () => {
  it("batches 50 lookups of one company into at most two upstream calls", async () => {
    const ids = (await directIds()).filter((id) => id !== AWKWARD_CUSTOMER_ID).slice(0, 50);
    stack.resetUpstream();
    const fields = ids
      .map((id, i) => `c${i}: customer(companyId: "${DEMO_COMPANY_ID}", customerId: "${id}") { customerId customerName }`)
      .join("\n");
    const result = await stack.graphql<Record<string, { customerId: string } | null>>(`{ ${fields} }`);
    expect(result.errors).toBeUndefined();
    ids.forEach((id, i) => expect(result.data![`c${i}`]?.customerId).toBe(id));
    expect(stack.upstream().length).toBeLessThanOrEqual(2);
    for (const call of stack.upstream()) expect(call.query["query"]!.length).toBeLessThan(2048);
  });

  it("deduplicates repeated keys and resolves a missing customer to null", async () => {
    const [id] = await directIds();
    stack.resetUpstream();
    const result = await stack.graphql(`{
      a: customer(companyId: "${DEMO_COMPANY_ID}", customerId: "${id}") { customerId }
      b: customer(companyId: "${DEMO_COMPANY_ID}", customerId: "${id}") { customerName }
      missing: customer(companyId: "${DEMO_COMPANY_ID}", customerId: "11111111-2222-4333-8444-555555555555") { customerId }
    }`);
    expect(result.errors).toBeUndefined();
    expect(result.data).toMatchObject({ a: { customerId: id }, missing: null });
    expect(stack.upstream()).toHaveLength(1);
  });

  it("fetches an id that cannot be embedded in a query through the single-customer endpoint", async () => {
    const result = await stack.graphql(`query($id: ID!) { customer(companyId: "${DEMO_COMPANY_ID}", customerId: $id) { customerId } }`, {
      id: AWKWARD_CUSTOMER_ID,
    });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ customer: { customerId: AWKWARD_CUSTOMER_ID } });
    expect(stack.upstream()).toHaveLength(1);
    expect(stack.upstream()[0]?.rawUrl).toBe(`/companies/${DEMO_COMPANY_ID}/data/customers/${encodeURIComponent(AWKWARD_CUSTOMER_ID)}`);
  });

  it("reports an unknown company as NOT_FOUND", async () => {
    const result = await stack.graphql(`{ customer(companyId: "${UNKNOWN_COMPANY}", customerId: "x") { customerId } }`);
    expect(result.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");
    expect(result.data).toEqual({ customer: null });
  });

  it("refuses malformed company ids and path-traversal ids with BAD_USER_INPUT and no upstream call", async () => {
    const cases = [
      { companyId: "not-a-uuid", id: "x" },
      { companyId: DEMO_COMPANY_ID, id: "../../companies" },
      { companyId: DEMO_COMPANY_ID, id: ".." },
      { companyId: DEMO_COMPANY_ID, id: "a/b" },
      { companyId: DEMO_COMPANY_ID, id: "a%2Fb" },
      { companyId: DEMO_COMPANY_ID, id: "a%2fb c" },
      { companyId: DEMO_COMPANY_ID, id: "a\\b" },
    ];
    for (const variables of cases) {
      const result = await stack.graphql(
        `query($companyId: ID!, $id: ID!) { customer(companyId: $companyId, customerId: $id) { customerId } }`,
        variables,
      );
      expect(result.errors?.[0]?.extensions?.["code"], JSON.stringify(variables)).toBe("BAD_USER_INPUT");
    }
    const list = await stack.graphql(PAGE_QUERY, { companyId: "../x", first: 1 });
    expect(list.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(stack.upstream()).toHaveLength(0);
  });

  it("lets one failing field fail alone", async () => {
    const [id] = await directIds();
    const result = await stack.graphql(`{
      good: customer(companyId: "${DEMO_COMPANY_ID}", customerId: "${id}") { customerId }
      bad: customer(companyId: "${UNKNOWN_COMPANY}", customerId: "${id}") { customerId }
      invalid: customer(companyId: "nope", customerId: "${id}") { customerId }
    }`);
    expect(result.data).toEqual({ good: { customerId: id }, bad: null, invalid: null });
    expect(result.errors?.map((e) => [e.path?.[0], e.extensions?.["code"]]).sort()).toEqual([
      ["bad", "NOT_FOUND"],
      ["invalid", "BAD_USER_INPUT"],
    ]);
  });
});

describe("upstream faults", () => {
  it("waits out a 429 with Retry-After and retries", async () => {
    stack.simulator.injectFault({
      kind: "status",
      status: 429,
      headers: { "retry-after": "1" },
      body: { statusCode: 429, error: "Too many requests", correlationId: "abc" },
    });
    // (How long it waits is the client's retry plan, checked in test/codat/client-retries.test.ts.)
    const result = await stack.graphql(PAGE_QUERY, { companyId: DEMO_COMPANY_ID, first: 2 });
    expect(result.errors).toBeUndefined();
    expect(stack.upstream()).toHaveLength(2);
  });

  it("surfaces a 500 as a coded error carrying the correlation id but no URL, header or key", async () => {
    stack.simulator.injectFault({
      kind: "status",
      status: 500,
      times: 10,
      body: {
        statusCode: 500,
        error: `Failure calling ${stack.simulator.url}/internal with Authorization: Basic c2VjcmV0`,
        correlationId: "corr-500",
      },
    });
    const result = await stack.graphql(`{ customer(companyId: "${DEMO_COMPANY_ID}", customerId: "x") { customerId } }`);
    const error = result.errors?.[0];
    expect(error?.extensions).toMatchObject({ code: "UPSTREAM_ERROR", upstream: { status: 500, correlationId: "corr-500" } });
    const host = new URL(stack.simulator.url).host;
    expect(result.text).not.toContain(host);
    expect(result.text).not.toContain("c2VjcmV0");
    expect(result.text).not.toContain("Authorization");
  });

  it("maps a malformed upstream body to UPSTREAM_ERROR without crashing", async () => {
    stack.simulator.injectFault({ kind: "malformed" });
    const result = await stack.graphql(PAGE_QUERY, { companyId: DEMO_COMPANY_ID, first: 2 });
    expect(result.errors?.[0]?.extensions?.["code"]).toBe("UPSTREAM_ERROR");
    const health = await fetch(`${stack.origin}/healthz`);
    expect(health.status).toBe(200);
  });
});
