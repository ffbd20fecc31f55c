/**
 * Who may subscribe: the JWT comes in connection_init's payload and is verified like the HTTP Authorization
 * header; a refused token closes the socket with 4403 before anything runs, and a company the token does not
 * grant is a FORBIDDEN error with no call to Codat. The upgrade itself: /graphql only, allowed origins only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DEMO_COMPANY_ID, SECOND_COMPANY_ID } from "codat-simulator";
import { waitFor } from "../helpers/wait.js";
import { bearer, jwtEnv, mint } from "../security/support.js";
import { PUSH_UPDATED, startSubscriptionStack, subscribe, wsClient, type SubscriptionStack } from "./support.js";

let stack: SubscriptionStack;
beforeAll(async () => {
  stack = await startSubscriptionStack({ env: jwtEnv({ CORS_ORIGINS: "https://app.example.com" }) });
});
afterAll(async () => {
  await stack?.close();
});

const UNKNOWN_KEY = "00000000-0000-4000-8000-000000000000";

describe("subscription authentication", () => {
  it.each([
    ["no token", undefined],
    ["a token signed with another key", { authorization: "Bearer not.a.jwt" }],
    ["a malformed header", { authorization: "Basic abc" }],
  ])("closes the socket with 4403 Forbidden for %s, with no upstream call", async (_name, params) => {
    stack.simulator.resetRequests();
    const client = wsClient(stack.wsUrl, params);
    const received = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key: UNKNOWN_KEY });
    await received.done;
    expect(await client.closedWith).toBe(4403);
    expect(received.results).toHaveLength(0);
    expect(stack.simulator.requests).toHaveLength(0);
    await client.dispose();
  });

  it("answers a company the token does not grant with FORBIDDEN, with no upstream call", async () => {
    stack.simulator.resetRequests();
    const token = await mint({ sub: "alice", codat_company_ids: [DEMO_COMPANY_ID] });
    const client = wsClient(stack.wsUrl, bearer(token));
    const received = subscribe(client, PUSH_UPDATED, { companyId: SECOND_COMPANY_ID, key: UNKNOWN_KEY });
    await received.done;
    expect(received.results[0]!.errors?.[0]?.extensions?.["code"]).toBe("FORBIDDEN");
    expect(stack.simulator.requests).toHaveLength(0);
    // A company it does grant reaches Codat (this key is unknown there), and `Authorization` is accepted too.
    const other = wsClient(stack.wsUrl, { Authorization: `Bearer ${token}` });
    const granted = subscribe(other, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key: UNKNOWN_KEY });
    await granted.done;
    expect(granted.results[0]!.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");
    expect(stack.simulator.requests).toHaveLength(1);
    await client.dispose();
    await other.dispose();
  });

  it("takes the token from the upgrade request's Authorization header when connection_init carries none", async () => {
    stack.simulator.resetRequests();
    const token = await mint({ sub: "alice", codat_company_ids: [DEMO_COMPANY_ID] });
    const client = wsClient(stack.wsUrl, undefined, { authorization: `Bearer ${token}` });
    const granted = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key: UNKNOWN_KEY });
    await granted.done;
    expect(granted.results[0]!.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");
    const forbidden = subscribe(client, PUSH_UPDATED, { companyId: SECOND_COMPANY_ID, key: UNKNOWN_KEY });
    await forbidden.done;
    expect(forbidden.results[0]!.errors?.[0]?.extensions?.["code"]).toBe("FORBIDDEN");
    await client.dispose();
    // A bad token in the header is refused like one in connection_init.
    const refused = wsClient(stack.wsUrl, undefined, { authorization: "Bearer not.a.jwt" });
    const none = subscribe(refused, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key: UNKNOWN_KEY });
    await none.done;
    expect(await refused.closedWith).toBe(4403);
    await refused.dispose();
  });
});

/** The HTTP status a WebSocket upgrade was refused with (or "open"). */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<number | "open"> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, "graphql-transport-ws", { headers });
    socket.on("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.on("error", () => undefined);
    socket.on("open", () => {
      resolve("open");
      socket.close();
    });
  });
}

describe("the upgrade", () => {
  it("is served on /graphql only", async () => {
    expect(await upgrade(stack.wsUrl)).toBe("open");
    expect(await upgrade(stack.wsUrl.replace("/graphql", "/other"))).toBe(404);
    expect(await upgrade(stack.wsUrl.replace("/graphql", "/graphql/"))).toBe(404);
  });

  it("refuses origins outside CORS_ORIGINS", async () => {
    expect(await upgrade(stack.wsUrl, { origin: "https://evil.example.com" })).toBe(403);
    expect(await upgrade(stack.wsUrl, { origin: "https://app.example.com" })).toBe("open");
    expect(await upgrade(stack.wsUrl, { origin: new URL(stack.url).origin })).toBe("open");
  });
});

describe("the connection cap", () => {
  let capped: SubscriptionStack | undefined;
  afterAll(async () => {
    await capped?.close();
  });

  it("answers an upgrade beyond WS_MAX_CONNECTIONS authenticated sockets with 503, and takes one again once a socket closes", async () => {
    capped = await startSubscriptionStack({ env: { WS_MAX_CONNECTIONS: "2" } });
    const held = [0, 1].map(() => new WebSocket(capped!.wsUrl, "graphql-transport-ws"));
    await Promise.all(held.map((socket) => new Promise((resolve) => socket.once("open", resolve))));
    // Authenticated (AUTH_MODE=none accepts any connection_init): sockets that never authenticate hold no slot
    // for long (see hygiene.test.ts).
    await Promise.all(
      held.map((socket) => {
        const acked = new Promise((resolve) => socket.once("message", resolve));
        socket.send(JSON.stringify({ type: "connection_init" }));
        return acked;
      }),
    );
    expect(await upgrade(capped.wsUrl)).toBe(503);
    const closed = new Promise((resolve) => held[0]!.once("close", resolve));
    held[0]!.close();
    await closed;
    await waitFor(async () => (await upgrade(capped!.wsUrl)) === "open");
    held[1]!.close();
  });
});
