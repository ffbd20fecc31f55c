/**
 * `pushOperationUpdated` over graphql-ws against the simulator: the current state, each change, the final state
 * and completion; errors as coded GraphQL errors; one watch (and poll loop) per operation however many
 * subscribers; webhook signals read at once. Both clocks are manual: the simulator's decides when a push
 * completes, the gateway's when its watcher polls, so nothing here sleeps or measures time.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ManualClock } from "codat-simulator";
import { waitFor, waitForValue } from "../helpers/wait.js";
import {
  CREATE,
  PUSH_UPDATED,
  startSubscriptionStack,
  statuses,
  subscribe,
  wsClient,
  type CreateResult,
  type SubscriptionStack,
} from "./support.js";

const simulatorClock = new ManualClock();
let stack: SubscriptionStack;
let gatewayClock: ManualClock;
beforeAll(async () => {
  stack = await startSubscriptionStack({
    simulator: { clock: simulatorClock, pushDelayMs: 300 },
    env: { PUSH_STATUS_POLL_INTERVAL_MS: "500", PUSH_STATUS_POLL_MAX_INTERVAL_MS: "2000", PUSH_STATUS_MAX_WAIT_MS: "600000" },
    gatewayClock: true,
  });
  gatewayClock = stack.clock!;
});
afterAll(async () => {
  await stack?.close();
});

async function createPending(customer: Record<string, unknown> = { customerName: `Sub ${randomUUID()}` }): Promise<string> {
  const created = await stack.graphql<CreateResult>(CREATE, {
    input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer },
  });
  expect(created.errors).toBeUndefined();
  return created.data!.createCustomer.pushOperation.pushOperationKey;
}

/** Advances the gateway's clock to its next poll and waits for that poll's read to reach the simulator. */
async function nextPoll(key: string): Promise<void> {
  const before = stack.pushReads(key);
  // The poll's timer (not a subscriber's deadline, minutes away), set once the previous read's answer is in.
  const delay = await waitForValue(() => gatewayClock.pendingDelays().find((ms) => ms <= 2_000));
  gatewayClock.advance(delay);
  await waitFor(() => stack.pushReads(key) > before);
}

