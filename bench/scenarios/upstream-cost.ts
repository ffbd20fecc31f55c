/**
 * (e) What one Codat call costs, layer by layer (bench/upstream-cost.mjs, in its own process, against the same
 * simulator): undici alone, undici behind a WHATWG Request/Response, ky over that, and the product's client.
 * Printed as µs of CPU per call and as the difference each layer adds.
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DEMO_COMPANY_ID } from "codat-simulator";
import type { Scenario } from "./types.js";

const script = join(dirname(fileURLToPath(import.meta.url)), "..", "upstream-cost.mjs");
const LAYERS = [
  ["undici", "undici Agent.request + JSON.parse"],
  ["+whatwg", "+ WHATWG Request and Response (ky's contract)"],
  ["+ky", "+ ky, configured as the client uses it"],
  ["client", "CodatClient.listCustomers (deadline, slot, retry plan, validation)"],
] as const;

export const upstreamCost: Scenario = {
  id: "upstream-cost",
  title: "(e) CPU per Codat call, layer by layer (20-customer page)",
  async run(ctx) {
    ctx.log("upstream-cost: measuring");
    const { stdout } = await promisify(execFile)(process.execPath, [...ctx.gatewayNodeFlags, script, ctx.simulatorUrl, DEMO_COMPANY_ID], {
      cwd: join(dirname(script), ".."),
    });
    const costs = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Record<(typeof LAYERS)[number][0], number>;
    let previous: number | undefined;
    const rows = LAYERS.map(([key, label]) => {
      const value = costs[key];
      const row = [label, value.toFixed(1), previous === undefined ? "-" : `+${(value - previous).toFixed(1)}`];
      previous = value;
      return row;
    });
    return {
      id: this.id,
      title: this.title,
      status: "ok",
      tables: [{ headers: ["layer", "CPU µs / call", "added by the layer"], rows }],
      targets: [],
      data: costs,
    };
  },
};
