/**
 * The gateway's offline explorer: GraphiQL 4 (CodeMirror 5) with React, bundled by scripts/build-explorer.mjs into
 * dist/explorer/ and served by the gateway at /graphiql (src/http/explorer.ts) under a strict Content-Security-Policy:
 * this file and the stylesheets are the page's only code, and nothing is fetched from anywhere but the gateway.
 *
 * The endpoint and the WebSocket URL come from the page's own location (`graphql` next to it), so the same build works
 * on loopback, behind a proxy and under a path prefix. Queries and mutations go over HTTP with the headers editor's
 * headers (an `Authorization: Bearer …` there reaches the gateway) and the CSRF-prevention header Apollo asks
 * browsers for; subscriptions go over graphql-ws, with the same headers as the connection's parameters (the gateway
 * reads `authorization` from them).
 */
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "graphiql/style.css";
import "./explorer.css";

const endpoint = new URL("graphql", window.location.href);
endpoint.search = "";
endpoint.hash = "";
const subscriptionUrl = new URL(endpoint);
subscriptionUrl.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

const fetcher = createGraphiQLFetcher({
  url: endpoint.href,
  subscriptionUrl: subscriptionUrl.href,
  // Apollo's CSRF prevention: JSON bodies already pass it; the header makes every request pass it, whatever its type.
  headers: { "apollo-require-preflight": "true" },
  // The gateway answers no incremental delivery (@defer/@stream): plain JSON responses.
  enableIncrementalDelivery: false,
});

const DEFAULT_QUERY = `# GraphiQL, served by the gateway: works offline.
# Ctrl-Enter runs the operation. Headers, e.g.
# {"Authorization": "Bearer <token>"}, go in the
# Headers tab below (subscriptions send them too).
#
# The embedded simulator's demo company:
query FirstPage {
  customers(companyId: "8a210b68-6988-11ed-a1eb-0242ac120002", first: 5) {
    totalCount
    pageInfo {
      hasNextPage
      endCursor
    }
    nodes {
      id
      customerName
      status
    }
  }
}
`;

const root = document.getElementById("root");
if (!root) throw new Error("the page has no #root element");
createRoot(root).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} isHeadersEditorEnabled shouldPersistHeaders={false} />
  </StrictMode>,
);
