/**
 * The second subgraph of the federation tests: a small invoices service (Apollo Server on loopback port 0) that
 * references Customer by key and adds `Customer.invoiceCount`. Both routers' tests (Apollo Gateway and
 * Grafbase) compose the gateway with it.
 */
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";

export interface InvoiceRecord {
  id: string;
  amount: number;
  companyId: string;
  customerId: string;
}

export const INVOICES_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

  type Query {
    invoices: [Invoice!]!
  }

  type Invoice @key(fields: "id") {
    id: ID!
    amount: Float!
    customer: Customer
  }

  type Customer @key(fields: "companyId customerId") {
    companyId: ID!
    customerId: ID!
    invoiceCount: Int!
  }
`;

export interface InvoicesSubgraph {
  url: string;
  stop(): Promise<void>;
}

export async function startInvoicesSubgraph(invoices: InvoiceRecord[]): Promise<InvoicesSubgraph> {
  const server = new ApolloServer({
    schema: buildSubgraphSchema([
      {
        typeDefs: parse(INVOICES_SDL),
        resolvers: {
          Query: { invoices: () => invoices },
          Invoice: {
            customer: (invoice: InvoiceRecord) => ({
              __typename: "Customer",
              companyId: invoice.companyId,
              customerId: invoice.customerId,
            }),
          },
          Customer: {
            invoiceCount: (customer: { companyId: string; customerId: string }) =>
              invoices.filter((i) => i.customerId === customer.customerId).length,
          },
        },
      },
    ]),
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: "127.0.0.1" } });
  return { url, stop: () => server.stop() };
}
