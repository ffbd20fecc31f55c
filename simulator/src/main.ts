/**
 * `npm run simulator`: runs the Codat simulator on its own. Flags: `--port N` (default 4010), `--host H`
 * (default 127.0.0.1), `--latency MS` (default 0), `--push-delay MS` (default 300: how long pushes stay
 * Pending), `--api-key KEY` (default: no auth), `--webhook-url URL` and `--webhook-secret whsec_…` (both or neither:
 * completed pushes and syncs announced as Codat's signed webhooks). Configuration comes
 * from flags only, never from the environment, so it cannot pick up the gateway's real Codat credentials.
 */
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, SECOND_COMPANY_ID, EMPTY_COMPANY_ID, startSimulator } from "./index.js";

interface Flags {
  port: number;
  host: string;
  latencyMs: number;
  pushDelayMs?: number;
  apiKey?: string;
  webhookUrl?: string;
  webhookSecret?: string;
}

function fail(message: string): never {
  console.error(`simulator: ${message}`);
  process.exit(2);
}

function parseFlags(argv: readonly string[]): Flags {
  const flags: Flags = { port: 4010, host: "127.0.0.1", latencyMs: 0 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") fail(`${name} needs a value`);
      return v;
    };
    const int = (min: number, max: number): number => {
      const v = value();
      const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) fail(`${name} must be an integer between ${min} and ${max}, got "${v}"`);
      return n;
    };
    switch (name) {
      case "--port":
        flags.port = int(0, 65535);
        break;
      case "--host":
        flags.host = value();
        break;
      case "--latency":
        flags.latencyMs = int(0, 600_000);
        break;
      case "--push-delay":
        flags.pushDelayMs = int(0, 600_000);
        break;
      case "--api-key":
        flags.apiKey = value();
        break;
      case "--webhook-url":
        flags.webhookUrl = value();
        break;
      case "--webhook-secret":
        flags.webhookSecret = value();
        break;
      case "--help":
      case "-h":
        console.log(
          "usage: npm run simulator -- [--port N] [--host H] [--latency MS] [--push-delay MS] [--api-key KEY] [--webhook-url URL --webhook-secret SECRET]",
        );
        process.exit(0);
        break;
      default:
        fail(`unknown argument "${arg}" (try --help)`);
    }
  }
  if ((flags.webhookUrl === undefined) !== (flags.webhookSecret === undefined)) fail("--webhook-url and --webhook-secret go together");
  return flags;
}

const flags = parseFlags(process.argv.slice(2));
const sim = await startSimulator({
  host: flags.host,
  port: flags.port,
  latencyMs: flags.latencyMs,
  ...(flags.pushDelayMs === undefined ? {} : { pushDelayMs: flags.pushDelayMs }),
  ...(flags.apiKey === undefined ? {} : { apiKey: flags.apiKey }),
  ...(flags.webhookUrl === undefined || flags.webhookSecret === undefined
    ? {}
    : { webhooks: { url: flags.webhookUrl, secret: flags.webhookSecret } }),
});
console.log(`Codat simulator listening on ${sim.url}`);
console.log(`  demo company:    ${DEMO_COMPANY_ID} (connection ${DEMO_CONNECTION_ID})`);
console.log(`  other companies: ${SECOND_COMPANY_ID}, ${EMPTY_COMPANY_ID} (no customers)`);
if (flags.webhookUrl !== undefined) console.log(`  webhooks:        completed pushes and syncs POSTed to ${flags.webhookUrl}`);
if (flags.latencyMs > 0) console.log(`  latency:         ${flags.latencyMs} ms per response`);
console.log(`  try: curl '${sim.url}/companies/${DEMO_COMPANY_ID}/data/customers?pageSize=2'`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`simulator: ${signal}, shutting down`);
  void sim.close().then(() => process.exit(0));
};
process.once("SIGINT", () => stop("SIGINT"));
process.once("SIGTERM", () => stop("SIGTERM"));
