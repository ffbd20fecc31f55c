/**
 * A customer created through the app, added to the lists already in the cache: one lookup of the new record
 * (`customer`, by id) and a cache edit, instead of refetching every loaded page.
 */
import { isReference, type ApolloClient, type Reference } from "@apollo/client";
import { graphql } from "./__generated__";

const NewCustomerQuery = graphql(`
  query NewCustomer($companyId: ID!, $customerId: ID!) {
    customer(companyId: $companyId, customerId: $customerId) {
      id
      ...CustomerRow_customer
    }
  }
`);

interface StoredConnection {
  edges: { __typename?: string; cursor: string; node: Reference }[];
  totalCount?: number;
}

export async function addCustomerToLists(client: ApolloClient, companyId: string, customerId: string): Promise<void> {
  const { data } = await client.query({ query: NewCustomerQuery, variables: { companyId, customerId }, fetchPolicy: "network-only" });
  const customer = data?.customer;
  if (!customer) return;
  client.cache.modify<{ customers: StoredConnection }>({
    fields: {
      // Every cached list of this company without a search (a search may not match the new customer). Stored
      // under `customers:{"companyId":…,"orderBy":…}` by relayStylePagination's key arguments.
      customers(existing, { storeFieldName, fieldName, toReference }) {
        if (isReference(existing)) return existing;
        const args = JSON.parse(storeFieldName.slice(fieldName.length + 1) || "{}") as { companyId?: string; query?: string };
        if (args.companyId !== companyId || args.query) return existing;
        const node = toReference(customer);
        if (!node || existing.edges.some((edge) => edge.node.__ref === node.__ref)) return existing;
        return {
          ...existing,
          edges: [{ __typename: "CustomerEdge", cursor: "", node }, ...existing.edges],
          ...(existing.totalCount !== undefined ? { totalCount: existing.totalCount + 1 } : {}),
        };
      },
    },
  });
}
