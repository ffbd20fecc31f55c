/**
 * Writes a form can trust (issue 29 part 3, issue 27's last finding): `patchCustomer` keeps what it does not
 * send and refuses a stale edit with CONFLICT before any push; `updateCustomer` stays a replace; several
 * mutations in one document each report their own outcome.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, DEMO_CONNECTION_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";
import { waitForValue } from "../helpers/wait.js";
import { componentRef, schemaErrors } from "../helpers/openapi.js";
import { toGlobalId } from "../../src/ids/global-id.js";

const PATCH = /* GraphQL */ `
  mutation Patch($input: PatchCustomerInput!) {
    patchCustomer(input: $input) {
      pushOperation {
        pushOperationKey
        status
        statusCode
      }
    }
  }
`;
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

const stack = useStack({ simulator: { pushDelayMs: 0 } });

type Stored = { [key: string]: unknown; id: string; modifiedDate?: string | null; sourceModifiedDate?: string | null };
const stored = (id: string): Stored => structuredClone(stack.simulator.store.company(DEMO_COMPANY_ID)!.customers.get(id)!);
const puts = () => stack.upstream().filter((r) => r.method === "PUT");

/** A customer of the demo data with email, phone, addresses and contacts (what a replace would lose). */
function richCustomer(): Stored {
  const found = stack.simulator.store
    .company(DEMO_COMPANY_ID)!
    .customers.all()
    .find(
      (c) =>
        c.status === "Active" &&
        typeof c.emailAddress === "string" &&
        typeof c.phone === "string" &&
        (c.addresses?.length ?? 0) > 0 &&
        (c.contacts?.length ?? 0) > 0 &&
        typeof c.modifiedDate === "string",
    );
  expect(found, "the demo data has a customer with every field filled").toBeDefined();
  return structuredClone(found!);
}

async function completed(key: string): Promise<string> {
  return waitForValue(async () => {
    const result = await stack.graphql<{ pushOperation: { status: string } }>(
      `query($k: ID!) { pushOperation(companyId: "${DEMO_COMPANY_ID}", pushOperationKey: $k) { status } }`,
      { k: key },
    );
    const status = result.data?.pushOperation.status;
    return status === "PENDING" ? undefined : status;
  });
}

const where = { companyId: DEMO_COMPANY_ID, connectionId: DEMO_CONNECTION_ID };

describe("patchCustomer", () => {
  it("sends the current record with only the given fields changed, and the platform keeps the rest", async () => {
    const before = richCustomer();
    const email = `patched-${randomUUID()}@example.com`;
    const result = await stack.graphql<{ patchCustomer: { pushOperation: { pushOperationKey: string; statusCode: number } } }>(PATCH, {
      input: { ...where, customerId: before.id, customer: { emailAddress: email }, modifiedDate: before.modifiedDate },
    });
    expect(result.errors).toBeUndefined();
    // One read (fresh from Codat), one write.
    expect(stack.upstream().map((r) => r.method)).toEqual(["GET", "PUT"]);
    const body = JSON.parse(puts()[0]!.body!) as Stored;
    expect(body).toEqual({ ...before, emailAddress: email });
    expect(schemaErrors(componentRef("accounting-customers", "Customer"), body)).toEqual([]);

    expect(await completed(result.data!.patchCustomer.pushOperation.pushOperationKey)).toBe("SUCCESS");
    const after = stored(before.id);
    // Every field as it was but the email; the dates are the write's own.
    const dates = { modifiedDate: expect.any(String), sourceModifiedDate: expect.any(String) };
    expect(after).toEqual({ ...before, emailAddress: email, ...dates });
  });

  it("clears a field given as null, replaces a list given whole, and keeps the status when status is null", async () => {
    const before = richCustomer();
    const result = await stack.graphql(PATCH, {
      input: {
        ...where,
        customerId: before.id,
        customer: { phone: null, status: null, addresses: [{ type: "DELIVERY", city: "Leeds" }] },
      },
    });
    expect(result.errors).toBeUndefined();
    const body = JSON.parse(puts()[0]!.body!) as Stored;
    expect(body).toEqual({ ...before, phone: null, addresses: [{ type: "Delivery", city: "Leeds" }] });
    expect(body["status"]).toBe(before["status"]);
  });

  it("refuses CONFLICT, with the current version and before any push, when the record changed since it was read", async () => {
    const before = richCustomer();
    const stale = "2020-01-01T00:00:00Z";
    expect(before.modifiedDate).not.toBe(stale);
    const result = await stack.graphql(PATCH, {
      input: { ...where, customerId: before.id, customer: { customerName: "Lost edit" }, modifiedDate: stale },
    });
    expect(result.data).toEqual({ patchCustomer: null });
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: "CONFLICT",
      argumentName: "input.modifiedDate",
      current: { modifiedDate: before.modifiedDate, sourceModifiedDate: before.sourceModifiedDate ?? null },
    });
    expect(puts()).toHaveLength(0);
    expect(stored(before.id)["customerName"]).toBe(before["customerName"]);
  });

  it("refuses an edit made after someone else's write (the modifiedDate read before it is stale)", async () => {
    const before = richCustomer();
    const first = await stack.graphql<{ patchCustomer: { pushOperation: { pushOperationKey: string } } }>(PATCH, {
      input: { ...where, customerId: before.id, customer: { taxNumber: "GB-FIRST" }, modifiedDate: before.modifiedDate },
    });
    expect(await completed(first.data!.patchCustomer.pushOperation.pushOperationKey)).toBe("SUCCESS");
    expect(stored(before.id).modifiedDate).not.toBe(before.modifiedDate);
    stack.resetUpstream();
    const second = await stack.graphql(PATCH, {
      input: { ...where, customerId: before.id, customer: { taxNumber: "GB-SECOND" }, modifiedDate: before.modifiedDate },
    });
    expect(second.errors?.[0]?.extensions?.["code"]).toBe("CONFLICT");
    expect(puts()).toHaveLength(0);
    expect(stored(before.id)["taxNumber"]).toBe("GB-FIRST");
  });

  it("answers NOT_FOUND for an unknown customer, and BAD_USER_INPUT with a hint for a global id, with no push", async () => {
    const unknown = await stack.graphql(PATCH, { input: { ...where, customerId: "nope", customer: { customerName: "x" } } });
    expect(unknown.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");
    const globalId = toGlobalId({ type: "Customer", companyId: DEMO_COMPANY_ID, customerId: richCustomer().id });
    stack.resetUpstream();
    const global = await stack.graphql(PATCH, { input: { ...where, customerId: globalId, customer: { customerName: "x" } } });
    expect(global.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argumentName: "input.customerId" });
    expect(global.errors?.[0]?.message).toContain("customerId");
    expect(stack.upstream()).toHaveLength(0);
  });
});

