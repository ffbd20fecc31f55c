/**
 * The frontend recipe for a write's outcome without polling: Apollo Client 4 with a split link — queries and
 * mutations over HttpLink, subscriptions over GraphQLWsLink (graphql-ws) on the same /graphql URL. The client
 * creates a customer, subscribes to `pushOperationUpdated` and receives SUCCESS; it never sends a
 * `pushOperation` query (every HTTP request it makes is counted).
 */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql, type TypedDocumentNode } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import { Kind, OperationTypeNode, type DocumentNode } from "graphql";
import { firstValueFrom, filter, toArray } from "rxjs";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";

const typed = <T, V extends Record<string, unknown>>(document: DocumentNode) => document as TypedDocumentNode<T, V>;

// Codat completes the push after 50 ms; the gateway polls from 20 ms (no webhook configured).
const stack = useStack({
  simulator: { pushDelayMs: 50 },
  env: { PUSH_STATUS_POLL_INTERVAL_MS: "20", PUSH_STATUS_POLL_MAX_INTERVAL_MS: "100" },
});

/** Every HTTP request the client's HttpLink sent: its operation name. */
const httpOperations: string[] = [];
let client: ApolloClient;
let wsClient: ReturnType<typeof createClient>;
beforeAll(() => {
  const httpLink = new HttpLink({
    uri: stack.url,
    fetch: async (input, init) => {
      const body = JSON.parse(typeof init?.body === "string" ? init.body : "{}") as { operationName?: string; query?: string };
      httpOperations.push(body.operationName ?? "(anonymous)");
      return fetch(input, init);
    },
  });
  wsClient = createClient({
    url: stack.url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    // The browser's token goes here, not in a header (a browser WebSocket cannot set one).
    connectionParams: { authorization: "Bearer token-from-your-auth" },
  });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === Kind.OPERATION_DEFINITION && definition.operation === OperationTypeNode.SUBSCRIPTION;
    },
    new GraphQLWsLink(wsClient),
    httpLink,
  );
  client = new ApolloClient({ link, cache: new InMemoryCache() });
});
afterAll(async () => {
  client.stop();
  await wsClient.dispose();
});

const CREATE = typed<
  { createCustomer: { pushOperation: { id: string; pushOperationKey: string; status: string } } },
  { input: Record<string, unknown> }
>(gql`
  mutation CreateCustomer($input: CreateCustomerInput!) {
    createCustomer(input: $input) {
      pushOperation {
        id
        pushOperationKey
        status
      }
    }
  }
`);

type Update = { pushOperationUpdated: { id: string; status: string; statusCode: number; completedOnUtc: string | null } };
const UPDATED = typed<Update, { companyId: string; key: string }>(gql`
  subscription PushOperationUpdated($companyId: ID!, $key: ID!) {
    pushOperationUpdated(companyId: $companyId, pushOperationKey: $key) {
      id
      status
      statusCode
      completedOnUtc
    }
  }
`);

describe("Apollo Client with GraphQLWsLink", () => {
  it("learns a create's SUCCESS from the subscription, without one pushOperation query", async () => {
    const created = await client.mutate({
      mutation: CREATE,
      variables: { input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: { customerName: "Realtime Ltd" } } },
    });
    const operation = created.data!.createCustomer.pushOperation;
    expect(operation.status).toBe("PENDING");

    const updates = await firstValueFrom(
      client.subscribe({ query: UPDATED, variables: { companyId: DEMO_COMPANY_ID, key: operation.pushOperationKey } }).pipe(
        filter((result) => result.data !== undefined),
        toArray(),
      ),
    );
    const last = updates.at(-1)!;
    expect(last.error).toBeUndefined();
    expect(last.data!.pushOperationUpdated).toMatchObject({ id: operation.id, status: "SUCCESS", statusCode: 200 });
    // The first state may already be the final one (the push can finish before the subscription starts).
    expect(
      updates
        .map((u) => u.data!.pushOperationUpdated.status)
        .filter((s) => s !== "SUCCESS")
        .every((s) => s === "PENDING"),
    ).toBe(true);
    // The normalised cache entry of the operation is updated in place by the subscription.
    expect((client.cache.extract() as Record<string, unknown>)[`PushOperation:${operation.id}`]).toMatchObject({ status: "SUCCESS" });

    expect(httpOperations).toEqual(["CreateCustomer"]);
    const posts = stack.upstream().filter((r) => r.method === "POST");
    expect(posts).toHaveLength(1);
  });
});
