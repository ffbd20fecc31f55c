import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { waitForValue } from "../helpers/wait.js";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";
import { componentRef, schemaErrors } from "../helpers/openapi.js";

const PUSH_FIELDS = /* GraphQL */ `
  pushOperationKey companyId connectionId dataType status statusCode requestedOnUtc completedOnUtc
  timeoutInMinutes errorMessage
  validation { errors { itemId message validatorName } warnings { itemId message validatorName } }
  changes { type recordRef { id dataType } attachmentId }
`;

const CREATE = /* GraphQL */ `
  mutation Create($input: CreateCustomerInput!) {
    createCustomer(input: $input) { idempotencyKey pushOperation { ${PUSH_FIELDS} } customer { customerId customerName } }
  }
`;

const UPDATE = /* GraphQL */ `
  mutation Update($input: UpdateCustomerInput!) {
    updateCustomer(input: $input) { pushOperation { ${PUSH_FIELDS} } customer { customerId customerName status } }
  }
`;

const POLL = /* GraphQL */ `
  query Poll($companyId: ID!, $key: ID!) { pushOperation(companyId: $companyId, pushOperationKey: $key) { ${PUSH_FIELDS} } }
`;

interface PushOperation {
  pushOperationKey: string;
  connectionId: string;
  status: string;
  statusCode: number;
  validation: { errors: { itemId: string | null; message: string | null; validatorName: string | null }[] } | null;
  changes: { type: string; recordRef: { id: string | null } | null }[];
}
interface CreatePayload {
  createCustomer: { idempotencyKey: string; pushOperation: PushOperation; customer: { customerId: string; customerName: string } | null };
}
interface UpdatePayload {
  updateCustomer: { pushOperation: PushOperation; customer: { customerId: string; customerName: string; status: string } | null };
}

const stack = useStack({ simulator: { pushDelayMs: 100 } });

const customerInput = (name: string) => ({
  customerName: name,
  contactName: "Ada Lovelace",
  emailAddress: "ada@example.com",
  phone: "+44 20 7946 0000",
  defaultCurrency: "GBP",
  registrationNumber: "12345678",
  taxNumber: "GB123456789",
  status: "ACTIVE",
  addresses: [{ type: "BILLING", line1: "1 Main St", city: "London", country: "United Kingdom", postalCode: "EC1A 1BB" }],
  contacts: [{ name: "Ada", email: "ada@example.com", phone: [{ number: "07700 900000", type: "MOBILE" }], status: "ACTIVE" }],
});

const posts = () => stack.upstream().filter((r) => r.method === "POST");
const customersNamed = (name: string) =>
  stack.simulator.store
    .company(DEMO_COMPANY_ID)!
    .customers.all()
    .filter((c) => c.customerName === name);

async function pollUntilDone(key: string): Promise<PushOperation> {
  return waitForValue(
    async () => {
      const result = await stack.graphql<{ pushOperation: PushOperation }>(POLL, { companyId: DEMO_COMPANY_ID, key });
      const operation = result.data!.pushOperation;
      return operation.status === "PENDING" ? undefined : operation;
    },
    { timeoutMs: 10_000, intervalMs: 25 },
  );
}

