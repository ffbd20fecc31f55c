/**
 * Subscriptions test harness: the simulator and a gateway as in helpers/stack.ts, each with its own ManualClock
 * when asked (the simulator's decides when a push completes, the gateway's when its watcher polls), and a
 * graphql-ws client that collects what one subscription receives.
 */
import { createClient, type Client, type FormattedExecutionResult } from "graphql-ws";
import WebSocket from "ws";
import { ManualClock, startSimulator, type Simulator, type SimulatorOptions } from "codat-simulator";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config.js";
import { createLogger } from "../../src/observability/logger.js";
import type { WatcherClock } from "../../src/push-status/watcher.js";

export interface SubscriptionStack {
  simulator: Simulator;
  gateway: Gateway;
  url: string;
  wsUrl: string;
  /** The gateway's clock (its polls and deadlines), when started with `gatewayClock`. */
  clock: ManualClock | undefined;
  /** The WebSocket endpoint's clock (init deadline, heartbeat, token expiry), when started with `wsClock`. */
  wsClock: ManualClock | undefined;
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{ status: number; data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] }>;
  /** GET /companies/{id}/push/{key} requests the simulator received for this key. */
  pushReads(key: string): number;
  close(): Promise<void>;
}

export interface SubscriptionStackOptions {
  simulator?: SimulatorOptions;
  env?: Record<string, string>;
  /** A ManualClock for the gateway's push status watcher. */
  gatewayClock?: boolean;
  /** A ManualClock for the WebSocket endpoint (starting now, so real tokens' `exp` fall in its future). */
  wsClock?: boolean;
}

export async function startSubscriptionStack(options: SubscriptionStackOptions = {}): Promise<SubscriptionStack> {
  const simulator = await startSimulator(options.simulator ?? {});
  const clock = options.gatewayClock ? new ManualClock(Date.now()) : undefined;
  const wsClock = options.wsClock ? new ManualClock(Date.now()) : undefined;
  const config = parseConfig({ CODAT_BASE_URL: simulator.url, PORT: "0", HOST: "127.0.0.1", ...options.env });
  const gateway = createGateway(config, {
    stopGracePeriodMs: 1_000,
    logger: createLogger({ level: "silent", pretty: false, secrets: [] }),
    ...(clock ? { pushStatusClock: clock satisfies WatcherClock } : {}),
    ...(wsClock ? { websocketClock: wsClock } : {}),
  });
  const url = await gateway.listen();
  return {
    simulator,
    gateway,
    url,
    wsUrl: url.replace(/^http/, "ws"),
    clock,
    wsClock,
    async graphql(query, variables, headers = {}) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, ...((await response.json()) as object) };
    },
    pushReads: (key) =>
      simulator.requests.filter((r) => r.method === "GET" && r.path.toLowerCase().endsWith(`/push/${key.toLowerCase()}`)).length,
    async close() {
      await gateway.stop();
      await simulator.close();
    },
  };
}

export function wsClient(
  url: string,
  connectionParams?: Record<string, unknown>,
  /** Headers of the upgrade request (as a router or a server-side client sends them; browsers cannot). */
  headers?: Record<string, string>,
): Client & { closedWith: Promise<number> } {
  let closed: (code: number) => void = () => undefined;
  const closedWith = new Promise<number>((resolve) => (closed = resolve));
  const client = createClient({
    url,
    webSocketImpl:
      headers === undefined
        ? WebSocket
        : class extends WebSocket {
            constructor(address: string, protocols?: string | string[]) {
              super(address, protocols, { headers });
            }
          },
    lazy: true,
    retryAttempts: 0,
    ...(connectionParams ? { connectionParams } : {}),
    on: { closed: (event) => closed((event as { code: number }).code) },
  });
  return Object.assign(client, { closedWith });
}

export interface Received {
  results: FormattedExecutionResult<Record<string, unknown>, unknown>[];
  /** What sink.error got (an array of GraphQL errors, a CloseEvent, an Error). */
  error: unknown;
  completed: boolean;
  /** Settles when the subscription completes or errors. */
  done: Promise<void>;
  unsubscribe: () => void;
}

export function subscribe(client: Client, query: string, variables: Record<string, unknown>): Received {
  let finish: () => void = () => undefined;
  const received: Received = {
    results: [],
    error: undefined,
    completed: false,
    done: new Promise<void>((resolve) => (finish = resolve)),
    unsubscribe: () => undefined,
  };
  received.unsubscribe = client.subscribe(
    { query, variables },
    {
      next: (result) => received.results.push(result),
      error: (error) => {
        received.error = error;
        finish();
      },
      complete: () => {
        received.completed = true;
        finish();
      },
    },
  );
  return received;
}

export const PUSH_UPDATED = /* GraphQL */ `
  subscription Updated($companyId: ID!, $key: ID!) {
    pushOperationUpdated(companyId: $companyId, pushOperationKey: $key) {
      id
      pushOperationKey
      status
      statusCode
      completedOnUtc
    }
  }
`;

export const CREATE = /* GraphQL */ `
  mutation Create($input: CreateCustomerInput!) {
    createCustomer(input: $input) {
      pushOperation {
        pushOperationKey
        status
      }
    }
  }
`;

export type CreateResult = { createCustomer: { pushOperation: { pushOperationKey: string; status: string } } };

/** The statuses a subscription received, in order. */
export const statuses = (received: Received): unknown[] =>
  received.results.map((r) => (r.data?.["pushOperationUpdated"] as { status?: string } | null | undefined)?.status ?? null);
