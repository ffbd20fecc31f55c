/**
 * A push that is already over when a subscription first reads it (it completed between the mutation's Pending
 * answer and the subscribe): the watcher tells the bus — and so the read cache — before it tells the subscriber,
 * so a client that re-reads the customer on SUCCESS gets Codat's record after the write, never the cached one
 * from before it. (The reference app does exactly this: examples/web's form re-reads on SUCCESS.)
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "codat-simulator";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID } from "codat-simulator";
import { waitFor } from "../helpers/wait.js";
import { PUSH_UPDATED, startSubscriptionStack, statuses, subscribe, wsClient, type SubscriptionStack } from "../subscriptions/support.js";

const simulatorClock = new ManualClock();
const PUSH_DELAY_MS = 300;
let stack: SubscriptionStack;
beforeAll(async () => {
  stack = await startSubscriptionStack({ simulator: { clock: simulatorClock, pushDelayMs: PUSH_DELAY_MS } });
});
afterAll(async () => {
  await stack?.close();
});

const UPDATE = /* GraphQL */ `
  mutation Update($input: UpdateCustomerInput!) {
    updateCustomer(input: $input) {
      pushOperation {
        pushOperationKey
        status
      }
    }
  }
`;
const CUSTOMER = `query($companyId: ID!, $customerId: ID!) { customer(companyId: $companyId, customerId: $customerId) { customerId customerName status } }`;

describe("a push already over when its subscription starts", () => {
  it("drops the cached customer before the subscriber hears SUCCESS", async () => {
    const page = await stack.graphql<{ customers: { nodes: { customerId: string }[] } }>(
      `query($companyId: ID!) { customers(companyId: $companyId, first: 1) { nodes { customerId } } }`,
      { companyId: DEMO_COMPANY_ID },
    );
    const customerId = page.data!.customers.nodes[0]!.customerId;
    const before = await stack.graphql<{ customer: { customerName: string; status: string } }>(CUSTOMER, {
      companyId: DEMO_COMPANY_ID,
      customerId,
    });
    const reads = (): number =>
      stack.simulator.requests.filter((r) => r.method === "GET" && r.path.endsWith(`/data/customers/${customerId}`)).length;
    // Cached: a second read costs no Codat call.
    const cachedReads = reads();
    await stack.graphql(CUSTOMER, { companyId: DEMO_COMPANY_ID, customerId });
    expect(reads()).toBe(cachedReads);

    const name = `Renamed ${randomUUID()}`;
    const updated = await stack.graphql<{ updateCustomer: { pushOperation: { pushOperationKey: string; status: string } } }>(UPDATE, {
      input: {
        companyId: DEMO_COMPANY_ID,
        connectionId: DEMO_CONNECTION_ID,
        customerId,
        customer: { id: customerId, customerName: name, status: before.data!.customer.status },
      },
    });
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateCustomer.pushOperation.status).toBe("PENDING");
    // The push completes at Codat before anyone asks.
    simulatorClock.advance(PUSH_DELAY_MS);

    const client = wsClient(stack.wsUrl);
    const received = subscribe(client, PUSH_UPDATED, {
      companyId: DEMO_COMPANY_ID,
      key: updated.data!.updateCustomer.pushOperation.pushOperationKey,
    });
    await waitFor(() => received.results.length === 1);
    expect(statuses(received)).toEqual(["SUCCESS"]);
    // What the client re-reads on SUCCESS is the written record.
    const after = await stack.graphql<{ customer: { customerName: string } }>(CUSTOMER, { companyId: DEMO_COMPANY_ID, customerId });
    expect(after.data!.customer.customerName).toBe(name);
    await received.done;
    await client.dispose();
  });
});
