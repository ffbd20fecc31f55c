/**
 * Entry point: parse the configuration, start the embedded Codat simulator when no upstream is configured,
 * listen, and shut down gracefully on SIGTERM/SIGINT. Everything else lives in app.ts.
 */
import { createGateway } from "./app.js";
import { ConfigError, parseConfig } from "./config.js";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, startSimulator, type Simulator } from "./simulator/index.js";

async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`config error: ${problem}`);
      process.exit(1);
    }
    throw error;
  }

  let simulator: Simulator | undefined;
  if (config.useSimulator) {
    simulator = await startSimulator({ latencyMs: config.simulatorLatencyMs });
  }
  const gateway = createGateway(config, {
    ...(simulator ? { codatBaseUrl: simulator.url } : {}),
    onError: (error) => console.error("unhandled request error:", error instanceof Error ? error.message : error),
  });
  const url = await gateway.listen();

  if (simulator) {
    console.log("No CODAT_API_KEY or CODAT_BASE_URL set: serving the embedded Codat simulator (demo data).");
    console.log(`  demo company:    ${DEMO_COMPANY_ID}`);
    console.log(`  demo connection: ${DEMO_CONNECTION_ID}`);
  } else {
    console.log(`Upstream: ${config.codatApiKey ? "Codat with an API key" : "CODAT_BASE_URL without an API key"}.`);
  }
  console.log(`GraphQL gateway ready at ${url}`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: finishing in-flight requests, then stopping.`);
    gateway
      .stop()
      .then(() => simulator?.close())
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        console.error("shutdown failed:", error instanceof Error ? error.message : error);
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  console.error("startup failed:", error instanceof Error ? error.message : error);
  process.exit(1);
});
