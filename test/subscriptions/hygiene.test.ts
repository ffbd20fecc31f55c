/**
 * WebSocket hygiene (issue 27 part 5), every wait on the endpoint's manual clock: sockets that have not
 * authenticated have their own cap (the oldest is dropped for a newcomer) and the init deadline; dead sockets are
 * found by the heartbeat; a socket's rights end when its token expires. Every bound comes from the configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ManualClock } from "codat-simulator";
import { parseConfig } from "../../src/config.js";
import { waitFor } from "../helpers/wait.js";
import { bearer, jwtEnv, mint } from "../security/support.js";
import { CREATE, PUSH_UPDATED, startSubscriptionStack, subscribe, wsClient, type CreateResult, type SubscriptionStack } from "./support.js";

const ENV = {
  WS_MAX_CONNECTIONS: "4",
  WS_MAX_UNAUTHENTICATED_CONNECTIONS: "2",
  WS_CONNECTION_INIT_TIMEOUT_MS: "5000",
  WS_PING_INTERVAL_MS: "1000",
};
/** Where a test moves the clock by more than a ping interval at once, the heartbeat must not be what it sees. */
const NO_PINGS = { ...ENV, WS_PING_INTERVAL_MS: "3600000" };
const settings = parseConfig({ CODAT_BASE_URL: "http://127.0.0.1:9", ...ENV });

interface RawSocket {
  socket: WebSocket;
  /** The close code, once closed. */
  closed: Promise<number>;
  pings: number;
}

async function open(url: string, autoPong = true): Promise<RawSocket> {
  const socket = new WebSocket(url, "graphql-transport-ws", { autoPong });
  const raw: RawSocket = { socket, closed: new Promise((resolve) => socket.once("close", (code) => resolve(code))), pings: 0 };
  socket.on("ping", () => raw.pings++);
  socket.on("error", () => undefined);
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("unexpected-response", (_request, response) => reject(new Error(`upgrade answered ${response.statusCode}`)));
  });
  return raw;
}

/** A ping answered: whatever the gateway sent before its pong has arrived. */
function roundTrip(raw: RawSocket): Promise<void> {
  return new Promise<void>((resolve) => {
    raw.socket.once("pong", () => resolve());
    raw.socket.ping();
  });
}

async function authenticate(raw: RawSocket, payload?: Record<string, unknown>): Promise<void> {
  const acked = new Promise<string>((resolve) => raw.socket.once("message", (data: Buffer) => resolve(data.toString())));
  raw.socket.send(JSON.stringify({ type: "connection_init", ...(payload ? { payload } : {}) }));
  expect(JSON.parse(await acked)).toEqual({ type: "connection_ack" });
}

