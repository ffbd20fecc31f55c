/**
 * (b) 50 customers by id: one GraphQL operation with 50 aliased `customer(companyId, id)` fields vs what a careful
 * REST client does for the same data — list calls with `query=id=a||id=b||…`, each query under Codat's
 * 2048-character limit, sent in parallel.
 */
import { AWKWARD_CUSTOMER_ID, DEMO_COMPANY_ID } from "codat-simulator";
import { getJson, HttpClient, postJson } from "../lib/http.js";
import { graphqlSide, runPair } from "../lib/pair.js";
import { MAX_PEAK_RSS_MB } from "./customers-page.js";
import { target, type Scenario } from "./types.js";

export const CUSTOMER_COUNT = 50;
/** Target: upstream calls per 50-customer operation through the gateway. */
export const MAX_UPSTREAM_CALLS_PER_OP = 2;
/** Target: gateway CPU per customer looked up, µs (the operation's CPU under load ÷ ids). */
export const MAX_CPU_PER_ID_US = 60;
/** Codat rejects `query` values of 2048 characters or more. */
const MAX_QUERY_LENGTH = 2047;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Greedy split of ids into `id=a||id=b||…` expressions under the length limit. */
export function idQueries(ids: readonly string[]): string[] {
  const queries: string[] = [];
  let current = "";
  for (const id of ids) {
    const term = `id=${id}`;
    if (current !== "" && current.length + 2 + term.length > MAX_QUERY_LENGTH) {
      queries.push(current);
      current = "";
    }
    current = current === "" ? term : `${current}||${term}`;
  }
  if (current !== "") queries.push(current);
  return queries;
}

export function manyCustomersQuery(count: number): string {
  const vars = Array.from({ length: count }, (_, i) => `$id${i}: ID!`).join(", ");
  const fields = Array.from(
    { length: count },
    (_, i) => `  c${i}: customer(companyId: $companyId, customerId: $id${i}) { customerId customerName status }`,
  ).join("\n");
  return `query ManyCustomers($companyId: ID!, ${vars}) {\n${fields}\n}`;
}

export const customersById: Scenario = {
  id: "customers-by-id",
  title: `(b) ${CUSTOMER_COUNT} customers by id`,
  async run(ctx) {
    // The ids: the first 50 UUID ids of the demo company, in Codat's order (deterministic demo data).
    const setup = new HttpClient(1);
    const all = JSON.parse(
      (await setup.send(getJson(`${ctx.simulatorUrl}/companies/${DEMO_COMPANY_ID}/data/customers?page=1&pageSize=500`))).toString("utf8"),
    ) as {
      results: { id: string }[];
    };
    setup.close();
    const ids = all.results
      .map((c) => c.id)
      .filter((id) => id !== AWKWARD_CUSTOMER_ID && UUID.test(id))
      .slice(0, CUSTOMER_COUNT);
    if (ids.length !== CUSTOMER_COUNT) throw new Error(`the demo company has only ${ids.length} UUID customer ids`);

    const variables: Record<string, string> = { companyId: DEMO_COMPANY_ID };
    ids.forEach((id, i) => (variables[`id${i}`] = id));
    const graphql = postJson(ctx.graphqlUrl, { operationName: "ManyCustomers", query: manyCustomersQuery(CUSTOMER_COUNT), variables });
    const baselineRequest = postJson(ctx.baseline.info.url, {
      operationName: "ManyCustomers",
      query: manyCustomersQuery(CUSTOMER_COUNT),
      variables,
    });
    const queries = idQueries(ids);
    const restCalls = queries.map((query) =>
      getJson(
        `${ctx.simulatorUrl}/companies/${DEMO_COMPANY_ID}/data/customers?page=1&pageSize=${query.split("||").length}&query=${encodeURIComponent(query)}`,
      ),
    );

    const { scenario } = await runPair(ctx, {
      id: this.id,
      title: this.title,
      gateway: graphqlSide(graphql),
      baseline: graphqlSide(baselineRequest),
      direct: {
        fanout: restCalls.length,
        operation: (client) => Promise.all(restCalls.map((call) => client.send(call))),
      },
      verify([gatewayBody], directBodies) {
        const data = (JSON.parse(gatewayBody!.toString("utf8")) as { data?: Record<string, { customerId: string } | null> }).data ?? {};
        const direct = new Set(
          directBodies.flatMap((b) => (JSON.parse(b.toString("utf8")) as { results: { id: string }[] }).results.map((c) => c.id)),
        );
        for (const [i, id] of ids.entries()) {
          if (data[`c${i}`]?.customerId !== id) return `gateway alias c${i} is ${JSON.stringify(data[`c${i}`] ?? null)}, expected ${id}`;
          if (!direct.has(id)) return `direct REST calls did not return ${id}`;
        }
        if (direct.size !== ids.length) return `direct REST calls returned ${direct.size} customers, expected ${ids.length}`;
        return undefined;
      },
      targets(r) {
        return [
          target("gateway upstream calls per operation", r.gateway.upstreamCallsPerOp, "<=", MAX_UPSTREAM_CALLS_PER_OP, "calls"),
          target(
            "gateway CPU per id under load",
            (r.gateway.load.gatewayCpuMsPerOp * 1000) / CUSTOMER_COUNT,
            "<=",
            MAX_CPU_PER_ID_US,
            "µs",
            r.baseline ? `baseline ${((r.baseline.gatewayCpuMsPerOp * 1000) / CUSTOMER_COUNT).toFixed(1)} µs` : undefined,
          ),
          target("gateway peak RSS under load", r.gatewayMemory.peakRssBytes / (1024 * 1024), "<=", MAX_PEAK_RSS_MB, "MB"),
        ];
      },
      details: { ids, restQueries: queries.length, queryLengths: queries.map((q) => q.length) },
    });
    return scenario;
  },
};
