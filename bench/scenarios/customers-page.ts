/**
 * (a) The first 20-customer page of the demo company: the README's `FirstPage` query through the gateway vs
 * `GET /companies/{id}/data/customers?page=1&pageSize=20` on the simulator.
 */
import { DEMO_COMPANY_ID } from "codat-simulator";
import { getJson, postJson } from "../lib/http.js";
import { graphqlSide, runPair } from "../lib/pair.js";
import { target, type Scenario } from "./types.js";

/** Target: the gateway adds at most this much to the direct p50 (concurrency 1, no simulated latency). */
export const MAX_ADDED_P50_MS = 1;
export const MAX_PEAK_RSS_MB = 256;
/** Target: the gateway's page throughput against the minimal Apollo Server baseline (median of the rounds). */
export const MIN_BASELINE_THROUGHPUT_RATIO = 0.8;

export const FIRST_PAGE_QUERY = `query FirstPage($companyId: ID!) {
  customers(companyId: $companyId, first: 20) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id customerId customerName status
        addresses { type city }
        contacts { name phone { number type } }
      }
    }
  }
}`;

interface FirstPageData {
  data?: { customers?: { totalCount: number; pageInfo: { hasNextPage: boolean }; edges: { node: { id: string; customerId: string } }[] } };
}
interface CodatPage {
  totalResults: number;
  results: { id: string }[];
}

export const customersPage: Scenario = {
  id: "customers-page",
  title: "(a) 20-customer page",
  async run(ctx) {
    const graphql = postJson(ctx.graphqlUrl, {
      operationName: "FirstPage",
      query: FIRST_PAGE_QUERY,
      variables: { companyId: DEMO_COMPANY_ID },
    });
    const baselineRequest = postJson(ctx.baseline.info.url, {
      operationName: "FirstPage",
      query: FIRST_PAGE_QUERY,
      variables: { companyId: DEMO_COMPANY_ID },
    });
    const rest = getJson(`${ctx.simulatorUrl}/companies/${DEMO_COMPANY_ID}/data/customers?page=1&pageSize=20`);
    const { scenario } = await runPair(ctx, {
      id: this.id,
      title: this.title,
      gateway: graphqlSide(graphql),
      baseline: graphqlSide(baselineRequest),
      direct: {
        fanout: 1,
        async operation(client) {
          return [await client.send(rest)];
        },
      },
      verify([gatewayBody], [directBody]) {
        const g = (JSON.parse(gatewayBody!.toString("utf8")) as FirstPageData).data?.customers;
        const d = JSON.parse(directBody!.toString("utf8")) as CodatPage;
        if (!g) return "gateway answered no data";
        const gIds = g.edges.map((e) => e.node.customerId).join(",");
        const dIds = d.results.map((c) => c.id).join(",");
        if (g.edges.length !== 20) return `gateway returned ${g.edges.length} customers, expected 20`;
        if (gIds !== dIds) return "customer ids differ";
        if (g.totalCount !== d.totalResults) return `totalCount ${g.totalCount} vs totalResults ${d.totalResults}`;
        if (!g.pageInfo.hasNextPage) return "hasNextPage should be true";
        return undefined;
      },
      targets(r) {
        const latencyNote =
          ctx.settings.simulatorLatencyMs === 0
            ? undefined
            : `measured with ${ctx.settings.simulatorLatencyMs} ms simulated latency; the target assumes 0`;
        return [
          target("added p50 latency, c=1", r.addedP50Ms, "<=", MAX_ADDED_P50_MS, "ms", latencyNote),
          target(
            "gateway / baseline ops/s (median of rounds)",
            r.baselineRatios?.opsPerSecond.median ?? Number.NaN,
            ">=",
            MIN_BASELINE_THROUGHPUT_RATIO,
            "×",
            r.baselineRatios
              ? `range ${r.baselineRatios.opsPerSecond.min.toFixed(2)}–${r.baselineRatios.opsPerSecond.max.toFixed(2)}`
              : undefined,
          ),
          target("gateway peak RSS under load", r.gatewayMemory.peakRssBytes / (1024 * 1024), "<=", MAX_PEAK_RSS_MB, "MB"),
        ];
      },
      details: { query: FIRST_PAGE_QUERY, restPath: rest.options.path },
    });
    return scenario;
  },
};
