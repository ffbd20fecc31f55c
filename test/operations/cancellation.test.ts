/**
 * Cancellation: a client that goes away, or an operation past OPERATION_TIMEOUT_MS, aborts the operation's
 * pending Codat reads (the simulator sees their connections closed by the gateway, the company's slots come
 * back); a write already sent is never aborted: Codat keeps it, and it can be found again.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ManualClock } from "codat-simulator";
import { createLogger } from "../../src/observability/logger.js";
import { startStack, useStack, type Stack } from "../helpers/stack.js";
import { memoryDestination } from "../helpers/logs.js";
import { waitFor, waitForValue } from "../helpers/wait.js";

/** A GraphQL request its test can abandon: `abort()` closes the connection, as a client going away does. */
function abandonable(stack: Stack, query: string, variables: Record<string, unknown> = {}) {
  const client = new AbortController();
  const outcome = fetch(stack.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
    signal: client.signal,
  }).then(
    (response) => response.text(),
    (error: unknown) => error,
  );
  return {
    async abort(): Promise<unknown> {
      client.abort();
      return outcome;
    },
  };
}

const CUSTOMERS = /* GraphQL */ `
  query Page($companyId: ID!) {
    customers(companyId: $companyId, first: 2) {
      nodes {
        customerId
      }
    }
  }
`;

const CREATE = /* GraphQL */ `
  mutation Create($input: CreateCustomerInput!) {
    createCustomer(input: $input) {
      idempotencyKey
      pushOperation {
        pushOperationKey
        status
      }
    }
  }
`;

const UPDATE = /* GraphQL */ `
  mutation Update($input: UpdateCustomerInput!) {
    updateCustomer(input: $input) {
      pushOperation {
        pushOperationKey
      }
    }
  }
`;

const customerInput = (name: string) => ({ customerName: name, defaultCurrency: "GBP", status: "ACTIVE" });

const LIST_PATH = /\/data\/customers$/;
const PUSH_PATH = /\/push\/customers(\/[^/]+)?$/;

describe("a client that goes away", () => {
  const clock = new ManualClock();
  const destination = memoryDestination();
  const stack = useStack({
    simulator: { clock },
    logger: createLogger({ level: "debug", pretty: false, secrets: [], destination }),
  });
  const disconnects = () => destination.lines().filter((line) => line.msg === "request" && line["incomplete"] === "client_gone").length;
  const pushKeys = () =>
    new Set(
      stack.simulator.store
        .company(DEMO_COMPANY_ID)!
        .pushOperations.all()
        .map((op) => op.pushOperationKey),
    );

  /**
   * Sends a write and leaves once Codat holds it (the simulator answers only when its clock moves), then lets
   * Codat finish: the write must have completed, unaborted, with exactly one new push operation.
   */
  async function abandonWhileSent(
    method: "POST" | "PUT",
    query: string,
    variables: Record<string, unknown>,
  ): Promise<{ before: Set<string>; created: string[] }> {
    const before = pushKeys();
    stack.simulator.injectFault({ kind: "delay", ms: 1_000, method, path: PUSH_PATH });
    const seen = disconnects();
    const operation = abandonable(stack, query, variables);
    const sent = await waitForValue(() => stack.upstream().find((request) => request.method === method));
    await waitFor(() => clock.pending > 0);

    expect(await operation.abort()).toMatchObject({ name: "AbortError" });
    await waitFor(() => disconnects() > seen);
    clock.advance(1_000);
    await waitFor(() => stack.gateway.client.inFlight(DEMO_COMPANY_ID) === 0);
    expect(sent.aborted).toBeUndefined();
    const created = [...pushKeys()].filter((key) => !before.has(key));
    expect(created).toHaveLength(1);
    return { before, created };
  }

  it("aborts its query's pending Codat call: the simulator sees it closed, the company's slot comes back", async () => {
    stack.simulator.injectFault({ kind: "hang", path: LIST_PATH });
    const operation = abandonable(stack, CUSTOMERS, { companyId: DEMO_COMPANY_ID });
    const upstream = await waitForValue(() => stack.upstream().find((request) => LIST_PATH.test(request.path)));
    await waitFor(() => stack.gateway.client.inFlight(DEMO_COMPANY_ID) === 1);
    expect(upstream.aborted).toBeUndefined();

    expect(await operation.abort()).toMatchObject({ name: "AbortError" });
    await waitFor(() => upstream.aborted === true);
    await waitFor(() => stack.gateway.client.inFlight(DEMO_COMPANY_ID) === 0);
    // No retry of the abandoned read, and the routine disconnect is no error in the logs.
    expect(stack.upstream().filter((request) => LIST_PATH.test(request.path))).toHaveLength(1);
    expect(destination.lines().filter((line) => line.level === "error")).toEqual([]);
  });

  it("still completes a mutation already sent: Codat keeps the push, a retry with the same key gets the same one", async () => {
    const idempotencyKey = randomUUID();
    const input = {
      companyId: DEMO_COMPANY_ID,
      connectionId: DEMO_CONNECTION_ID,
      customer: customerInput(`Gone ${idempotencyKey}`),
      idempotencyKey,
    };
    const { before, created } = await abandonWhileSent("POST", CREATE, { input });

    const retry = await stack.graphql<{ createCustomer: { idempotencyKey: string; pushOperation: { pushOperationKey: string } } }>(CREATE, {
      input,
    });
    expect(retry.errors).toBeUndefined();
    expect(retry.data!.createCustomer).toMatchObject({ idempotencyKey, pushOperation: { pushOperationKey: created[0] } });
    expect(stack.upstream().filter((request) => request.method === "POST")).toHaveLength(2);
    expect(pushKeys().size).toBe(before.size + 1);
  });

  it("still completes an update already sent, whose push operation pushOperations then lists", async () => {
    const customer = stack.simulator.store.company(DEMO_COMPANY_ID)!.customers.all()[0]!;
    const { created } = await abandonWhileSent("PUT", UPDATE, {
      input: {
        companyId: DEMO_COMPANY_ID,
        connectionId: DEMO_CONNECTION_ID,
        customerId: customer.id,
        customer: customerInput(customer.customerName ?? "Updated"),
      },
    });

    const list = await stack.graphql<{ pushOperations: { nodes: { pushOperationKey: string }[] } }>(
      `query($companyId: ID!) { pushOperations(companyId: $companyId, last: 5) { nodes { pushOperationKey } } }`,
      { companyId: DEMO_COMPANY_ID },
    );
    expect(list.errors).toBeUndefined();
    expect(list.data!.pushOperations.nodes.map((node) => node.pushOperationKey)).toContain(created[0]);
  });
});

