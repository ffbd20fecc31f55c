/**
 * `npm run bench:fairness [-- --per-minute 1000 --tries 20]`: the two figures of issue 27's budget parts, in one
 * process (the gateway from src/ through tsx, the embedded simulator on loopback port 0).
 *
 * 1. Two tenants: tenant B keeps the request budget saturated (4 loops of 50-call operations on one company);
 *    tenant A sends `--tries` ordinary queries (`customers(first: 1)`, one Codat call), one after another with a
 *    200 ms pause; A's latency, median and max, and B's calls sent meanwhile.
 * 2. The burst: 200 concurrent operations of three calls over two companies (600 Codat calls) at 20 ms simulated
 *    latency, no budget: errors, the most in flight per company at the simulator, wall time.
 */
import { parseArgs } from "node:util";
import { DEMO_COMPANY_ID, SECOND_COMPANY_ID, startSimulator } from "codat-simulator";
import { createGateway } from "../src/app.js";
import { parseConfig } from "../src/config.js";
import { createLogger } from "../src/observability/logger.js";

const { values } = parseArgs({ options: { "per-minute": { type: "string", default: "1000" }, tries: { type: "string", default: "20" } } });
const perMinute = Number(values["per-minute"]);
const tries = Number(values.tries);

const ORDINARY = `query($companyId: ID!) { customers(companyId: $companyId, first: 1) { edges { node { id } } } }`;
const THREE_CALLS = `query($companyId: ID!) {
  a: customers(companyId: $companyId, first: 1) { edges { node { id } } }
  b: customers(companyId: $companyId, first: 2) { edges { node { id } } }
  c: customers(companyId: $companyId, first: 3) { edges { node { id } } }
}`;
const many = (calls: number): string =>
  `query($companyId: ID!) { ${Array.from({ length: calls }, (_, i) => `p${i}: customers(companyId: $companyId, first: ${i + 1}) { edges { node { id } } }`).join(" ")} }`;

async function post(url: string, query: string, companyId: string, signal?: AbortSignal): Promise<string[]> {
  const response = await fetch(url, {
    method: "POST",
    signal,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables: { companyId } }),
  });
  const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
  return (body.errors ?? []).map((error) => error.extensions?.code ?? "?");
}

async function stackOf(latencyMs: number, env: Record<string, string>) {
  const simulator = await startSimulator({ latencyMs, maxConcurrentPerCompany: 1_000 });
  const gateway = createGateway(parseConfig({ CODAT_BASE_URL: simulator.url, PORT: "0", HOST: "127.0.0.1", ...env }), {
    logger: createLogger({ level: "silent", pretty: false, secrets: [] }),
    stopGracePeriodMs: 1_000,
  });
  const url = await gateway.listen();
  return {
    simulator,
    gateway,
    url,
    close: async () => {
      await gateway.stop();
      await simulator.close();
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

async function twoTenants(): Promise<void> {
  const stack = await stackOf(0, { CODAT_REQUESTS_PER_MINUTE: String(perMinute) });
  const controller = new AbortController();
  const loops = Array.from({ length: 4 }, async () => {
    while (!controller.signal.aborted) await post(stack.url, many(50), SECOND_COMPANY_ID, controller.signal).catch(() => undefined);
  });
  // B saturates once its calls wait for tokens.
  while (stack.gateway.client.budgetWaiting(SECOND_COMPANY_ID) === 0) await sleep(10);
  await sleep(1_000);
  const latencies: number[] = [];
  const errors: string[] = [];
  const bBefore = stack.simulator.requests.length;
  const began = performance.now();
  for (let i = 0; i < tries; i += 1) {
    const started = performance.now();
    errors.push(...(await post(stack.url, ORDINARY, DEMO_COMPANY_ID)));
    latencies.push(performance.now() - started);
    await sleep(200);
  }
  const seconds = (performance.now() - began) / 1000;
  const sent = stack.simulator.requests.length - bBefore;
  controller.abort();
  await Promise.all(loops);
  await stack.close();
  latencies.sort((a, b) => a - b);
  console.log(
    `two tenants, budget ${perMinute}/min, B saturating: A's latency over ${tries} tries median ${Math.round(percentile(latencies, 0.5))} ms, max ${Math.round(latencies[latencies.length - 1] ?? NaN)} ms, A's errors ${errors.length}; Codat calls meanwhile ${sent} in ${seconds.toFixed(1)} s (${Math.round((sent / seconds) * 60)}/min)`,
  );
}

async function burst(): Promise<void> {
  const stack = await stackOf(20, {});
  const companies = [DEMO_COMPANY_ID, SECOND_COMPANY_ID];
  const started = performance.now();
  const codes = (
    await Promise.all(Array.from({ length: 200 }, (_, i) => post(stack.url, THREE_CALLS, companies[i % 2] ?? DEMO_COMPANY_ID)))
  ).flat();
  const wallMs = performance.now() - started;
  const maxInFlight = Math.max(...companies.map((company) => stack.simulator.maxInFlight(company)));
  const calls = stack.simulator.requests.length;
  await stack.close();
  console.log(
    `burst: 200 operations, ${calls} Codat calls at 20 ms: ${codes.length} errors, max in flight ${maxInFlight} per company, ${Math.round(wallMs)} ms`,
  );
}

await twoTenants();
await burst();
