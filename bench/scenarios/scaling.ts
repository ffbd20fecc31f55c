/**
 * (d) How the gateway's CPU grows with the work in one operation: pages of 20, 100 and 500 customers, and 10, 50
 * and 200 customers looked up by id (aliased `customer` fields, ids as variables), each through the gateway and
 * the minimal Apollo Server baseline, over the simulator's 1,000-customer scale company. CPU per item should stay
 * flat (or fall) as the operation grows: linear work, no per-item cost that grows with the batch.
 *
 * The gateway runs with higher operation limits than the defaults (200 aliases exceed MAX_ALIASES=100), as an
 * operator who needs such operations would configure it.
 */
import { SCALE_COMPANY_ID } from "codat-simulator";
import { getJson, HttpClient, postJson } from "../lib/http.js";
import { closedLoop, graphqlSide, type Side } from "../lib/pair.js";
import { readCpuMs } from "../lib/proc.js";
import { manyCustomersQuery } from "./customers-by-id.js";
import type { Scenario, Table } from "./types.js";

export const PAGE_SIZES = [20, 100, 500] as const;
export const LOOKUP_COUNTS = [10, 50, 200] as const;

const pageQuery = (first: number) => `query Page($companyId: ID!) {
  customers(companyId: $companyId, first: ${first}) { edges { node { id customerName status addresses { city } } } }
}`;

interface Measured {
  opsPerSecond: number;
  cpuMsPerOp: number;
}

export const scaling: Scenario = {
  id: "scaling",
  title: "(d) CPU per item as operations grow",
  gatewayEnv: { MAX_ALIASES: "500", MAX_TOKENS: "50000", MAX_QUERY_COST: "1000000" },
  async run(ctx) {
    const setup = new HttpClient(1);
    const all = JSON.parse(
      (await setup.send(getJson(`${ctx.simulatorUrl}/companies/${SCALE_COMPANY_ID}/data/customers?page=1&pageSize=500`))).toString("utf8"),
    ) as { results: { id: string }[] };
    setup.close();
    const ids = all.results.map((c) => c.id);

    const cases = [
      ...PAGE_SIZES.map((n) => ({
        label: `page of ${n}`,
        items: n,
        body: { operationName: "Page", query: pageQuery(n), variables: { companyId: SCALE_COMPANY_ID } },
      })),
      ...LOOKUP_COUNTS.map((n) => {
        const variables: Record<string, string> = { companyId: SCALE_COMPANY_ID };
        ids.slice(0, n).forEach((id, i) => (variables[`id${i}`] = id));
        return { label: `${n} by id`, items: n, body: { operationName: "ManyCustomers", query: manyCustomersQuery(n), variables } };
      }),
    ];
    const durationMs = Math.min(ctx.settings.durationMs, 2_000);
    const measure = async (side: Side, pid: number): Promise<Measured> => {
      const client = new HttpClient(ctx.settings.concurrency);
      // A full second: the first case runs on a fresh gateway, whose JIT would otherwise be measured warming up.
      const warm = await closedLoop(side.operation, client, ctx.settings.concurrency, 1_000, false);
      if (warm.failed > 0) throw new Error(warm.firstError ?? "operation failed");
      const cpu0 = readCpuMs(pid);
      const run = await closedLoop(side.operation, client, ctx.settings.concurrency, durationMs, true);
      const cpu1 = readCpuMs(pid);
      client.close();
      if (run.failed > 0) throw new Error(run.firstError ?? "operation failed");
      return { opsPerSecond: run.samples.length / (run.elapsedMs / 1000), cpuMsPerOp: (cpu1 - cpu0) / Math.max(1, run.samples.length) };
    };

    const rows: string[][] = [];
    const data: Record<string, { items: number; gateway: Measured; baseline: Measured }> = {};
    for (const c of cases) {
      ctx.log(`scaling: ${c.label}`);
      const gateway = await measure(graphqlSide(postJson(ctx.graphqlUrl, c.body)), ctx.gateway.pid);
      const baseline = await measure(graphqlSide(postJson(ctx.baseline.info.url, c.body)), ctx.baseline.pid);
      data[c.label] = { items: c.items, gateway, baseline };
      const perItem = (m: Measured) => ((m.cpuMsPerOp * 1000) / c.items).toFixed(1);
      rows.push([
        c.label,
        gateway.opsPerSecond.toFixed(0),
        gateway.cpuMsPerOp.toFixed(2),
        perItem(gateway),
        perItem(baseline),
        (gateway.cpuMsPerOp / baseline.cpuMsPerOp).toFixed(2),
      ]);
    }
    const table: Table = {
      headers: ["operation", "gateway ops/s", "gateway CPU ms/op", "gateway µs/item", "baseline µs/item", "gateway ÷ baseline CPU"],
      rows,
    };
    return { id: this.id, title: this.title, status: "ok", tables: [table], targets: [], data: { durationMs, cases: data } };
  },
};
