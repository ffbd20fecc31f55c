/**
 * What one Codat call costs the gateway's process, layer by layer, for the 20-customer page (26 KB of JSON):
 *
 *   undici      Agent.request + body.text() + JSON.parse — the floor of any Node HTTP client
 *   +whatwg     the same wrapped as fetch wraps it: a WHATWG Request in, a Response with its body out (what ky needs)
 *   +ky         ky over that transport, configured as the client configures it (instance headers, no ky timeout,
 *               a retry limit, per-call retry functions and fetch; no signal without a caller's)
 *   client      CodatClient.listCustomers: ky + the call's deadline, company slot, retry plan, validation
 *
 * Each variant runs 10 concurrent loops of calls against the simulator; CPU is this process's own
 * (process.cpuUsage) per call, after a warm-up. Run by bench/run.ts (scenario `upstream-cost`) as
 * `node bench/upstream-cost.mjs <simulator url> <company id> [calls]`; prints one JSON line
 * `{ "variant": µs per call, … }`. Variants alternate over rounds and each reports its median round.
 */
import ky from "ky";
import { Agent } from "undici";
import { CodatClient } from "../dist/codat/client.js";

const [baseUrl, companyId, callsText = "4000"] = process.argv.slice(2);
if (!baseUrl || !companyId) throw new Error("usage: upstream-cost.mjs <simulator url> <company id> [calls]");
const calls = Number(callsText);
const url = `${baseUrl}/companies/${companyId}/data/customers?page=1&pageSize=20`;
const origin = new URL(baseUrl).origin;
const path = url.slice(origin.length);
const agent = new Agent({ keepAliveTimeout: 4_000 });

async function viaUndici() {
  const { body } = await agent.request({ origin, path, method: "GET", headers: ["accept", "application/json"] });
  return JSON.parse(await body.text());
}

/** A fetch as the client's transport is one: undici underneath, a real Response with the whole body (its chunks). */
async function whatwgFetch(request) {
  const headers = [];
  for (const [name, value] of request.headers) headers.push(name, value);
  const target = new URL(request.url);
  const answer = await agent.request({
    origin: target.origin,
    path: `${target.pathname}${target.search}`,
    method: request.method,
    headers,
    signal: request.signal,
  });
  const chunks = [];
  for await (const chunk of answer.body) chunks.push(chunk);
  const body = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  return new Response(body, {
    status: answer.statusCode,
    headers: Object.entries(answer.headers).map(([k, v]) => [k, String(v)]),
  });
}
async function viaWhatwg() {
  const response = await whatwgFetch(new Request(url, { headers: { accept: "application/json" } }));
  return JSON.parse(await response.text());
}

const api = ky.create({
  headers: { accept: "application/json" },
  timeout: false,
  retry: { limit: 3, methods: ["get"] },
  fetch: whatwgFetch,
});
async function viaKy() {
  const response = await api(url, { retry: { shouldRetry: () => false, delay: () => 0 }, fetch: (request) => whatwgFetch(request) });
  return JSON.parse(await response.text());
}

const client = new CodatClient({ baseUrl });
const viaClient = () => client.listCustomers(companyId, { page: 1, pageSize: 20 });

async function cpuPerCall(fn, n) {
  let started = 0;
  const t0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (started < n) {
        started++;
        await fn();
      }
    }),
  );
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / n;
}

const variants = { undici: viaUndici, "+whatwg": viaWhatwg, "+ky": viaKy, client: viaClient };
for (const fn of Object.values(variants)) await cpuPerCall(fn, 500);
const rounds = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
for (let round = 0; round < 3; round++) for (const [name, fn] of Object.entries(variants)) rounds[name].push(await cpuPerCall(fn, calls));
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
process.stdout.write(`${JSON.stringify(Object.fromEntries(Object.entries(rounds).map(([name, values]) => [name, median(values)])))}\n`);
await agent.close();
process.exit(0);