describe("pushOperationUpdated", () => {
  it("sends PENDING, then SUCCESS once the push completes, then completes", async () => {
    const key = await createPending();
    const client = wsClient(stack.wsUrl);
    const received = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key });
    await waitFor(() => received.results.length === 1);
    expect(received.results[0]).toEqual({
      data: {
        pushOperationUpdated: expect.objectContaining({ pushOperationKey: key, status: "PENDING", statusCode: 202, completedOnUtc: null }),
      },
    });
    // Unchanged polls send nothing.
    await nextPoll(key);
    await nextPoll(key);
    expect(received.results).toHaveLength(1);
    simulatorClock.advance(300);
    await nextPoll(key);
    await received.done;
    expect(received.completed).toBe(true);
    expect(statuses(received)).toEqual(["PENDING", "SUCCESS"]);
    expect(received.results[1]!.data!["pushOperationUpdated"]).toMatchObject({ statusCode: 200, completedOnUtc: expect.any(String) });
    expect(stack.gateway.pushWatcher.activeWatches).toBe(0);
    await client.dispose();
  });

  it("sends FAILED as the final state", async () => {
    const key = await createPending({ emailAddress: "nameless@example.com" });
    const client = wsClient(stack.wsUrl);
    const received = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key });
    await waitFor(() => received.results.length === 1);
    simulatorClock.advance(300);
    await nextPoll(key);
    await received.done;
    expect(statuses(received)).toEqual(["PENDING", "FAILED"]);
    expect(received.completed).toBe(true);
    await client.dispose();
  });

  it("sends a finished operation once and completes", async () => {
    const key = await createPending();
    simulatorClock.advance(300);
    const client = wsClient(stack.wsUrl);
    const received = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key });
    await received.done;
    expect(statuses(received)).toEqual(["SUCCESS"]);
    expect(stack.pushReads(key)).toBe(1);
    await client.dispose();
  });

  it("answers an unknown operation with NOT_FOUND and completes", async () => {
    const client = wsClient(stack.wsUrl);
    const received = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key: randomUUID() });
    await received.done;
    expect(received.completed).toBe(true);
    expect(received.results).toHaveLength(1);
    expect(received.results[0]!.data).toBeNull();
    expect(received.results[0]!.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");
    await client.dispose();
  });

  it("answers a malformed key with BAD_USER_INPUT and no upstream call", async () => {
    stack.simulator.resetRequests();
    const client = wsClient(stack.wsUrl);
    const received = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key: "../../connections" });
    await received.done;
    expect(received.results[0]!.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argumentName: "pushOperationKey" });
    expect(stack.simulator.requests).toHaveLength(0);
    await client.dispose();
  });

  it("reports Codat failing on the first read as a coded error, with no URL in it; the next subscriber reads again", async () => {
    const key = await createPending();
    stack.simulator.injectFault({ kind: "malformed", method: "GET", path: /\/push\//, times: 1 });
    const client = wsClient(stack.wsUrl);
    const failed = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key });
    await failed.done;
    const error = failed.results[0]!.errors![0]!;
    expect(error.extensions?.["code"]).toMatch(/^UPSTREAM_/);
    expect(JSON.stringify(error)).not.toMatch(/127\.0\.0\.1|https?:|stack/);
    // The next subscriber reads again, and gets the state.
    const next = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key });
    await waitFor(() => next.results.length === 1);
    expect(statuses(next)).toEqual(["PENDING"]);
    simulatorClock.advance(300);
    await nextPoll(key);
    await next.done;
    await client.dispose();
  });

  it("re-reads at once on a bus signal (a webhook), before the next poll", async () => {
    const key = await createPending();
    const client = wsClient(stack.wsUrl);
    const received = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key });
    await waitFor(() => received.results.length === 1);
    simulatorClock.advance(300);
    const polls = gatewayClock.pendingDelays();
    await stack.gateway.pushStatus.publish({ companyId: DEMO_COMPANY_ID.toUpperCase(), pushOperationKey: key, source: "webhook" });
    await received.done;
    expect(statuses(received)).toEqual(["PENDING", "SUCCESS"]);
    // No poll was due: the gateway's clock never moved.
    expect(polls.length).toBeGreaterThan(0);
    expect(stack.pushReads(key)).toBe(2);
    await client.dispose();
  });

  it("ends a subscription that outlives the operation's timeoutInMinutes and a margin with UPSTREAM_TIMEOUT", async () => {
    const created = await stack.graphql<CreateResult>(CREATE, {
      input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: { customerName: "Slow" }, timeoutInMinutes: 1 },
    });
    const key = created.data!.createCustomer.pushOperation.pushOperationKey;
    const client = wsClient(stack.wsUrl);
    const received = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key });
    await waitFor(() => received.results.length === 1);
    // One minute and the one-minute margin, in poll-sized steps; the simulator's push stays pending.
    for (let elapsed = 0; elapsed < 120_000 && !received.completed; elapsed += 2_000) gatewayClock.advance(2_000);
    await received.done;
    expect(received.results.at(-1)!.errors?.[0]?.extensions?.["code"]).toBe("UPSTREAM_TIMEOUT");
    expect(stack.gateway.pushWatcher.activeWatches).toBe(0);
    simulatorClock.advance(300);
    await client.dispose();
  });

  it("refuses queries over WebSocket, and documents over the operation limits", async () => {
    const client = wsClient(stack.wsUrl);
    const query = subscribe(client, "{ __typename }", {});
    await query.done;
    expect((query.error as { extensions: { code: string } }[])[0]!.extensions.code).toBe("BAD_REQUEST");
    const deep = subscribe(client, 'subscription { pushOperationUpdated(companyId: "x", pushOperationKey: "y") { nope } }', {});
    await deep.done;
    expect((deep.error as { extensions: { code: string } }[])[0]!.extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    await client.dispose();
  });
});