describe("an operation past OPERATION_TIMEOUT_MS", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { OPERATION_TIMEOUT_MS: "300" } });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.simulator.clearFaults();
    stack.resetUpstream();
  });

  it("answers with UPSTREAM_TIMEOUT on the pending fields, the others' data, and the upstream call closed", async () => {
    stack.simulator.injectFault({ kind: "hang", path: LIST_PATH });
    const result = await stack.graphql<{ customers: unknown; connections: { connectionId: string }[] }>(
      /* GraphQL */ `
        query Slow($companyId: ID!) {
          customers(companyId: $companyId, first: 2) {
            nodes {
              customerId
            }
          }
          connections(companyId: $companyId) {
            connectionId
          }
        }
      `,
      { companyId: DEMO_COMPANY_ID },
    );
    expect(result.status).toBe(200);
    expect(result.errors).toEqual([
      expect.objectContaining({
        message: "The operation took longer than 300 ms.",
        path: ["customers"],
        extensions: { code: "UPSTREAM_TIMEOUT" },
      }),
    ]);
    expect(result.data).toEqual({ customers: null, connections: [expect.objectContaining({ connectionId: DEMO_CONNECTION_ID })] });

    const upstream = stack.upstream().find((request) => LIST_PATH.test(request.path));
    expect(upstream).toBeDefined();
    await waitFor(() => upstream?.aborted === true);
    await waitFor(() => stack.gateway.client.inFlight(DEMO_COMPANY_ID) === 0);
  });

  it("lets a write already sent finish past the deadline, and sends no write after it", async () => {
    const pushKeys = () =>
      new Set(
        stack.simulator.store
          .company(DEMO_COMPANY_ID)!
          .pushOperations.all()
          .map((op) => op.pushOperationKey),
      );
    const before = pushKeys();
    const first = {
      companyId: DEMO_COMPANY_ID,
      connectionId: DEMO_CONNECTION_ID,
      customer: customerInput("Slow"),
      idempotencyKey: randomUUID(),
    };
    const second = { ...first, customer: customerInput("Never sent"), idempotencyKey: randomUUID() };
    // The first POST is held longer than the deadline (timers fire in due order: the operation's comes first).
    stack.simulator.injectFault({ kind: "delay", ms: 500, method: "POST", path: PUSH_PATH });
    const result = await stack.graphql(
      /* GraphQL */ `
        mutation Two($first: CreateCustomerInput!, $second: CreateCustomerInput!) {
          first: createCustomer(input: $first) {
            pushOperation {
              pushOperationKey
            }
          }
          second: createCustomer(input: $second) {
            pushOperation {
              pushOperationKey
            }
          }
        }
      `,
      { first, second },
    );
    // Each mutation's outcome on its own (nullable payloads): the first write's payload stands, the second is null.
    expect(result.data).toEqual({ first: { pushOperation: { pushOperationKey: expect.any(String) } }, second: null });
    expect(result.errors).toEqual([
      expect.objectContaining({
        message: "The operation took longer than 300 ms.",
        path: ["second"],
        extensions: { code: "UPSTREAM_TIMEOUT" },
      }),
    ]);
    const posts = stack.upstream().filter((request) => request.method === "POST");
    expect(posts.map((request) => request.headers["idempotency-key"])).toEqual([first.idempotencyKey]);
    expect(posts[0]?.aborted).toBeUndefined();
    const created = [...pushKeys()].filter((key) => !before.has(key));
    expect(created).toHaveLength(1);

    const retry = await stack.graphql<{ createCustomer: { pushOperation: { pushOperationKey: string } } }>(CREATE, { input: first });
    expect(retry.errors).toBeUndefined();
    expect(retry.data!.createCustomer.pushOperation.pushOperationKey).toBe(created[0]);
  });
});