describe("sockets that have not authenticated", () => {
  let stack: SubscriptionStack;
  beforeAll(async () => {
    stack = await startSubscriptionStack({ env: NO_PINGS, wsClock: true });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("are closed 4408 at the init deadline, and not before", async () => {
    const raw = await open(stack.wsUrl);
    stack.wsClock!.advance(settings.websocket.connectionInitTimeoutMs - 1);
    // A round trip: a close the gateway had sent would arrive before this pong.
    await roundTrip(raw);
    expect(raw.socket.readyState).toBe(WebSocket.OPEN);
    stack.wsClock!.advance(1);
    expect(await raw.closed).toBe(4408);
  });

  it("have their own cap: a newcomer drops the oldest (1013), and authenticated clients still get in", async () => {
    const cap = settings.websocket.maxUnauthenticatedConnections;
    const strangers = [];
    for (let i = 0; i < cap; i++) strangers.push(await open(stack.wsUrl));
    // One more stranger: the oldest makes room.
    strangers.push(await open(stack.wsUrl));
    expect(await strangers[0]!.closed).toBe(1013);
    // Real clients open, authenticate at once, and then hold their slot whatever strangers do.
    const clients = [];
    for (let i = 0; i < settings.pushStatus.maxConnections; i++) {
      const client = await open(stack.wsUrl);
      await authenticate(client);
      clients.push(client);
    }
    // The strangers were dropped to make room; the cap of authenticated sockets is full now.
    await Promise.all(strangers.map((stranger) => stranger.closed));
    await expect(open(stack.wsUrl)).rejects.toThrow("upgrade answered 503");
    for (const client of clients) client.socket.close();
    await Promise.all(clients.map((client) => client.closed));
  });
});

describe("the heartbeat", () => {
  let stack: SubscriptionStack;
  beforeAll(async () => {
    stack = await startSubscriptionStack({ env: ENV, wsClock: true });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("pings idle authenticated sockets, keeps those that answer and terminates those that do not", async () => {
    const interval = settings.websocket.pingIntervalMs;
    const alive = await open(stack.wsUrl);
    const dead = await open(stack.wsUrl, false);
    await authenticate(alive);
    await authenticate(dead);
    stack.wsClock!.advance(interval);
    await waitFor(() => alive.pings === 1 && dead.pings === 1);
    // The live socket's pong arrives; the dead one never answers.
    // A round trip on the live socket: its automatic pong to the gateway's ping was sent before this answer.
    await roundTrip(alive);
    stack.wsClock!.advance(interval);
    expect(await dead.closed).toBe(1006);
    await waitFor(() => alive.pings === 2);
    expect(alive.socket.readyState).toBe(WebSocket.OPEN);
    alive.socket.close();
    await alive.closed;
  });
});

describe("token expiry", () => {
  let stack: SubscriptionStack;
  beforeAll(async () => {
    // The simulator's clock never moves: a push stays PENDING, so its subscription keeps running.
    stack = await startSubscriptionStack({
      simulator: { clock: new ManualClock() },
      env: jwtEnv(NO_PINGS),
      wsClock: true,
      gatewayClock: true,
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("closes a socket 4403 when its token expires, ending its running subscription", async () => {
    const lifetimeSeconds = 60;
    const token = await mint({ sub: "alice", codat_company_ids: [DEMO_COMPANY_ID] }, { expiresIn: lifetimeSeconds });
    const created = await stack.graphql<CreateResult>(
      CREATE,
      { input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: { customerName: "Expiring" } } },
      bearer(token),
    );
    expect(created.errors).toBeUndefined();
    const key = created.data!.createCustomer.pushOperation.pushOperationKey;
    const client = wsClient(stack.wsUrl, bearer(token));
    const received = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key });
    await waitFor(() => received.results.length === 1);
    // Just before `exp` (the token's own, rounded to the second) the socket and its subscription run on.
    const expiresAt = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp * 1000;
    stack.wsClock!.advance(expiresAt - stack.wsClock!.now() - 1);
    expect(received.completed).toBe(false);
    expect(received.error).toBeUndefined();
    stack.wsClock!.advance(1);
    expect(await client.closedWith).toBe(4403);
    await received.done;
    expect(received.completed).toBe(false);
    await client.dispose();
  });

  it("refuses a subscription sent after the token expired (4403), even before the timer ran", async () => {
    const token = await mint({ sub: "alice", codat_company_ids: [DEMO_COMPANY_ID] }, { expiresIn: 30 });
    const raw = await open(stack.wsUrl);
    await authenticate(raw, bearer(token));
    // A clock that jumped past `exp` without running the timer (as the test's manual clock can).
    const expiresAt = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp * 1000;
    const skipped = stack.wsClock!.now();
    Object.defineProperty(stack.wsClock!, "now", { value: () => Math.max(skipped, expiresAt), configurable: true });
    raw.socket.send(
      JSON.stringify({ id: "1", type: "subscribe", payload: { query: PUSH_UPDATED, variables: { companyId: DEMO_COMPANY_ID, key: "k" } } }),
    );
    expect(await raw.closed).toBe(4403);
  });
});