describe("createCustomer", () => {
  it("posts a body that validates against Codat's Customer schema, with a generated Idempotency-Key it returns", async () => {
    const name = `Create ${randomUUID()}`;
    const result = await stack.graphql<CreatePayload>(CREATE, {
      input: {
        companyId: DEMO_COMPANY_ID,
        connectionId: DEMO_CONNECTION_ID,
        customer: customerInput(name),
        timeoutInMinutes: 30,
        allowSyncOnPushComplete: true,
      },
    });
    expect(result.errors).toBeUndefined();
    const payload = result.data!.createCustomer;
    expect(payload.pushOperation).toMatchObject({ status: "PENDING", connectionId: DEMO_CONNECTION_ID });
    expect(payload.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);

    expect(posts()).toHaveLength(1);
    const request = posts()[0]!;
    expect(request.path).toBe(`/companies/${DEMO_COMPANY_ID}/connections/${DEMO_CONNECTION_ID}/push/customers`);
    expect(request.headers["idempotency-key"]).toBe(payload.idempotencyKey);
    expect(request.query).toEqual({ timeoutInMinutes: "30", allowSyncOnPushComplete: "true" });
    const body = JSON.parse(request.body ?? "null") as Record<string, unknown>;
    expect(schemaErrors(componentRef("accounting-customers", "Customer"), body)).toEqual([]);
    expect(schemaErrors(componentRef("sync-for-expenses-customers", "Customer"), body)).toEqual([]);
    expect(body).toMatchObject({
      customerName: name,
      status: "Active",
      addresses: [{ type: "Billing" }],
      contacts: [{ phone: [{ type: "Mobile" }] }],
    });
  });

  it("polls a push to completion, after which the customer is readable", async () => {
    const name = `Polled ${randomUUID()}`;
    const created = await stack.graphql<CreatePayload>(CREATE, {
      input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: customerInput(name) },
    });
    const done = await pollUntilDone(created.data!.createCustomer.pushOperation.pushOperationKey);
    expect(done.status).toBe("SUCCESS");
    const id = done.changes.find((c) => c.type === "CREATED")?.recordRef?.id;
    expect(id).toBeTruthy();
    const read = await stack.graphql(
      `query($id: ID!) { customer(companyId: "${DEMO_COMPANY_ID}", customerId: $id) { customerId customerName } }`,
      { id },
    );
    expect(read.data).toEqual({ customer: { customerId: id, customerName: name } });

    const list = await stack.graphql<{ pushOperations: { totalCount: number; nodes: { pushOperationKey: string }[] } }>(
      `{ pushOperations(companyId: "${DEMO_COMPANY_ID}", last: 5, orderBy: "requestedOnUtc") { totalCount nodes { pushOperationKey status } } }`,
    );
    expect(list.errors).toBeUndefined();
    expect(list.data!.pushOperations.nodes.map((n) => n.pushOperationKey)).toContain(
      created.data!.createCustomer.pushOperation.pushOperationKey,
    );
  });

  it("retries a POST whose response was lost with the same key, creating exactly one customer", async () => {
    const name = `Lost ${randomUUID()}`;
    stack.simulator.injectFault({ kind: "applyThenReset", method: "POST" });
    const result = await stack.graphql<CreatePayload>(CREATE, {
      input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: customerInput(name) },
    });
    expect(result.errors).toBeUndefined();
    expect(posts()).toHaveLength(2);
    expect(posts()[0]!.headers["idempotency-key"]).toBe(posts()[1]!.headers["idempotency-key"]);
    await pollUntilDone(result.data!.createCustomer.pushOperation.pushOperationKey);
    expect(customersNamed(name)).toHaveLength(1);
  });

  it("creates one customer for two concurrent identical mutations with the same key", async () => {
    const name = `Concurrent ${randomUUID()}`;
    const idempotencyKey = randomUUID();
    const input = { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: customerInput(name), idempotencyKey };
    const [a, b] = await Promise.all([stack.graphql<CreatePayload>(CREATE, { input }), stack.graphql<CreatePayload>(CREATE, { input })]);
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(a.data!.createCustomer.pushOperation.pushOperationKey).toBe(b.data!.createCustomer.pushOperation.pushOperationKey);
    expect(a.data!.createCustomer.idempotencyKey).toBe(idempotencyKey);
    await pollUntilDone(a.data!.createCustomer.pushOperation.pushOperationKey);
    expect(customersNamed(name)).toHaveLength(1);
  });

  it("answers the same key with different input as CONFLICT and creates nothing more", async () => {
    const idempotencyKey = randomUUID();
    const first = `First ${randomUUID()}`;
    await stack.graphql(CREATE, {
      input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: customerInput(first), idempotencyKey },
    });
    const second = await stack.graphql(CREATE, {
      input: {
        companyId: DEMO_COMPANY_ID,
        connectionId: DEMO_CONNECTION_ID,
        customer: customerInput(`Other ${randomUUID()}`),
        idempotencyKey,
      },
    });
    expect(second.errors?.[0]?.extensions?.["code"]).toBe("CONFLICT");
  });

  it("does not retry a 5xx (Codat replays it for the key)", async () => {
    stack.simulator.injectFault({ kind: "status", status: 500, method: "POST", times: 5 });
    const result = await stack.graphql(CREATE, {
      input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: customerInput("x") },
    });
    expect(result.errors?.[0]?.extensions?.["code"]).toBe("UPSTREAM_ERROR");
    expect(posts()).toHaveLength(1);
    // The create may or may not have happened: the error carries the key it was sent with, for a safe retry.
    expect(result.errors?.[0]?.extensions?.["idempotencyKey"]).toBe(posts()[0]!.headers["idempotency-key"]);
  });

  it("a create whose every attempt is lost fails with the idempotencyKey it used; resending it creates one customer", async () => {
    stack.simulator.injectFault({ kind: "applyThenReset", method: "POST", times: 10 });
    const name = `Lost ${randomUUID()}`;
    const input = { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: customerInput(name) };
    const lost = await stack.graphql(CREATE, { input });
    expect(lost.errors?.[0]?.extensions?.["code"]).toMatch(/^UPSTREAM_/);
    const key = lost.errors?.[0]?.extensions?.["idempotencyKey"] as string;
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    stack.simulator.clearFaults();
    const retried = await stack.graphql<CreatePayload>(CREATE, { input: { ...input, idempotencyKey: key } });
    expect(retried.errors).toBeUndefined();
    await pollUntilDone(retried.data!.createCustomer.pushOperation.pushOperationKey);
    const found = await stack.graphql<{ customers: { totalCount: number } }>(
      `query($q: String) { customers(companyId: "${DEMO_COMPANY_ID}", query: $q) { totalCount } }`,
      { q: `customerName=${name}` },
    );
    expect(found.data!.customers.totalCount).toBe(1);
  });

  it("sends every writable field of Codat's Customer schema, and lets Codat judge values (no email format check: Codat judges it)", async () => {
    stack.resetUpstream();
    const customer = {
      ...customerInput(`Complete ${randomUUID()}`),
      id: "SAGE-50-CUST-001",
      emailAddress: "accounts at example dot com",
      defaultCurrency: "GBP",
      metadata: { isDeleted: false },
      supplementalData: { content: { customFields: { tier: "gold" } } },
      addresses: [{ type: "BILLING", line1: "1 Main St", countryCode: "GB" }],
      contacts: [{ name: "Ada", status: "ACTIVE", modifiedDate: "2026-01-02T03:04:05Z" }],
    };
    const result = await stack.graphql<CreatePayload>(CREATE, {
      input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer, timeoutInMinutes: 525_600 },
    });
    expect(result.errors).toBeUndefined();
    const request = posts()[0]!;
    expect(request.query).toMatchObject({ timeoutInMinutes: "525600" });
    const body = JSON.parse(request.body ?? "null") as Record<string, unknown>;
    const problems = schemaErrors(componentRef("accounting-customers", "Customer"), body);
    expect(problems, JSON.stringify(problems)).toEqual([]);
    expect(body).toMatchObject({
      id: "SAGE-50-CUST-001",
      emailAddress: "accounts at example dot com",
      defaultCurrency: "GBP",
      metadata: { isDeleted: false },
      supplementalData: { content: { customFields: { tier: "gold" } } },
      addresses: [{ type: "Billing", countryCode: "GB" }],
      contacts: [{ status: "Active", modifiedDate: "2026-01-02T03:04:05Z" }],
    });
  });

  it("returns a push that fails validation as data naming the field", async () => {
    const { customerName: _omitted, ...nameless } = customerInput("unused");
    const created = await stack.graphql<CreatePayload>(CREATE, {
      input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: nameless },
    });
    expect(created.errors).toBeUndefined();
    const done = await pollUntilDone(created.data!.createCustomer.pushOperation.pushOperationKey);
    expect(done.status).toBe("FAILED");
    expect(done.validation?.errors.map((e) => e.message).join(" ")).toMatch(/customerName/i);
  });

  it("returns Codat's outright 400 refusal as data too", async () => {
    stack.simulator.injectFault({
      kind: "status",
      status: 400,
      method: "POST",
      body: {
        statusCode: 400,
        error: "Validation failed",
        correlationId: "c-400",
        validation: { errors: [{ itemId: "emailAddress", message: "EmailAddress is invalid", validatorName: "Customer" }], warnings: [] },
      },
    });
    const result = await stack.graphql<CreatePayload>(CREATE, {
      input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: customerInput("x") },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data!.createCustomer.pushOperation).toMatchObject({
      status: "FAILED",
      statusCode: 400,
      validation: { errors: [{ itemId: "emailAddress", message: "EmailAddress is invalid", validatorName: "Customer" }] },
    });
    expect(result.data!.createCustomer.customer).toBeNull();
  });

  it("refuses bad input with BAD_USER_INPUT and sends nothing", async () => {
    const base = { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: customerInput("x") };
    const cases: Record<string, unknown>[] = [
      { ...base, customer: { ...customerInput("x"), status: "NOPE" } },
      { ...base, customer: { ...customerInput("x"), addresses: [{ type: "HOME" }] } },
      { ...base, companyId: "not-a-uuid" },
      { ...base, connectionId: "../../x" },
      { ...base, customer: { ...customerInput("x"), customerName: "n".repeat(1001) } },
      { ...base, customer: { ...customerInput("x"), emailAddress: `${"e".repeat(320)}@x` } },
      { ...base, customer: { ...customerInput("x"), defaultCurrency: "G".repeat(101) } },
      { ...base, customer: { ...customerInput("x"), supplementalData: ["not", "an", "object"] } },
      { ...base, customer: { ...customerInput("x"), supplementalData: { content: { big: { v: "x".repeat(70_000) } } } } },
      { ...base, customer: { ...customerInput("x"), addresses: Array.from({ length: 51 }, () => ({ type: "BILLING" })) } },
      { ...base, idempotencyKey: "not-a-guid" },
      { ...base, timeoutInMinutes: 0 },
    ];
    for (const input of cases) {
      const result = await stack.graphql(CREATE, { input });
      expect(result.errors?.[0]?.extensions?.["code"], JSON.stringify(input).slice(0, 200)).toBe("BAD_USER_INPUT");
    }
    expect(stack.upstream()).toHaveLength(0);
  });
});

