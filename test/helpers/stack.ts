/**
 * Test harness: the embedded simulator and a gateway pointed at it, both on loopback port 0, plus a tiny
 * GraphQL-over-HTTP client. Every test file closes what it starts.
 */
import { createGateway, type Gateway } from "../../src/app.js";
import type { CodatObserver } from "../../src/codat/observer.js";
import { parseConfig } from "../../src/config.js";
import { createLogger, type Logger } from "../../src/observability/logger.js";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { forwardTo } from "./forward.js";
import { startSimulator, type Simulator, type SimulatorOptions } from "codat-simulator";

export interface GraphQLResult<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  headers: Headers;
  text: string;
}

export interface Stack {
  simulator: Simulator;
  gateway: Gateway;
  url: string;
  origin: string;
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResult<T>>;
  /** Upstream requests recorded by the simulator since the last reset, excluding none. */
  upstream(): Simulator["requests"];
  resetUpstream(): void;
  close(): Promise<void>;
}

export interface StackOptions {
  simulator?: SimulatorOptions;
  /** Gateway environment on top of the simulator's URL, port 0 and loopback. */
  env?: Record<string, string>;
  /** The gateway's logger; default silent (tests that read logs pass one writing to a stream they read). */
  logger?: Logger;
  /** Extra observers of the gateway's Codat calls (GatewayOptions.codatObservers). */
  codatObservers?: readonly CodatObserver[];
  /** The read cache's clock (GatewayOptions.cacheClock). */
  cacheClock?: () => number;
}

/**
 * The usual fixture of a test file (or describe block): one stack, started before its first test and closed
 * after its last, with injected faults and the upstream record cleared before each test. The returned object
 * stands for the stack once started, so use it inside tests and hooks only.
 */
export function useStack(options: StackOptions | (() => StackOptions) = {}): Stack {
  let current: Stack | undefined;
  beforeAll(async () => {
    // A function is read when the stack starts (options that other hooks prepare, such as a temporary file).
    current = await startStack(typeof options === "function" ? options() : options);
  });
  afterAll(async () => {
    await current?.close();
    current = undefined;
  });
  beforeEach(() => {
    current?.simulator.clearFaults();
    current?.resetUpstream();
  });
  return forwardTo(() => current, "the stack runs only inside the tests and hooks of the block that uses it");
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const simulator = await startSimulator(options.simulator ?? {});
  const config = parseConfig({ CODAT_BASE_URL: simulator.url, PORT: "0", HOST: "127.0.0.1", ...options.env });
  const logger = options.logger ?? createLogger({ level: "silent", pretty: false, secrets: [] });
  const gateway = createGateway(config, {
    stopGracePeriodMs: 1_000,
    logger,
    ...(options.codatObservers ? { codatObservers: options.codatObservers } : {}),
    ...(options.cacheClock ? { cacheClock: options.cacheClock } : {}),
  });
  const url = await gateway.listen();
  return {
    simulator,
    gateway,
    url,
    origin: new URL(url).origin,
    async graphql<T>(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const text = await response.text();
      const body = JSON.parse(text) as { data?: T | null; errors?: GraphQLResult<T>["errors"] };
      return { status: response.status, headers: response.headers, text, ...body };
    },
    upstream: () => simulator.requests,
    resetUpstream: () => simulator.resetRequests(),
    async close() {
      await gateway.stop();
      await simulator.close();
    },
  };
}
