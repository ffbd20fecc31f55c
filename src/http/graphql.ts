/**
 * The /graphql endpoint: the gateway's HTTP-level guards, in order, then Apollo Server through its generic
 * executeHTTPGraphQLRequest integration API (which keeps per-request overhead low).
 *
 *   CORS preflight → router secret (ROUTER_SECRET) → caller authentication (401) → body size (413)
 *   → trusted documents (PERSISTED_OPERATIONS) → Apollo (CSRF prevention, parse with a token limit,
 *   validation, operation limits, execution with the caller's scoped context)
 *
 * Every refusal happens before any upstream call.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer } from "@apollo/server";
import { AuthenticationError, type Caller } from "../auth/caller.js";
import type { GatewayContext } from "../context.js";
import type { TrustedDocuments } from "../security/trusted-documents.js";
import type { Cors } from "./cors.js";
import { readBody, BodyTooLarge, sendJson } from "./respond.js";

export interface GraphQLEndpointOptions {
  /** A getter: Apollo's drain plugin needs the HTTP server before Apollo exists. */
  apollo: () => ApolloServer<GatewayContext>;
  context: (caller: Caller) => Promise<GatewayContext>;
  /** Resolves the caller from the request, or throws AuthenticationError. */
  authenticate: (req: IncomingMessage) => Promise<Caller>;
  cors: Cors;
  maxBodyBytes: number;
  /** When set, GraphQL requests without this header and value are refused (the router-only subgraph mode). */
  requiredHeader?: { header: string; value: string } | undefined;
  trustedDocuments?: TrustedDocuments | undefined;
  /** Whether the Sandbox landing page is served (outside production, or GRAPHQL_INTROSPECTION=true). */
  landingPage: boolean;
}

const graphqlError = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

function hasRequiredHeader(req: IncomingMessage, required: { header: string; value: string }): boolean {
  const given = req.headers[required.header];
  if (typeof given !== "string") return false;
  // Hashing first gives equal lengths, so the comparison leaks nothing about the secret's length.
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(required.value).digest();
  return timingSafeEqual(a, b);
}

/**
 * A browser asking for the landing page: static HTML, served without credentials. Only a bare GET qualifies —
 * any query string could name an operation (`query`, `documentId`, or an automatic persisted query hash in
 * `extensions`), and operations always need a caller.
 */
function wantsLandingPage(req: IncomingMessage, url: URL, enabled: boolean): boolean {
  return enabled && req.method === "GET" && url.search === "" && (req.headers.accept ?? "").includes("text/html");
}

export async function handleGraphQL(req: IncomingMessage, res: ServerResponse, url: URL, options: GraphQLEndpointOptions): Promise<void> {
  const cors = options.cors.headers(req);
  if (req.method === "OPTIONS") {
    const preflight = options.cors.preflight(req);
    res.writeHead(preflight.status, { ...preflight.headers, "content-length": "0" });
    res.end();
    return;
  }

  const fromRouter = options.requiredHeader !== undefined && hasRequiredHeader(req, options.requiredHeader);
  if (options.requiredHeader && !fromRouter) {
    // In router-only mode nothing, not even the landing page, is served to anyone else.
    sendJson(res, 401, graphqlError("This subgraph only accepts requests from its router.", "UNAUTHENTICATED"), cors);
    return;
  }

  let caller: Caller | undefined;
  if (!wantsLandingPage(req, url, options.landingPage)) {
    try {
      caller = await options.authenticate(req);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      sendJson(res, 401, graphqlError(error.message, "UNAUTHENTICATED"), { ...cors, "www-authenticate": 'Bearer realm="codat-gateway"' });
      return;
    }
  }

  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  let body: unknown = undefined;
  let search = url.search;
  if (req.method === "POST") {
    let text: string;
    try {
      text = await readBody(req, options.maxBodyBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      sendJson(res, 413, graphqlError(`Request body larger than ${options.maxBodyBytes} bytes.`, "BAD_USER_INPUT"), {
        ...cors,
        connection: "close",
      });
      return;
    }
    const type = headers.get("content-type") ?? "";
    if (type.startsWith("application/json") || type.startsWith("application/graphql-response+json")) {
      try {
        body = text.length > 0 ? JSON.parse(text) : undefined;
      } catch {
        sendJson(res, 400, graphqlError("Request body is not valid JSON.", "BAD_REQUEST"), cors);
        return;
      }
    } else {
      body = text;
    }
  }

  // Routers send their own operations (`_entities`, query plans), so they are exempt from the manifest; a listed
  // documentId they pass on from a client still resolves.
  if (options.trustedDocuments && caller !== undefined) {
    const trusted = applyTrustedDocument(options.trustedDocuments, req.method, body, url);
    if (trusted) {
      ({ body, search } = trusted);
    } else if (!fromRouter) {
      sendJson(
        res,
        400,
        graphqlError("Only trusted documents may run on this gateway: send a listed documentId.", "PERSISTED_QUERY_NOT_FOUND"),
        cors,
      );
      return;
    }
  }

  const response = await options.apollo().executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? "GET", headers, search, body },
    // The landing page needs no context; any operation has a caller by now.
    context: () => options.context(caller ?? { id: null, companies: new Set() }),
  });
  const outHeaders: Record<string, string> = { ...cors };
  for (const [name, value] of response.headers) outHeaders[name] = value;
  if (response.body.kind === "complete") {
    outHeaders["content-length"] = String(Buffer.byteLength(response.body.string));
    res.writeHead(response.status ?? 200, outHeaders);
    res.end(response.body.string);
    return;
  }
  res.writeHead(response.status ?? 200, outHeaders);
  for await (const chunk of response.body.asyncIterator) {
    if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
  }
  res.end();
}

/** Replaces the request's document by the listed one; undefined when the request names no listed document. */
function applyTrustedDocument(
  documents: TrustedDocuments,
  method: string | undefined,
  body: unknown,
  url: URL,
): { body: unknown; search: string } | undefined {
  if (method === "POST") {
    if (body === null || typeof body !== "object" || Array.isArray(body)) return undefined;
    const { documentId, extensions, query, ...rest } = body as Record<string, unknown>;
    const document = documents.resolve({ documentId, query, extensions });
    if (document === undefined) return undefined;
    const { persistedQuery: _hash, ...otherExtensions } = (extensions ?? {}) as Record<string, unknown>;
    return { body: { ...rest, query: document, extensions: otherExtensions }, search: url.search };
  }
  const params = new URLSearchParams(url.search);
  let extensions: unknown;
  try {
    extensions = params.has("extensions") ? JSON.parse(params.get("extensions") ?? "") : undefined;
  } catch {
    return undefined;
  }
  const document = documents.resolve({
    documentId: params.get("documentId") ?? undefined,
    query: params.get("query") ?? undefined,
    extensions,
  });
  if (document === undefined) return undefined;
  params.delete("documentId");
  params.delete("extensions");
  params.set("query", document);
  return { body: undefined, search: `?${params.toString()}` };
}
