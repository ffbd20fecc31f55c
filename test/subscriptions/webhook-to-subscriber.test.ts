/**
 * The whole real-time path with webhooks: createCustomer → the simulator completes the push and sends Codat's
 * signed webhook to the gateway → the gateway verifies it, re-reads the operation once → the subscriber hears
 * SUCCESS. The gateway's watcher runs on a manual clock that is never advanced, so no poll can stand in for the
 * webhook: whatever the subscriber hears after PENDING came through the webhook.
 */
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ManualClock } from "codat-simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait.js";
import { newWebhookSecret } from "../webhooks/helpers.js";
import { CREATE, PUSH_UPDATED, startSubscriptionStack, statuses, subscribe, wsClient, type SubscriptionStack } from "./support.js";

const SECRET = newWebhookSecret();
const simulatorClock = new ManualClock(Date.now());
let webhookUrl: string | undefined;
let stack: SubscriptionStack;

beforeAll(async () => {
  stack = await startSubscriptionStack({
    simulator: { clock: simulatorClock, pushDelayMs: 1_000, webhooks: { url: () => webhookUrl, secret: SECRET } },
    env: { CODAT_WEBHOOK_SECRET: SECRET },
    gatewayClock: true,
  });
  webhookUrl = `${new URL(stack.url).origin}/webhooks/codat`;
});
afterAll(async () => {
  await stack?.close();
});

describe("webhook → subscriber", () => {
  it("delivers SUCCESS to the subscriber through the webhook alone, with one re-read of the operation", async () => {
    const client = wsClient(stack.wsUrl);
    const latenciesMs: number[] = [];
    for (let round = 0; round < 10; round += 1) {
      const created = await stack.graphql<{ createCustomer: { pushOperation: { pushOperationKey: string } } }>(CREATE, {
        input: {
          companyId: DEMO_COMPANY_ID,
          connectionId: DEMO_CONNECTION_ID,
          customer: { customerName: `Webhook ${round}`, status: "ACTIVE" },
        },
      });
      const key = created.data?.createCustomer.pushOperation.pushOperationKey ?? "";
      const received = subscribe(client, PUSH_UPDATED, { companyId: DEMO_COMPANY_ID, key });
      await waitFor(() => received.results.length === 1);
      expect(received.results[0]?.data).toMatchObject({ pushOperationUpdated: { status: "PENDING" } });
      const completedAt = performance.now();
      // The push completes now; the simulator sends its webhook at once.
      simulatorClock.advance(1_000);
      await received.done;
      latenciesMs.push(performance.now() - completedAt);
      expect(received.error).toBeUndefined();
      expect(statuses(received)).toEqual(["PENDING", "SUCCESS"]);
      // The first read and the one the webhook asked for: no poll.
      expect(stack.pushReads(key)).toBe(2);
      // The simulator records the gateway's answer once it has read it, which may be after the subscriber heard.
      await waitFor(() => stack.simulator.webhookDeliveries.some((d) => d.pushOperationKey === key && d.ok));
      expect(stack.simulator.webhookDeliveries.filter((d) => d.pushOperationKey === key)).toMatchObject([{ attempt: 1, ok: true }]);
    }
    latenciesMs.sort((a, b) => a - b);
    console.info(
      `push status: push completed → subscriber told SUCCESS through the webhook in ${latenciesMs.map((ms) => ms.toFixed(1)).join(", ")} ms (median ${latenciesMs[5]?.toFixed(1)} ms)`,
    );
    await client.dispose();
  });
});