describe("updateCustomer", () => {
  async function someCustomerId(): Promise<string> {
    const page = await stack.graphql<{ customers: { nodes: { customerId: string }[] } }>(
      `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 3, query: "status=Active") { nodes { customerId } } }`,
    );
    stack.resetUpstream();
    return page.data!.customers.nodes[2]!.customerId;
  }

  it("sends PUT with forceUpdate and the customer id; the payload's customer stays null while the push is pending", async () => {
    const id = await someCustomerId();
    const name = `Updated ${randomUUID()}`;
    const result = await stack.graphql<UpdatePayload>(UPDATE, {
      input: {
        companyId: DEMO_COMPANY_ID,
        connectionId: DEMO_CONNECTION_ID,
        customerId: id,
        customer: customerInput(name),
        forceUpdate: true,
        timeoutInMinutes: 5,
      },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data!.updateCustomer.pushOperation.status).toBe("PENDING");
    expect(result.data!.updateCustomer.customer).toBeNull();
    const puts = stack.upstream().filter((r) => r.method === "PUT");
    expect(puts).toHaveLength(1);
    expect(stack.upstream()).toHaveLength(1);
    expect(puts[0]!.path).toBe(`/companies/${DEMO_COMPANY_ID}/connections/${DEMO_CONNECTION_ID}/push/customers/${id}`);
    expect(puts[0]!.query).toEqual({ forceUpdate: "true", timeoutInMinutes: "5" });
    expect(puts[0]!.headers["idempotency-key"]).toBeUndefined();
    const body = JSON.parse(puts[0]!.body ?? "null") as unknown;
    expect(schemaErrors(componentRef("accounting-customers", "Customer"), body)).toEqual([]);

    const done = await pollUntilDone(result.data!.updateCustomer.pushOperation.pushOperationKey);
    expect(done.status).toBe("SUCCESS");
    const read = await stack.graphql(`query($id: ID!) { customer(companyId: "${DEMO_COMPANY_ID}", customerId: $id) { customerName } }`, {
      id,
    });
    expect(read.data).toEqual({ customer: { customerName: name } });
  });

  it("fails a stale update without forceUpdate, as data", async () => {
    const id = await someCustomerId();
    const result = await stack.graphql<UpdatePayload>(UPDATE, {
      input: {
        companyId: DEMO_COMPANY_ID,
        connectionId: DEMO_CONNECTION_ID,
        customerId: id,
        customer: { ...customerInput("Stale"), sourceModifiedDate: "2001-01-01T00:00:00Z" },
      },
    });
    expect(stack.upstream()[0]?.query["forceUpdate"]).toBeUndefined();
    const done = await pollUntilDone(result.data!.updateCustomer.pushOperation.pushOperationKey);
    expect(done.status).toBe("FAILED");
    expect(done.validation?.errors.length).toBeGreaterThan(0);
  });

  it("does not retry a PUT on 500 or after a reset, but does on 429", async () => {
    const id = await someCustomerId();
    const input = { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customerId: id, customer: customerInput("Retry") };
    stack.simulator.injectFault({ kind: "status", status: 500, method: "PUT", times: 5 });
    expect((await stack.graphql(UPDATE, { input })).errors?.[0]?.extensions?.["code"]).toBe("UPSTREAM_ERROR");
    expect(stack.upstream()).toHaveLength(1);

    stack.resetUpstream();
    stack.simulator.clearFaults();
    stack.simulator.injectFault({ kind: "applyThenReset", method: "PUT" });
    expect((await stack.graphql(UPDATE, { input })).errors?.[0]?.extensions?.["code"]).toBe("UPSTREAM_UNAVAILABLE");
    expect(stack.upstream()).toHaveLength(1);

    stack.resetUpstream();
    stack.simulator.clearFaults();
    stack.simulator.injectFault({ kind: "status", status: 429, method: "PUT", headers: { "retry-after": "0" } });
    const ok = await stack.graphql<UpdatePayload>(UPDATE, { input });
    expect(ok.errors).toBeUndefined();
    expect(stack.upstream()).toHaveLength(2);
  });

  it("refuses a path-traversal customer id with no upstream call", async () => {
    const result = await stack.graphql(UPDATE, {
      input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customerId: "../x", customer: customerInput("x") },
    });
    expect(result.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(stack.upstream()).toHaveLength(0);
  });
});

describe("customerCreateUpdateModel", () => {
  it("maps Codat's PushOption recursively, properties as a named list", async () => {
    const result = await stack.graphql<{
      customerCreateUpdateModel: {
        type: string;
        displayName: string;
        required: boolean;
        properties: { name: string; option: { type: string; properties: { name: string }[]; options: { value: string }[] } }[];
      };
    }>(`{
      customerCreateUpdateModel(companyId: "${DEMO_COMPANY_ID}", connectionId: "${DEMO_CONNECTION_ID}") {
        type displayName required description
        properties { name option { type displayName required options { value type displayName } validation { warnings { field details } information { field details } }
          properties { name option { type displayName options { value } } } } }
      }
    }`);
    expect(result.errors).toBeUndefined();
    const model = result.data!.customerCreateUpdateModel;
    expect(model.type).toBe("OBJECT");
    const names = model.properties.map((p) => p.name);
    expect(names).toContain("customerName");
    const addresses = model.properties.find((p) => p.name === "addresses");
    expect(addresses?.option.type).toBe("ARRAY");
    expect(addresses?.option.properties.length).toBeGreaterThan(0);
    expect(stack.upstream()).toHaveLength(1);
    expect(stack.upstream()[0]?.path).toBe(`/companies/${DEMO_COMPANY_ID}/connections/${DEMO_CONNECTION_ID}/options/customers`);
  });
});

describe("SDL defaults reach Codat in Codat's spelling", () => {
  /** Every optional input field omitted, at every level: the SDL defaults (status ACTIVE…) fill them in. */
  const minimal = {
    customerName: "Defaults only",
    addresses: [{ type: "BILLING" }],
    contacts: [{ phone: [{ number: "1", type: "MOBILE" }] }],
  };

  it("a create omitting every optional field sends a body Codat's schema accepts, and the push succeeds", async () => {
    stack.resetUpstream();
    const created = await stack.graphql<CreatePayload>(CREATE, {
      input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customer: minimal },
    });
    expect(created.errors).toBeUndefined();
    const body = JSON.parse(posts()[0]!.body ?? "null") as Record<string, unknown>;
    expect(schemaErrors(componentRef("accounting-customers", "Customer"), body)).toEqual([]);
    expect(body).toMatchObject({ status: "Active", contacts: [{ status: "Active" }] });
    expect(JSON.stringify(body)).not.toMatch(/"ACTIVE"|"BILLING"|"MOBILE"/);
    const done = await pollUntilDone(created.data!.createCustomer.pushOperation.pushOperationKey);
    expect(done.status).toBe("SUCCESS");
  });

  it("an update omitting every optional field does the same", async () => {
    const page = await stack.graphql<{ customers: { nodes: { customerId: string }[] } }>(
      `{ customers(companyId: "${DEMO_COMPANY_ID}", first: 5, query: "status=Active") { nodes { customerId } } }`,
    );
    const id = page.data!.customers.nodes[4]!.customerId;
    stack.resetUpstream();
    const updated = await stack.graphql<UpdatePayload>(UPDATE, {
      input: { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID, customerId: id, customer: minimal, forceUpdate: true },
    });
    expect(updated.errors).toBeUndefined();
    const put = stack.upstream().find((r) => r.method === "PUT")!;
    const body = JSON.parse(put.body ?? "null") as Record<string, unknown>;
    expect(schemaErrors(componentRef("accounting-customers", "Customer"), body)).toEqual([]);
    expect(body).toMatchObject({ status: "Active", contacts: [{ status: "Active" }] });
    const done = await pollUntilDone(updated.data!.updateCustomer.pushOperation.pushOperationKey);
    expect(done.status).toBe("SUCCESS");
  });
});
