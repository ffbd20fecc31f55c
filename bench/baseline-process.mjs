/**
 * The floor the gateway is measured against (issue 12): a minimal Apollo Server 5 over the same SDL (schema/),
 * cache control off, an undici Pool to the simulator, and the same DataLoader batching for customers by id
 * (`id=a||id=b` list calls). No auth, limits, retries, cursors signing or shape checks: what the stack costs.
 * Started by bench/run.ts like gateway-process.mjs; prints `{"ready":true,"pid":…,"url":…}`.
 */
import { createServer } from "node:http";
import { ApolloServer, HeaderMap } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { buildSubgraphSchema } from "@apollo/subgraph";
import DataLoader from "dataloader";
import { parse } from "graphql";
import { Pool } from "undici";
import { loadTypeDefs } from "../dist/schema.js";

const baseUrl = process.argv[2];
if (!baseUrl) throw new Error("usage: baseline-process.mjs <codat base url>");
const pool = new Pool(baseUrl, { connections: 32 });
const getJson = async (path) => {
  const { statusCode, body } = await pool.request({ method: "GET", path, headers: { accept: "application/json" } });
  const text = await body.text();
  if (statusCode !== 200) throw new Error(`HTTP ${statusCode}`);
  return JSON.parse(text);
};
const list = (companyId, params) => getJson(`/companies/${companyId}/data/customers?${new URLSearchParams(params)}`);

// Codat's enum values ("Active", "Billing", "Primary") in the schema's spelling, as the gateway's resolvers do.
const upper = (field) => (parent) => (parent[field] == null ? "UNKNOWN" : String(parent[field]).toUpperCase());
const resolvers = {
  // Codat's id as customerId; the global Node id is the same object identification the gateway does, minus nothing.
  Customer: {
    status: upper("status"),
    customerId: (c) => c.id,
    id: (c) => Buffer.from(JSON.stringify(["Customer", c.companyId, c.id])).toString("base64url"),
  },
  Address: { type: upper("type") },
  PhoneNumber: { type: upper("type") },
  Query: {
    customers: async (_p, { companyId, first }) => {
      const page = await list(companyId, { page: 1, pageSize: first ?? 20 });
      const edges = page.results.map((node, i) => ({ cursor: String(i), node }));
      return {
        edges,
        nodes: edges.map((e) => e.node),
        totalCount: page.totalResults,
        pageInfo: {
          hasNextPage: edges.length < page.totalResults,
          hasPreviousPage: false,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
      };
    },
    customer: (_p, { companyId, customerId }, ctx) => ctx.customer.load(`${companyId} ${customerId}`),
  },
};
const loader = () =>
  new DataLoader(async (keys) => {
    const [companyId] = keys[0].split(" ");
    const ids = keys.map((k) => k.split(" ")[1]);
    const chunks = [];
    for (let i = 0; i < ids.length; i += 40) chunks.push(ids.slice(i, i + 40));
    const pages = await Promise.all(
      chunks.map((c) => list(companyId, { page: 1, pageSize: c.length, query: c.map((id) => `id=${id}`).join("||") })),
    );
    const byId = new Map(pages.flatMap((p) => p.results).map((c) => [c.id, c]));
    return ids.map((id) => byId.get(id) ?? null);
  });

const apollo = new ApolloServer({
  schema: buildSubgraphSchema([{ typeDefs: parse(loadTypeDefs()), resolvers }]),
  plugins: [ApolloServerPluginCacheControlDisabled()],
});
await apollo.start();
const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method, headers, search: "", body: JSON.parse(Buffer.concat(chunks).toString("utf8")) },
      context: async () => ({ customer: loader() }),
    });
    res.statusCode = result.status ?? 200;
    for (const [k, v] of result.headers) res.setHeader(k, v);
    res.end(result.body.kind === "complete" ? result.body.string : "");
  });
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/graphql`;
process.on("message", (request) => {
  if (typeof request !== "object" || request === null || typeof request.id !== "number") return;
  if (request.type === "stop") {
    process.send?.({ id: request.id, ok: true, result: null });
    setImmediate(() => process.exit(0));
  } else process.send?.({ id: request.id, ok: true, result: process.memoryUsage() });
});
process.on("disconnect", () => process.exit(0));
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, url })}\n`);