describe("updateCustomer stays a replace", () => {
  it("sends only what it is given: the fields it omits are not in the body (so the platform clears them)", async () => {
    const before = richCustomer();
    const result = await stack.graphql(UPDATE, {
      input: { ...where, customerId: before.id, customer: { customerName: "Replaced", status: "ACTIVE" } },
    });
    expect(result.errors).toBeUndefined();
    expect(stack.upstream().map((r) => r.method)).toEqual(["PUT"]);
    expect(JSON.parse(puts()[0]!.body!)).toEqual({ id: before.id, customerName: "Replaced", status: "Active" });
  });
});

describe("several mutations in one document", () => {
  const TWO = /* GraphQL */ `
    mutation Two($create: CreateCustomerInput!, $update: UpdateCustomerInput!) {
      a: createCustomer(input: $create) {
        idempotencyKey
        pushOperation {
          pushOperationKey
        }
      }
      b: updateCustomer(input: $update) {
        pushOperation {
          pushOperationKey
        }
      }
    }
  `;

  it("answer each on its own: the create with its payload and key, the failed update null with its error", async () => {
    const name = `Both ${randomUUID()}`;
    const create = { ...where, customer: { customerName: name } };
    const update = { ...where, customerId: "nope", customer: { customerName: "never" } };
    const result = await stack.graphql<{ a: { idempotencyKey: string; pushOperation: { pushOperationKey: string } } | null; b: null }>(
      TWO,
      {
        create,
        update,
      },
    );
    expect(result.data?.a?.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.data?.b).toBeNull();
    expect(result.errors).toEqual([expect.objectContaining({ path: ["b"], extensions: expect.objectContaining({ code: "NOT_FOUND" }) })]);

    // A retry of `a` with its key replays the first answer: one customer, not two.
    const key = result.data!.a!.idempotencyKey;
    const retry = await stack.graphql<{ createCustomer: { pushOperation: { pushOperationKey: string } } }>(
      `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { pushOperation { pushOperationKey } } }`,
      { input: { ...create, idempotencyKey: key } },
    );
    expect(retry.data!.createCustomer.pushOperation.pushOperationKey).toBe(result.data!.a!.pushOperation.pushOperationKey);
    expect(await completed(result.data!.a!.pushOperation.pushOperationKey)).toBe("SUCCESS");
    const named = stack.simulator.store
      .company(DEMO_COMPANY_ID)!
      .customers.all()
      .filter((c) => c.customerName === name);
    expect(named).toHaveLength(1);
  });
});
