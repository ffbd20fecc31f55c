/**
 * Apollo Client 4 with a plain `new InMemoryCache()` — no type policies — against the gateway: global ids let the
 * cache normalise customers of different companies apart, and refetching one updates it in place everywhere.
 */
import { ApolloClient, HttpLink, InMemoryCache, gql, type TypedDocumentNode } from "@apollo/client";
import type { DocumentNode } from "graphql";
import { relayStylePagination } from "@apollo/client/utilities";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, SECOND_COMPANY_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";

/** A document with its result type (Apollo Client 4 takes result types from the document, not from generics). */
const typed = <T>(document: DocumentNode) => document as TypedDocumentNode<T, Record<string, unknown>>;

const stack = useStack({ simulator: { pushDelayMs: 0 } });
let client: ApolloClient;
beforeAll(async () => {
  client = new ApolloClient({ link: new HttpLink({ uri: stack.url }), cache: new InMemoryCache() });
});
afterAll(async () => {
  client.stop();
});

const FIRST_CUSTOMERS = typed<{ a: Page; b: Page }>(gql`
  query FirstCustomers($a: ID!, $b: ID!) {
    a: customers(companyId: $a, first: 3) {
      nodes {
        id
        customerId
        companyId
        customerName
      }
    }
    b: customers(companyId: $b, first: 3) {
      nodes {
        id
        customerId
        companyId
        customerName
      }
    }
  }
`);

interface Page {
  nodes: { id: string; customerId: string; companyId: string; customerName: string | null }[];
}

describe("Apollo Client with a plain InMemoryCache", () => {
  it("keeps two companies' customers apart and updates one in place after updateCustomer", async () => {
    const { data } = await client.query({
      query: FIRST_CUSTOMERS,
      variables: { a: DEMO_COMPANY_ID, b: SECOND_COMPANY_ID },
    });
    const all = [...data!.a.nodes, ...data!.b.nodes];
    const snapshot = client.cache.extract() as Record<string, unknown>;
    const entries = Object.keys(snapshot).filter((key) => key.startsWith("Customer:"));
    expect(entries).toHaveLength(all.length);
    for (const customer of all) {
      const cached = snapshot[`Customer:${customer.id}`] as { companyId: string; customerId: string } | undefined;
      expect(cached).toMatchObject({ companyId: customer.companyId, customerId: customer.customerId });
    }

    const target = data!.a.nodes[0]!;
    const name = `Renamed ${Date.now()}`;
    const updated = await client.mutate({
      mutation: typed<{ updateCustomer: { pushOperation: { pushOperationKey: string } } }>(gql`
        mutation Rename($input: UpdateCustomerInput!) {
          updateCustomer(input: $input) {
            pushOperation {
              id
              pushOperationKey
              status
            }
          }
        }
      `),
      variables: {
        input: {
          companyId: DEMO_COMPANY_ID,
          connectionId: DEMO_CONNECTION_ID,
          customerId: target.customerId,
          customer: { customerName: name },
          forceUpdate: true,
        },
      },
    });
    const key = updated.data!.updateCustomer.pushOperation.pushOperationKey;
    await waitFor(
      async () => {
        const { data: poll } = await client.query({
          query: typed<{ pushOperation: { status: string } }>(gql`
            query Poll($c: ID!, $k: ID!) {
              pushOperation(companyId: $c, pushOperationKey: $k) {
                id
                status
              }
            }
          `),
          variables: { c: DEMO_COMPANY_ID, k: key },
          fetchPolicy: "network-only",
        });
        return poll!.pushOperation.status === "SUCCESS";
      },
      { timeoutMs: 10_000 },
    );

    // Refetch the one customer by its global id: the cache entry every query shares is updated in place.
    await client.query({
      query: gql`
        query One($id: ID!) {
          node(id: $id) {
            id
            ... on Customer {
              customerName
            }
          }
        }
      `,
      variables: { id: target.id },
      fetchPolicy: "network-only",
    });
    const again = client.readQuery<{ a: Page; b: Page }>({
      query: FIRST_CUSTOMERS,
      variables: { a: DEMO_COMPANY_ID, b: SECOND_COMPANY_ID },
    });
    expect(again!.a.nodes[0]!.customerName).toBe(name);
    expect(again!.b.nodes.every((c) => c.customerName !== name)).toBe(true);
  });
});

describe("Apollo Client with relayStylePagination", () => {
  it("pages forward and the field policy merges the edges into one list", async () => {
    const paged = new ApolloClient({
      link: new HttpLink({ uri: stack.url }),
      cache: new InMemoryCache({
        typePolicies: { Query: { fields: { customers: relayStylePagination(["companyId", "query", "orderBy"]) } } },
      }),
    });
    type PageData = { customers: { pageInfo: { endCursor: string }; edges: { node: { customerId: string } }[] } };
    const PAGE = typed<PageData>(gql`
      query Page($companyId: ID!, $after: String) {
        customers(companyId: $companyId, first: 5, after: $after) {
          pageInfo {
            hasNextPage
            endCursor
          }
          edges {
            cursor
            node {
              id
              customerId
            }
          }
        }
      }
    `);
    const first = await paged.query({ query: PAGE, variables: { companyId: DEMO_COMPANY_ID } });
    expect(first.data!.customers.edges).toHaveLength(5);
    // What fetchMore does: the next page's variables; `after` is no key argument, so it merges into the same field.
    await paged.query({
      query: PAGE,
      variables: { companyId: DEMO_COMPANY_ID, after: first.data!.customers.pageInfo.endCursor },
      fetchPolicy: "network-only",
    });
    const cached = paged.readQuery<PageData>({ query: PAGE, variables: { companyId: DEMO_COMPANY_ID } });
    const merged = cached!.customers.edges.map((e) => e.node.customerId);
    expect(merged).toHaveLength(10);
    expect(new Set(merged).size).toBe(10);
    paged.stop();
  });
});