describe("one watch per operation", () => {
  /** Subscribes `count` clients' worth of subscriptions (100 per connection), waits for each to see PENDING. */
  async function crowd(key: string, count: number) {
    const clients = Array.from({ length: Math.ceil(count / 100) }, () => wsClient(stack.wsUrl));
    const all = Array.from({ length: count }, (_, i) =>
      subscribe(clients[Math.floor(i / 100)]!, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key }),
    );
    await waitFor(() => all.every((r) => r.results.length === 1), { timeoutMs: 15_000 });
    return { clients, all };
  }

  /** The whole life of `count` subscribers: join, three unchanged polls, completion, one last poll. */
  async function lifetimeReads(count: number): Promise<number> {
    const key = await createPending();
    const { clients, all } = await crowd(key, count);
    expect(stack.gateway.pushWatcher.activeWatches).toBe(1);
    expect(stack.gateway.pushWatcher.activePollLoops).toBe(1);
    // The same, as an operator sees it.
    const metrics = await fetch(stack.gateway.metricsUrl ?? "").then((response) => response.text());
    expect(metrics).toContain(`codat_gateway_ws_connections ${clients.length}\n`);
    expect(metrics).toContain("codat_gateway_push_watches 1\n");
    expect(metrics).toContain("codat_gateway_push_poll_loops 1\n");
    for (let i = 0; i < 3; i++) await nextPoll(key);
    simulatorClock.advance(300);
    await nextPoll(key);
    await Promise.all(all.map((r) => r.done));
    expect(all.every((r) => r.completed && statuses(r).join() === "PENDING,SUCCESS")).toBe(true);
    for (const c of clients) await c.dispose();
    return stack.pushReads(key);
  }

  it("polls once per interval for 1,000 subscribers, as for one", async () => {
    const one = await lifetimeReads(1);
    const thousand = await lifetimeReads(1_000);
    console.info(`GET /companies/{id}/push/{key} over a subscription's life: 1 subscriber ${one}, 1,000 subscribers ${thousand}`);
    expect(one).toBe(5);
    expect(thousand).toBe(one);
  });

  it("stops polling when the subscribers leave", async () => {
    const key = await createPending();
    const { clients, all } = await crowd(key, 200);
    await nextPoll(key);
    for (const received of all.slice(0, 150)) received.unsubscribe();
    // 50 remain: the loop goes on.
    await waitFor(() => stack.gateway.pushWatcher.activeWatches === 1);
    await nextPoll(key);
    for (const received of all.slice(150)) received.unsubscribe();
    await waitFor(() => stack.gateway.pushWatcher.activeWatches === 0);
    expect(gatewayClock.pending).toBe(0);
    const reads = stack.pushReads(key);
    gatewayClock.advance(600_000);
    simulatorClock.advance(300);
    expect(stack.pushReads(key)).toBe(reads);
    for (const c of clients) await c.dispose();
  });
});

describe("bounds", () => {
  it("refuses more than 100 subscriptions at once on one connection with RATE_LIMITED", async () => {
    const key = await createPending();
    const client = wsClient(stack.wsUrl);
    const open = Array.from({ length: 100 }, () => subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key }));
    await waitFor(() => open.every((r) => r.results.length === 1));
    const extra = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key });
    await extra.done;
    expect((extra.error as { extensions: { code: string } }[])[0]!.extensions.code).toBe("RATE_LIMITED");
    // Another connection may still subscribe.
    const second = wsClient(stack.wsUrl);
    const more = subscribe(second, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key });
    await waitFor(() => more.results.length === 1);
    simulatorClock.advance(300);
    await nextPoll(key);
    await Promise.all([...open, more].map((r) => r.done));
    await client.dispose();
    await second.dispose();
  });

  it("closes open subscriptions with 1001 when the gateway stops", async () => {
    const own = await startSubscriptionStack({ simulator: { clock: new ManualClock() }, gatewayClock: true });
    const created = await own.graphql<CreateResult>(CREATE, {
      input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: { customerName: "Stopping" } },
    });
    const key = created.data!.createCustomer.pushOperation.pushOperationKey;
    const client = wsClient(own.wsUrl);
    const received = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key });
    await waitFor(() => received.results.length === 1);
    await own.close();
    expect(await client.closedWith).toBe(1001);
    await received.done;
    expect(own.gateway.pushWatcher.activeWatches).toBe(0);
    expect(own.clock!.pending).toBe(0);
    await client.dispose();
  });
});
