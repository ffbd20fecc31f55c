/**
 * Page numbers beside cursors (issue 29): `page`/`pageSize` on `customers` and `pushOperations`, one Codat call
 * per page, `pageInfo { pageNumber pageSize totalPages }`, cursors that interoperate both ways, and conflicting
 * or out-of-range arguments refused before any Codat call.
 */
import { describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, DEMO_CUSTOMER_COUNT, DEMO_PUSH_OPERATION_COUNT } from "codat-simulator";
import { MAX_NUMBERED_PAGE_SIZE } from "../../src/pagination/connection.js";
import { parseConfig } from "../../src/config.js";
import { useStack } from "../helpers/stack.js";

interface Page {
  totalCount: number;
  pageInfo: {
    pageNumber: number | null;
    pageSize: number | null;
    totalPages: number | null;
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
  edges: { cursor: string; node: { customerId: string } }[];
}

const PAGE_FIELDS = `totalCount pageInfo { pageNumber pageSize totalPages hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { customerId } }`;
const CUSTOMERS = /* GraphQL */ `
  query Customers($companyId: ID!, $page: Int, $pageSize: Int, $first: Int, $after: String, $last: Int, $before: String, $orderBy: String) {
    customers(companyId: $companyId, page: $page, pageSize: $pageSize, first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
      ${PAGE_FIELDS}
    }
  }
`;

const stack = useStack();
const customerReads = () => stack.upstream().filter((r) => r.path === `/companies/${DEMO_COMPANY_ID}/data/customers`);

async function customers(args: Record<string, unknown>) {
  return stack.graphql<{ customers: Page | null }>(CUSTOMERS, { companyId: DEMO_COMPANY_ID, orderBy: "customerName", ...args });
}

const ids = (page: Page) => page.edges.map((edge) => edge.node.customerId);

describe("customers(page, pageSize)", () => {
  it("fetches the numbered page with exactly one Codat call and says where it is", async () => {
    const result = await customers({ page: 2, pageSize: 20 });
    expect(result.errors).toBeUndefined();
    const page = result.data!.customers!;
    expect(customerReads()).toHaveLength(1);
    expect(customerReads()[0]!.query).toMatchObject({ page: "2", pageSize: "20", orderBy: "customerName" });
    expect(page.totalCount).toBe(DEMO_CUSTOMER_COUNT);
    expect(page.pageInfo).toMatchObject({
      pageNumber: 2,
      pageSize: 20,
      totalPages: Math.ceil(DEMO_CUSTOMER_COUNT / 20),
      hasNextPage: true,
      hasPreviousPage: true,
    });
    expect(page.edges).toHaveLength(20);

    // The same items as the cursor window of offsets 20..39.
    stack.resetUpstream();
    const first = (await customers({ first: 20 })).data!.customers!;
    const next = (await customers({ first: 20, after: first.pageInfo.endCursor })).data!.customers!;
    expect(ids(next)).toEqual(ids(page));
  });

  it("answers the last page short and the page after it empty, with hasNextPage false", async () => {
    const totalPages = Math.ceil(DEMO_CUSTOMER_COUNT / 20);
    const last = (await customers({ page: totalPages, pageSize: 20 })).data!.customers!;
    expect(last.edges).toHaveLength(DEMO_CUSTOMER_COUNT - (totalPages - 1) * 20);
    expect(last.pageInfo).toMatchObject({ pageNumber: totalPages, totalPages, hasNextPage: false, hasPreviousPage: true });
    const beyond = (await customers({ page: totalPages + 1, pageSize: 20 })).data!.customers!;
    expect(beyond.edges).toEqual([]);
    expect(beyond.pageInfo).toMatchObject({ pageNumber: totalPages + 1, hasNextPage: false, startCursor: null, endCursor: null });
  });

  it("defaults to page 1 of 20 when only one of them is given", async () => {
    const onlyPage = (await customers({ page: 1 })).data!.customers!;
    expect(onlyPage.pageInfo).toMatchObject({ pageNumber: 1, pageSize: 20, hasPreviousPage: false });
    const onlySize = (await customers({ pageSize: 7 })).data!.customers!;
    expect(onlySize.pageInfo).toMatchObject({ pageNumber: 1, pageSize: 7 });
    expect(onlySize.edges).toHaveLength(7);
  });

  it("takes pageSize up to Codat's 5,000 in one call (within the cost limit)", async () => {
    const result = await stack.graphql<{ customers: { totalCount: number; pageInfo: Page["pageInfo"]; nodes: unknown[] } }>(
      `query($c: ID!, $s: Int) { customers(companyId: $c, page: 1, pageSize: $s) { totalCount pageInfo { pageNumber pageSize totalPages hasNextPage } nodes { customerId customerName } } }`,
      { c: DEMO_COMPANY_ID, s: MAX_NUMBERED_PAGE_SIZE },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.customers.nodes).toHaveLength(DEMO_CUSTOMER_COUNT);
    expect(result.data!.customers.pageInfo).toEqual({ pageNumber: 1, pageSize: MAX_NUMBERED_PAGE_SIZE, totalPages: 1, hasNextPage: false });
    expect(customerReads()).toHaveLength(1);
    expect(customerReads()[0]!.query).toMatchObject({ page: "1", pageSize: String(MAX_NUMBERED_PAGE_SIZE) });
  });

  it("counts pageSize in the operation's cost like first: a large selection × 5,000 is refused before any call", async () => {
    const result = await stack.graphql(
      `query($c: ID!) { customers(companyId: $c, pageSize: ${MAX_NUMBERED_PAGE_SIZE}) {
        nodes { customerId customerName contactName emailAddress phone defaultCurrency taxNumber registrationNumber status
          addresses { type line1 line2 city region country postalCode } contacts { name email phone { number type } } } } }`,
      { c: DEMO_COMPANY_ID },
    );
    expect(result.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(result.errors?.[0]?.message).toMatch(new RegExp(`estimated cost is \\d+; the limit is ${parseConfig({}).limits.maxCost}`));
    expect(stack.upstream()).toHaveLength(0);
  });

  it.each([
    [{ page: 1, after: "x" }, "page"],
    [{ page: 2, last: 5 }, "page"],
    [{ page: 2, before: "x" }, "page"],
    [{ page: 2, first: 5 }, "page"],
    [{ pageSize: 5, first: 5 }, "pageSize"],
    [{ pageSize: 0 }, "pageSize"],
    [{ page: 0 }, "page"],
    [{ page: -1, pageSize: 5 }, "page"],
    // Beyond any offset a cursor can carry (9 digits): 50,000,000 pages of 20.
    [{ page: 50_000_001, pageSize: 20 }, "page"],
  ])("refuses %j with BAD_USER_INPUT naming %s, before any Codat call", async (args, argumentName) => {
    const result = await customers(args);
    expect(result.data?.customers ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argumentName });
    expect(stack.upstream()).toHaveLength(0);
  });
});

describe("pageSize above Codat's largest page", () => {
  it("is refused with BAD_USER_INPUT naming pageSize, before any Codat call", async () => {
    const result = await stack.graphql(`query($c: ID!, $s: Int) { customers(companyId: $c, pageSize: $s) { nodes { customerId } } }`, {
      c: DEMO_COMPANY_ID,
      s: MAX_NUMBERED_PAGE_SIZE + 1,
    });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argumentName: "pageSize" });
    expect(result.errors?.[0]?.message).toContain(`between 1 and ${MAX_NUMBERED_PAGE_SIZE}`);
    expect(stack.upstream()).toHaveLength(0);
  });
});

