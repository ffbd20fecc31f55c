/**
 * Entry point: parse the configuration, start tracing when OTEL_EXPORTER_OTLP_ENDPOINT asks for it, start the
 * embedded Codat simulator when no upstream is configured, listen, and shut down gracefully on SIGTERM/SIGINT.
 * Everything else lives in app.ts.
 *
 * The app is imported with a dynamic `import()` once tracing has started: the graphql instrumentation can only
 * patch graphql if it is loaded after it (see observability/tracing.ts). Nothing static here imports graphql.
 */
import { existsSync } from "node:fs";
import { ConfigError, logSecrets, parseConfig } from "./config.js";
import { loadSimulator, SimulatorNotInstalledError, type EmbeddedSimulator } from "./embedded-upstream.js";
import { createLogger } from "./observability/logger.js";
import { startTracing, type Tracing } from "./observability/tracing.js";

/** `.env` in the working directory, when there is one; a variable already in the environment wins over it. */
function loadDotEnv(): void {
  if (!existsSync(".env")) return;
  try {
    process.loadEnvFile(".env");
  } catch (error) {
    console.error(`config error: .env cannot be read (${error instanceof Error ? error.message : String(error)})`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  loadDotEnv();
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

  const logger = createLogger({
    level: config.logLevel,
    pretty: config.logPretty,
    secrets: logSecrets(config),
  });
  const tracing: Tracing | undefined = await startTracing({
    config: config.tracing,
    warn: (message) => logger.warn(`tracing: ${message}`),
  });
  const { createGateway } = await import("./app.js");

  let simulator: EmbeddedSimulator | undefined;
  let embeddedWebhookUrl: string | undefined;
  let demo: { companyId: string; connectionId: string } | undefined;
  if (config.useSimulator) {
    let simulatorPackage;
    try {
      simulatorPackage = await loadSimulator();
    } catch (error) {
      if (!(error instanceof SimulatorNotInstalledError)) throw error;
      console.error(`config error: ${error.message}`);
      process.exit(1);
    }
    // CODAT_WEBHOOK_SECRET: the simulator announces each completed push to this gateway's webhook route, as
    // Codat would (its URL is known once the gateway listens, below).
    const webhook = config.codatWebhook;
    simulator = await simulatorPackage.startSimulator({
      latencyMs: config.simulatorLatencyMs,
      ...(webhook ? { webhooks: { url: () => embeddedWebhookUrl, secret: webhook.secret } } : {}),
    });
    demo = { companyId: simulatorPackage.DEMO_COMPANY_ID, connectionId: simulatorPackage.DEMO_CONNECTION_ID };
  }
  const gateway = createGateway(config, {
    ...(simulator ? { codatBaseUrl: simulator.url } : {}),
    ...(tracing ? { codatObservers: [tracing.codatObserver] } : {}),
    logger,
  });
  let url: string;
  try {
    url = await gateway.listen();
    if (simulator && config.codatWebhook) embeddedWebhookUrl = `${new URL(url).origin}${config.codatWebhook.path}`;
  } catch (error) {
    // Redis unreachable at startup (REDIS_URL, REDIS_FAILURE_MODE=fail): its own one-line message, no password in it.
    if (error instanceof Error && error.name === "RedisUnavailableError") console.error(`startup failed: ${error.message}`);
    // A setting found wrong only by trying it (REDIS_URL at something that is not Redis).
    else if (error instanceof ConfigError) for (const problem of error.problems) console.error(`config error: ${problem}`);
    else console.error(`config error: ${listenProblem(error, config.host, config.port)}`);
    await simulator?.close();
    process.exit(1);
  }

  if (demo) {
    logger.info(
      { demoCompanyId: demo.companyId, demoConnectionId: demo.connectionId },
      `No CODAT_API_KEY or CODAT_BASE_URL set: serving the embedded Codat simulator (demo data): demo company ${demo.companyId}, demo connection ${demo.connectionId}`,
    );
  } else {
    logger.info(`Upstream: ${config.codatApiKey ? "Codat with an API key" : "CODAT_BASE_URL without an API key"}.`);
  }
  const modeLine =
    config.mode === "development"
      ? "development (stack traces and error details are shown to clients)"
      : config.mode === "production"
        ? "production (no Sandbox or introspection unless enabled; errors masked)"
        : `${config.mode === "test" ? "test" : "default, NODE_ENV unset"} (errors masked; set NODE_ENV=development for stack traces)`;
  logger.info(`Mode: ${modeLine}.`);
  if (tracing) logger.info("Traces: exported over OTLP/HTTP.");
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: finishing in-flight requests, then stopping.`);
    gateway
      .stop()
      .then(() => simulator?.close())
      // Last, so the spans of the requests drained above are exported too.
      .then(() => tracing?.shutdown())
      .then(() => {
        logger.info("stopped");
        logger.flush(() => process.exit(0));
      })
      .catch((error: unknown) => {
        logger.fatal({ err: error }, "shutdown failed");
        logger.flush(() => process.exit(1));
      });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // The one line an operator needs, whatever LOG_LEVEL hides: a log line where info lines are written, else
  // plain text on stdout. Printed once the signal handlers are in place, so whoever waits for it may stop us.
  const ready = `GraphQL gateway ready at ${url}`;
  if (logger.isLevelEnabled("info")) logger.info({ url }, ready);
  else process.stdout.write(`${ready}\n`);
}

/** One line naming the variable behind a failed bind: HOST for an address that cannot be used, PORT for a taken one. */
function listenProblem(error: unknown, host: string, port: number): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "EADDRINUSE":
      return `PORT ${port} is already in use on ${host}`;
    case "EACCES":
      return `PORT ${port} needs privileges this process does not have`;
    case "EADDRNOTAVAIL":
      return `HOST ${host} is not an address of this machine`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
      return `HOST ${host} cannot be resolved`;
    default:
      return `cannot listen on HOST ${host} PORT ${port} (${code ?? (error instanceof Error ? error.message : String(error))})`;
  }
}

main().catch((error: unknown) => {
  console.error("startup failed:", error instanceof Error ? error.message : error);
  process.exit(1);
});
