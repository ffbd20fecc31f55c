/**
 * urql with graphcache's relayPagination against the gateway. urql sends queries as GET by default, which
 * Apollo Server's CSRF prevention refuses unless the request says it is no simple browser form: send the
 * `apollo-require-preflight` header (or turn GET off with `preferGetMethod: false`).
 */
import { Client, fetchExchange, gql } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import { relayPagination } from "@urql/exchange-graphcache/extras";
import { describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";

const stack = useStack();

const PAGE = gql`
  query Page($companyId: ID!, $after: String) {
    customers(companyId: $companyId, first: 5, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          id
          customerId
          customerName
        }
      }
    }
  }
`;

interface PageData {
  customers: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { id: string; customerId: string } }[] };
}

function urql(options: { headers?: Record<string, string>; preferGetMethod?: boolean } = {}) {
  return new Client({
    url: stack.url,
    exchanges: [cacheExchange({ resolvers: { Query: { customers: relayPagination() } } }), fetchExchange],
    ...(options.preferGetMethod === false ? { preferGetMethod: false } : {}),
    fetchOptions: { headers: options.headers ?? {} },
  });
}

describe("urql", () => {
  it("by default (queries as GET, no preflight header) is refused by CSRF prevention, with nothing sent upstream", async () => {
    stack.resetUpstream();
    const result = await urql().query(PAGE, { companyId: DEMO_COMPANY_ID }).toPromise();
    expect(result.error?.message ?? "").toMatch(/Cross-Site Request Forgery/i);
    expect(stack.upstream()).toHaveLength(0);
  });

  for (const [name, options] of [
    ["with the apollo-require-preflight header (GET)", { headers: { "apollo-require-preflight": "true" } }],
    ["with preferGetMethod: false (POST)", { preferGetMethod: false }],
  ] as const) {
    it(`${name}: pages forward, graphcache's relayPagination merging the pages`, async () => {
      const client = urql(options);
      const first = await client.query<PageData>(PAGE, { companyId: DEMO_COMPANY_ID }).toPromise();
      expect(first.error).toBeUndefined();
      expect(first.data!.customers.edges).toHaveLength(5);
      const second = await client
        .query<PageData>(PAGE, { companyId: DEMO_COMPANY_ID, after: first.data!.customers.pageInfo.endCursor })
        .toPromise();
      expect(second.error).toBeUndefined();
      // relayPagination concatenates the pages into one list for the field.
      const merged = second.data!.customers.edges.map((e) => e.node.customerId);
      expect(merged).toHaveLength(10);
      expect(new Set(merged).size).toBe(10);
      expect(merged.slice(0, 5)).toEqual(first.data!.customers.edges.map((e) => e.node.customerId));
    });
  }
});