describe("cursors and page numbers interoperate", () => {
  it("continues a numbered page with `after: endCursor`, and each edge's cursor works as `after`", async () => {
    const page3 = (await customers({ page: 3, pageSize: 10 })).data!.customers!;
    const page4 = (await customers({ page: 4, pageSize: 10 })).data!.customers!;
    const after = (await customers({ first: 10, after: page3.pageInfo.endCursor })).data!.customers!;
    expect(ids(after)).toEqual(ids(page4));
    // A cursor from the middle of a numbered page.
    const fromMiddle = (await customers({ first: 3, after: page3.edges[4]!.cursor })).data!.customers!;
    expect(ids(fromMiddle)).toEqual(ids(page3).slice(5, 8));
    // And backwards.
    const before = (await customers({ last: 10, before: page4.pageInfo.startCursor })).data!.customers!;
    expect(ids(before)).toEqual(ids(page3));
  });

  it("fills pageSize and totalPages for cursor pages, and pageNumber when the page starts on a boundary of its size", async () => {
    const first = (await customers({ first: 25 })).data!.customers!;
    expect(first.pageInfo).toMatchObject({ pageNumber: 1, pageSize: 25, totalPages: Math.ceil(DEMO_CUSTOMER_COUNT / 25) });
    const second = (await customers({ first: 25, after: first.pageInfo.endCursor })).data!.customers!;
    expect(second.pageInfo.pageNumber).toBe(2);
    const offBoundary = (await customers({ first: 25, after: first.edges[2]!.cursor })).data!.customers!;
    expect(offBoundary.pageInfo).toMatchObject({ pageNumber: null, pageSize: 25 });
  });
});

describe("pushOperations(page, pageSize)", () => {
  it("pages by number with one Codat call, its cursors usable with after", async () => {
    type Ops = {
      pushOperations: { totalCount: number; pageInfo: Page["pageInfo"]; edges: { cursor: string; node: { pushOperationKey: string } }[] };
    };
    const query = `query($c: ID!, $page: Int, $pageSize: Int, $first: Int, $after: String) {
      pushOperations(companyId: $c, page: $page, pageSize: $pageSize, first: $first, after: $after, orderBy: "requestedOnUtc") {
        totalCount pageInfo { pageNumber pageSize totalPages hasNextPage hasPreviousPage endCursor } edges { cursor node { pushOperationKey } } } }`;
    const result = await stack.graphql<Ops>(query, { c: DEMO_COMPANY_ID, page: 1, pageSize: 2 });
    expect(result.errors).toBeUndefined();
    const reads = stack.upstream().filter((r) => r.path === `/companies/${DEMO_COMPANY_ID}/push`);
    expect(reads).toHaveLength(1);
    expect(reads[0]!.query).toMatchObject({ page: "1", pageSize: "2" });
    const page = result.data!.pushOperations;
    expect(page.totalCount).toBeGreaterThanOrEqual(DEMO_PUSH_OPERATION_COUNT);
    expect(page.pageInfo).toMatchObject({ pageNumber: 1, pageSize: 2, totalPages: Math.ceil(page.totalCount / 2) });
    const next = await stack.graphql<Ops>(query, { c: DEMO_COMPANY_ID, first: 2, after: page.pageInfo.endCursor });
    const page2 = await stack.graphql<Ops>(query, { c: DEMO_COMPANY_ID, page: 2, pageSize: 2 });
    expect(next.data!.pushOperations.edges.map((e) => e.node)).toEqual(page2.data!.pushOperations.edges.map((e) => e.node));

    const refused = await stack.graphql(query, { c: DEMO_COMPANY_ID, page: 2, after: page.pageInfo.endCursor });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argumentName: "page" });
  });
});
