/**
 * The Apollo Client of the app: one cache, and one chain of links for HTTP (queries, mutations) and WebSocket
 * (subscriptions), both on the page's own origin (Vite's proxy in development, the same host in production).
 */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { relayStylePagination } from "@apollo/client/utilities";
import { OperationTypeNode, type DocumentNode } from "graphql";
import { createClient, type Client } from "graphql-ws";
import { currentToken } from "./auth";

const httpUrl = new URL("/graphql", window.location.href).href;
const wsUrl = httpUrl.replace(/^http/, "ws");

/**
 * Documents from the client preset carry their hash (`__meta__.hash`, the key of persisted-documents.json). With
 * PERSISTED_OPERATIONS the gateway runs only those: the app sends the hash alone. A gateway that does not know the
 * hash answers PERSISTED_QUERY_NOT_FOUND once, and from then on the app sends the full text.
 */
const persisted = new PersistedQueryLink({
  generateHash: (document: DocumentNode) => {
    const hash = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
    if (hash === undefined) throw new Error("a document without a persisted hash: write it with the generated graphql()");
    return hash;
  },
  disable: ({ meta }) => meta.persistedQueryNotFound || meta.persistedQueryNotSupported,
});

/** The bearer token on every HTTP request (the gateway's AUTH_MODE decides whether one is needed). */
const auth = new SetContextLink((context) => {
  const token = currentToken();
  const headers = context["headers"] as Record<string, string> | undefined;
  return { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } };
});

// CSRF prevention: Apollo's HttpLink POSTs `content-type: application/json`, a header no HTML form can send, so
// the gateway's csrfPrevention lets it through. (A GET would need `apollo-require-preflight`; see docs/frontend.md.)
const http = new HttpLink({ uri: httpUrl });

/**
 * graphql-ws, the token in connection_init. When the persisted-query link put a hash in the operation's
 * extensions, the text stays off the wire (the gateway takes the hash from `extensions.persistedQuery`).
 */
function wsClient(): Client {
  const client = createClient({
    url: wsUrl,
    lazy: true,
    connectionParams: () => {
      const token = currentToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
  });
  return {
    ...client,
    subscribe: (payload, sink) => client.subscribe(payload.extensions?.["persistedQuery"] ? { ...payload, query: "" } : payload, sink),
  };
}

const isSubscription = ({ operationType }: ApolloLink.Operation) => operationType === OperationTypeNode.SUBSCRIPTION;

export function createApolloClient(): ApolloClient {
  return new ApolloClient({
    link: ApolloLink.from([auth, persisted, ApolloLink.split(isSubscription, new GraphQLWsLink(wsClient()), http)]),
    cache: new InMemoryCache({
      typePolicies: {
        Query: {
          fields: {
            // One infinite list per company, search and sort; pages merge by cursor. Customers normalise by their
            // global `id` (every Node has one), so no keyFields are needed.
            customers: relayStylePagination(["companyId", "query", "orderBy"]),
          },
        },
        // Value objects without ids: stored inside their customer, not normalised.
        Address: { keyFields: false },
        Contact: { keyFields: false },
        PushOption: { keyFields: false },
      },
    }),
  });
}
