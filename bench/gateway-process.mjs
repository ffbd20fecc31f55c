/**
 * The gateway in its own process, for the benchmark, run as it ships: the compiled dist/ by plain node (no
 * TypeScript loader), started by bench/run.ts as `process.execPath bench/gateway-process.mjs <codat base url> [NAME=value…]`,
 * so the pid the parent sees is the node process that serves and /proc/<pid>/status is the gateway's own.
 * (`npm run bench` builds dist/ first.)
 *
 * Configuration is what an operator would get from `CODAT_BASE_URL=<sim> PORT=0 AUTH_MODE=none CACHE_ENABLED=false`
 * (parseConfig, so every other setting is the default, unless a scenario names it as a `NAME=value` argument): the
 * gateway's own cost per Codat call is what is compared, so the read cache is off unless a scenario turns it on
 * (`npm run bench:cache` does), and authentication is off as production allows when it is said explicitly. Prints `{"ready":true,"pid":…,"url":"http://127.0.0.1:…/graphql"}` and answers IPC
 * (protocol in lib/ipc.ts, repeated here because this file is plain JS):
 *   - `memory` → process.memoryUsage();  `heapSpaces` → V8 heap spaces { size, used } by name;
 *   - `stop`   → gateway.stop(), then exit 0 (a normal exit, so `--cpu-prof` writes its profile).
 */
import { getHeapSpaceStatistics } from "node:v8";
import { createGateway } from "../dist/app.js";
import { parseConfig } from "../dist/config.js";
import { createLogger } from "../dist/observability/logger.js";
import { pino } from "pino";

const baseUrl = process.argv[2];
if (!baseUrl) throw new Error("usage: gateway-process.mjs <codat base url>");
if (!process.send) throw new Error("bench child started without an IPC channel");

const extra = Object.fromEntries(process.argv.slice(3).map((arg) => [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]));
const config = parseConfig({
  AUTH_MODE: "none",
  CACHE_ENABLED: "false",
  ...extra,
  CODAT_BASE_URL: baseUrl,
  PORT: "0",
  HOST: "127.0.0.1",
  NODE_ENV: process.env.NODE_ENV,
});
const gateway = createGateway(config, {
  // Logs are serialised as in production (LOG_LEVEL, default info; redaction), then dropped: the cost stays, the noise does not.
  logger: createLogger({ level: config.logLevel, pretty: false, secrets: [], destination: pino.destination("/dev/null") }),
});
const url = await gateway.listen();

async function handle(type) {
  switch (type) {
    case "memory":
      return process.memoryUsage();
    case "heapSpaces":
      return Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
    case "stop":
      await gateway.stop();
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`unknown request ${type}`);
  }
}

process.on("message", (request) => {
  if (typeof request !== "object" || request === null || typeof request.id !== "number") return;
  handle(request.type).then(
    (result) => process.send?.({ id: request.id, ok: true, result }),
    (error) => process.send?.({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
// The parent went away (crash, Ctrl-C): never outlive it.
process.on("disconnect", () => process.exit(0));
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, url })}\n`);
