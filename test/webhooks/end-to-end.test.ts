/**
 * Codat's webhooks end to end: the simulator announces each completed push to the gateway's own webhook route
 * (signed, as Codat does), and the gateway turns it into a signal on its push status bus; its syncs' read.completed
 * reach the same route.
 */
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ManualClock } from "codat-simulator";
import { describe, expect, it } from "vitest";
import type { PushOperationSignal } from "../../src/push-status/bus.js";
import { useStack } from "../helpers/stack.js";
import { waitFor, waitForValue } from "../helpers/wait.js";
import { CREATE, type CreateResult } from "../subscriptions/support.js";
import { newWebhookSecret, webhookCount } from "./helpers.js";

const SECRET = newWebhookSecret();
// The simulator's clock at the real time: the gateway checks each webhook's timestamp against its own.
const clock = new ManualClock(Date.now());
// The gateway listens after the simulator has started: the simulator reads the URL at each attempt.
let webhookUrl: string | undefined;

describe("simulator → gateway webhooks", () => {
  const stack = useStack({
    simulator: { clock, pushDelayMs: 1_000, webhooks: { url: () => webhookUrl, secret: SECRET } },
    env: { CODAT_WEBHOOK_SECRET: SECRET },
  });

  /** `allowSync: false` leaves out the sync (and its read.completed) that follows a push by default. */
  async function createCustomer(customer: Record<string, unknown>, allowSync = true): Promise<string> {
    webhookUrl = `${stack.origin}/webhooks/codat`;
    const created = await stack.graphql<CreateResult>(CREATE, {
      input: {
        companyId: DEMO_COMPANY_ID,
        connectionId: DEMO_CONNECTION_ID,
        customer,
        ...(allowSync ? {} : { allowSyncOnPushComplete: false }),
      },
    });
    expect(created.errors).toBeUndefined();
    const operation = created.data?.createCustomer.pushOperation;
    expect(operation?.status).toBe("PENDING");
    return operation?.pushOperationKey ?? "";
  }

  it("a createCustomer's completion reaches the bus as a webhook signal with status Success", async () => {
    const key = await createCustomer({ customerName: "End To End Ltd" });
    const seen: PushOperationSignal[] = [];
    stack.gateway.pushStatus.subscribe({ companyId: DEMO_COMPANY_ID, pushOperationKey: key }, (signal) => seen.push(signal));
    clock.advance(1_000);
    const signal = await waitForValue(() => seen.find((s) => s.source === "webhook"));
    expect(signal).toEqual({ companyId: DEMO_COMPANY_ID, pushOperationKey: key, source: "webhook", status: "Success" });
    await waitFor(() => stack.simulator.webhookDeliveries.some((d) => d.pushOperationKey === key && d.ok));
    expect(stack.simulator.webhookDeliveries.filter((d) => d.pushOperationKey === key)).toMatchObject([
      { eventType: "customers.write.successful", attempt: 1, status: 200, ok: true },
    ]);
  });

  it("a failed push reaches the bus as Failed", async () => {
    const key = await createCustomer({ customerName: "Bad Currency Ltd", defaultCurrency: "pounds" });
    const seen: PushOperationSignal[] = [];
    stack.gateway.pushStatus.subscribe({ companyId: DEMO_COMPANY_ID, pushOperationKey: key }, (signal) => seen.push(signal));
    clock.advance(1_000);
    const signal = await waitForValue(() => seen.find((s) => s.source === "webhook"));
    expect(signal.status).toBe("Failed");
  });

  it("a gateway that refused a delivery (down, 5xx) gets it again on the simulator's retry, once", async () => {
    webhookUrl = `${stack.origin}/webhooks/codat`;
    const key = await createCustomer({ customerName: "Retried Ltd" }, false);
    const seen: PushOperationSignal[] = [];
    stack.gateway.pushStatus.subscribe({ companyId: DEMO_COMPANY_ID, pushOperationKey: key }, (signal) => seen.push(signal));
    // The first attempt goes to a path the gateway does not serve (404), the retry to the webhook route.
    webhookUrl = `${stack.origin}/webhooks/elsewhere`;
    clock.advance(1_000);
    await waitFor(() => stack.simulator.webhookDeliveries.some((d) => d.pushOperationKey === key && d.status === 404));
    webhookUrl = `${stack.origin}/webhooks/codat`;
    // The earlier tests' deliveries (the read.completed of their pushes' syncs too) are all answered before counting.
    await waitFor(() => stack.simulator.webhookDeliveries.every((d) => d.status !== undefined || d.error !== undefined));
    const accepted = await webhookCount(stack.gateway.metricsUrl, "accepted");
    clock.advance(1_000);
    await waitForValue(() => seen.find((s) => s.source === "webhook"));
    // The gateway publishes once it has answered; the simulator records the answer when it has read it.
    await waitFor(() => stack.simulator.webhookDeliveries.some((d) => d.pushOperationKey === key && d.status === 200));
    expect(stack.simulator.webhookDeliveries.filter((d) => d.pushOperationKey === key).map((d) => [d.attempt, d.status])).toEqual([
      [1, 404],
      [2, 200],
    ]);
    expect(await webhookCount(stack.gateway.metricsUrl, "accepted")).toBe(accepted + 1);
  });

  it("the simulator's syncs reach the route as read.completed: accepted when customers changed, unchanged when not", async () => {
    webhookUrl = `${stack.origin}/webhooks/codat`;
    // The earlier tests' deliveries (their pushes' syncs included) have all been answered before counting.
    await waitFor(() => stack.simulator.webhookDeliveries.every((d) => d.status !== undefined || d.error !== undefined));
    const accepted = await webhookCount(stack.gateway.metricsUrl, "accepted");
    const unchanged = await webhookCount(stack.gateway.metricsUrl, "unchanged");
    const [customer] = stack.simulator.store.company(DEMO_COMPANY_ID)?.customers.all() ?? [];
    if (customer === undefined) throw new Error("no demo customer");
    const edit = stack.simulator.editCustomer(DEMO_COMPANY_ID, { ...customer, customerName: "Edited In Xero Ltd" });
    const quiet = stack.simulator.sync(DEMO_COMPANY_ID);
    for (const sync of [edit, quiet]) {
      await waitFor(() => stack.simulator.webhookDeliveries.some((d) => d.eventId === sync?.id && d.status === 200));
    }
    expect(await webhookCount(stack.gateway.metricsUrl, "accepted")).toBe(accepted + 1);
    expect(await webhookCount(stack.gateway.metricsUrl, "unchanged")).toBe(unchanged + 1);
  });
});
