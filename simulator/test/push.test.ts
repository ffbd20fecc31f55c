import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type {
  CodatCreateCustomerResponse,
  CodatCustomer,
  CodatErrorMessage,
  CodatPushOperation,
  CodatPushOperationsPage,
  CodatPushOption,
} from "../src/codat-types.js";
import {
  CUSTOMER_LIMITS,
  CUSTOMER_PUSH_OPTIONS,
  CUSTOMER_VALIDATOR,
  DEFAULT_PUSH_OPTION_EXAMPLE,
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  DEMO_PUSH_OPERATION_COUNT,
  EMPTY_COMPANY_ID,
  EMPTY_CONNECTION_ID,
  SECOND_COMPANY_ID,
  SECOND_CONNECTION_ID,
  SOURCE_MODIFIED_VALIDATOR,
  customerPushOption,
  ManualClock,
  startSimulator,
  type Simulator,
} from "../src/index.js";
import { customersPath, getJson, pushCustomersPath, sendJson, useSimulator } from "./helpers.js";
import { waitForValue } from "../../test/helpers/wait.js";
import { PUSH_OPTIONS_FILE, cutPushOptions, renderPushOptions } from "../scripts/cut-push-options.js";

const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";
const createPath = (params: Record<string, string | number> = {}) =>
  pushCustomersPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, undefined, params);
const updatePath = (id: string, params: Record<string, string | number> = {}) =>
  pushCustomersPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, id, params);
const valid = (extra: Record<string, unknown> = {}) => ({ customerName: "Zephyr Widgets Ltd", status: "Active", ...extra });

async function operation(sim: Simulator, key: string, companyId = DEMO_COMPANY_ID) {
  return getJson<CodatPushOperation>(sim, `/companies/${companyId}/push/${key}`);
}

/** Polls the push operation until it leaves Pending. */
async function settled(sim: Simulator, key: string): Promise<CodatPushOperation> {
  return waitForValue(async () => {
    const { body } = await operation(sim, key);
    return body.status === "Pending" ? undefined : body;
  });
}

async function pushCount(sim: Simulator, companyId = DEMO_COMPANY_ID): Promise<number> {
  return (await getJson<CodatPushOperationsPage>(sim, `/companies/${companyId}/push?pageSize=1`)).body.totalResults;
}

describe("push: create and update customers (asynchronous)", () => {
  const sim = useSimulator({ pushDelayMs: 150 });

  it("create answers Pending, completes Success after the delay, then the customer is in list and get", async () => {
    const clock = new ManualClock();
    const clocked = await startSimulator({ pushDelayMs: 150, clock });
    try {
      const before = (await getJson<{ totalResults: number }>(clocked, customersPath(DEMO_COMPANY_ID, { pageSize: 1 }))).body.totalResults;
      const body: Record<string, unknown> = valid({
        contactName: "Zoë Okafor",
        addresses: [{ type: "Billing", city: "Cardiff" }],
        defaultCurrency: "GBP",
        unknownField: 1,
      });
      const res = await sendJson<CodatCreateCustomerResponse>(
        clocked,
        createPath({ timeoutInMinutes: 5, allowSyncOnPushComplete: "false" }),
        {
          body,
        },
      );
      expect(res.status).toBe(200);
      const op = res.body;
      expect(op).toMatchObject({
        status: "Pending",
        statusCode: 202,
        dataType: "customers",
        companyId: DEMO_COMPANY_ID,
        dataConnectionKey: DEMO_CONNECTION_ID,
        timeoutInMinutes: 5,
        changes: null,
      });
      expect(op.pushOperationKey).toMatch(/^[0-9a-f-]{36}$/);
      expect(clocked.requests.at(-1)).toMatchObject({ method: "POST", query: { timeoutInMinutes: "5" }, body: JSON.stringify(body) });
      expect(clocked.requests.find((r) => r.method === "GET")?.body).toBeUndefined();
      expect(op.requestedOnUtc).toBe(new Date(clock.now()).toISOString());
      expect(op.completedOnUtc).toBeUndefined();
      const id = op.data?.id ?? "";
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      const { unknownField: _dropped, ...known } = body;
      expect(op.data).toEqual({ ...known, id }); // unknown properties are dropped, like a deserialiser would

      // Still pending: polling sees Pending, and the customer does not exist yet.
      expect((await operation(clocked, op.pushOperationKey)).body.status).toBe("Pending");
      expect((await getJson(clocked, `/companies/${DEMO_COMPANY_ID}/data/customers/${id}`)).status).toBe(404);

      // Pending for exactly the push delay on the simulator's clock.
      expect(clock.pendingDelays()).toEqual([150]);
      clock.advance(149);
      expect((await operation(clocked, op.pushOperationKey)).body.status).toBe("Pending");
      clock.advance(1);
      const done = (await operation(clocked, op.pushOperationKey)).body;
      expect(done).toMatchObject({
        status: "Success",
        statusCode: 200,
        changes: [{ type: "Created", recordRef: { id, dataType: "customers" } }],
        validation: { errors: [], warnings: [] },
      });
      expect(Date.parse(String(done.completedOnUtc)) - Date.parse(String(op.requestedOnUtc))).toBe(150);

      const got = await getJson<CodatCustomer>(clocked, `/companies/${DEMO_COMPANY_ID}/data/customers/${id}`);
      expect(got.status).toBe(200);
      expect(got.body).toEqual({
        ...known,
        id,
        metadata: { isDeleted: false },
        modifiedDate: done.completedOnUtc,
        sourceModifiedDate: done.completedOnUtc,
      });
      expect(got.body.modifiedDate).toBe(done.completedOnUtc);
      const list = await getJson<{ totalResults: number; results: CodatCustomer[] }>(
        clocked,
        customersPath(DEMO_COMPANY_ID, { query: `id=${id}` }),
      );
      expect(list.body.results).toEqual([got.body]);
      expect((await getJson<{ totalResults: number }>(clocked, customersPath(DEMO_COMPANY_ID, { pageSize: 1 }))).body.totalResults).toBe(
        before + 1,
      );
    } finally {
      await clocked.close();
    }
  });
  it("rule violations are accepted, then the operation completes Failed with validation errors naming the field", async () => {
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ status: "Active" }, ["CustomerName is required"]],
      [{ customerName: "   ", status: "Active" }, ["CustomerName is required"]],
      [valid({ customerName: "x".repeat(CUSTOMER_LIMITS.customerName + 1) }), ["CustomerName must be at most 100 characters (got 101)"]],
      [{ customerName: "No status" }, ["Status is required"]],
      [valid({ status: "Dormant" }), ['Status must be one of Unknown, Active, Archived (got "Dormant")']],
      [
        valid({ addresses: [{ type: "Billing" }, { type: "Home" }] }),
        ['Addresses[1].Type must be one of Unknown, Billing, Delivery (got "Home")'],
      ],
      [valid({ addresses: [{ city: "Paris" }] }), ["Addresses[0].Type is required"]],
      [valid({ defaultCurrency: "pounds" }), ['DefaultCurrency must be an ISO 4217 currency code such as GBP (got "pounds")']],
      [
        valid({ contacts: [{ name: "A", status: "Active", phone: [{ number: "1", type: "Pager" }] }] }),
        ['Contacts[0].Phone[0].Type must be one of Primary, Landline, Mobile, Fax, Unknown (got "Pager")'],
      ],
      [
        { customerName: "", status: "Nope", registrationNumber: "R".repeat(51) },
        [
          "CustomerName is required",
          'Status must be one of Unknown, Active, Archived (got "Nope")',
          "RegistrationNumber must be at most 50 characters (got 51)",
        ],
      ],
    ];
    const before = sim.store.company(DEMO_COMPANY_ID)?.customers.size;
    // Concurrently: each case waits out the push delay.
    await Promise.all(
      cases.map(async ([body, messages]) => {
        const res = await sendJson<CodatCreateCustomerResponse>(sim, createPath(), { body });
        expect(res.status).toBe(200);
        expect(res.body.status).toBe("Pending");
        const done = await settled(sim, res.body.pushOperationKey);
        expect(done.status).toBe("Failed");
        expect(done.statusCode).toBe(400);
        expect(done.errorMessage).toEqual(expect.any(String));
        expect(done.changes).toBeNull();
        expect(done.validation?.errors?.map((e) => e.message)).toEqual(messages);
        for (const error of done.validation?.errors ?? []) {
          expect(error).toEqual({ itemId: res.body.data?.id, message: expect.any(String), validatorName: CUSTOMER_VALIDATOR });
        }
        expect((await getJson(sim, `/companies/${DEMO_COMPANY_ID}/data/customers/${res.body.data?.id ?? ""}`)).status).toBe(404);
      }),
    );
    // Exactly at the limit is fine.
    const ok = await sendJson<CodatCreateCustomerResponse>(sim, createPath(), { body: valid({ customerName: "y".repeat(100) }) });
    expect((await settled(sim, ok.body.pushOperationKey)).status).toBe("Success");
    expect(sim.store.company(DEMO_COMPANY_ID)?.customers.size).toBe((before ?? 0) + 1);
  });

  it("malformed bodies answer 400 at once, with validation errors naming the field, and create no operation", async () => {
    const cases: Array<[string, Array<[string | null, string]>]> = [
      ["", [[null, "The request body (a Customer) is required"]]],
      ['{"customerName": "Truncated', [[null, expect.stringContaining("The request body is not valid JSON")]]],
      ["[]", [[null, "The request body must be a JSON object (a Customer), not an array"]]],
      ['"a string"', [[null, "The request body must be a JSON object (a Customer), not a string"]]],
      [JSON.stringify(valid({ addresses: { type: "Billing" } })), [["addresses", "Addresses must be an array, not an object"]]],
      [JSON.stringify(valid({ addresses: ["London"] })), [["addresses[0]", "Addresses[0] must be an object, not a string"]]],
      [
        JSON.stringify(valid({ contacts: [{ status: "Active", phone: "0123" }] })),
        [["contacts[0].phone", "Contacts[0].Phone must be an array, not a string"]],
      ],
      [
        JSON.stringify({ customerName: 42, status: true }),
        [
          ["customerName", "CustomerName must be a string, not a number"],
          ["status", "Status must be a string, not a boolean"],
        ],
      ],
      [
        JSON.stringify(valid({ metadata: { isDeleted: "no" } })),
        [["metadata.isDeleted", "Metadata.IsDeleted must be a boolean, not a string"]],
      ],
    ];
    const before = await pushCount(sim);
    for (const [body, expected] of cases) {
      for (const path of [createPath(), updatePath(sim.store.company(DEMO_COMPANY_ID)?.customers.all()[0]?.id ?? "")]) {
        const res = await sendJson<CodatErrorMessage>(sim, path, { method: path === createPath() ? "POST" : "PUT", body });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ statusCode: 400, service: "PushApi", canBeRetried: "Unknown" });
        expect(res.body.error).toMatch(/^Error processing request - /);
        expect(res.body.validation?.errors?.map((e) => [e.itemId, e.message])).toEqual(expected);
        expect(res.body.validation?.errors?.every((e) => e.validatorName === "RequestBody")).toBe(true);
      }
    }
    expect(await pushCount(sim)).toBe(before);
  });

  it("404 for unknown company, connection (or another company's) and customer; 400 for bad parameters", async () => {
    const cases: Array<[string, string, number, RegExp]> = [
      ["POST", pushCustomersPath(UNKNOWN_ID, DEMO_CONNECTION_ID), 404, /No company was found/],
      ["POST", pushCustomersPath(DEMO_COMPANY_ID, UNKNOWN_ID), 404, /Data connection .* not found/],
      ["POST", pushCustomersPath(DEMO_COMPANY_ID, SECOND_CONNECTION_ID), 404, /Data connection .* not found/],
      ["PUT", updatePath(UNKNOWN_ID), 404, /No data available for customers/],
      ["PUT", pushCustomersPath(SECOND_COMPANY_ID, DEMO_CONNECTION_ID, UNKNOWN_ID), 404, /Data connection/],
      ["POST", createPath({ timeoutInMinutes: "soon" }), 400, /timeoutInMinutes/],
      ["POST", createPath({ timeoutInMinutes: -1 }), 400, /timeoutInMinutes/],
      ["POST", createPath({ allowSyncOnPushComplete: "maybe" }), 400, /allowSyncOnPushComplete/],
    ];
    const huge = await sendJson(sim, createPath(), { body: valid({ notes: "x".repeat(1024 * 1024) }) });
    expect(huge.status).toBe(413);
    for (const [method, path, status, error] of cases) {
      const res = await sendJson<CodatErrorMessage>(sim, path, { method, body: valid() });
      expect([method, path, res.status]).toEqual([method, path, status]);
      expect(res.body.error).toMatch(error);
    }
    // Connection ids are GUIDs: any case reaches the same connection.
    const upper = await sendJson(sim, pushCustomersPath(DEMO_COMPANY_ID.toUpperCase(), DEMO_CONNECTION_ID.toUpperCase()), {
      body: valid(),
    });
    expect(upper.status).toBe(200);
  });

  it("update replaces the customer (Modified) with a new modifiedDate; a stale sourceModifiedDate fails unless forceUpdate=true", async () => {
    const company = sim.store.company(DEMO_COMPANY_ID);
    // A customer whose sourceModifiedDate has no zone (the Codat quirk): sending it back with a Z still matches.
    sim.resetRequests();
    const original = company?.customers.all().find((c) => typeof c.sourceModifiedDate === "string" && !c.sourceModifiedDate.endsWith("Z"));
    expect(original).toBeDefined();
    if (!original) return;
    const id = original.id;
    const pulled = String(original.sourceModifiedDate);
    const first = await sendJson<CodatCreateCustomerResponse>(sim, updatePath(id, { forceUpdate: "false" }), {
      method: "PUT",
      body: { ...valid({ customerName: "Renamed Ltd" }), id: "ignored-id", sourceModifiedDate: `${pulled}Z` },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: "Pending", statusCode: 202, data: { id, customerName: "Renamed Ltd" } });
    const done = await settled(sim, first.body.pushOperationKey);
    expect(done).toMatchObject({
      status: "Success",
      statusCode: 200,
      changes: [{ type: "Modified", recordRef: { id, dataType: "customers" } }],
    });
    const got = await getJson<CodatCustomer>(sim, `/companies/${DEMO_COMPANY_ID}/data/customers/${id}`);
    expect(got.body).toMatchObject({ id, customerName: "Renamed Ltd", status: "Active" });
    expect(got.body.addresses).toBeUndefined(); // replaced, not merged
    expect(got.body.modifiedDate).toBe(done.completedOnUtc);
    expect(got.body.modifiedDate).not.toBe(original.modifiedDate);
    expect(got.body.sourceModifiedDate).toBe(done.completedOnUtc);
    expect(company?.customers.get(id)).not.toBe(original); // replaced through upsert, never mutated
    expect(original.customerName).not.toBe("Renamed Ltd");

    // The same (now stale) sourceModifiedDate again: the record changed in the source since it was pulled.
    const stale = await sendJson<CodatCreateCustomerResponse>(sim, updatePath(id), {
      method: "PUT",
      body: { ...valid({ customerName: "Second rename" }), sourceModifiedDate: pulled },
    });
    const failed = await settled(sim, stale.body.pushOperationKey);
    expect(failed).toMatchObject({ status: "Failed", statusCode: 400 });
    expect(failed.validation?.errors).toEqual([
      {
        itemId: id,
        message: expect.stringContaining("modified in the source platform") as unknown,
        validatorName: SOURCE_MODIFIED_VALIDATOR,
      },
    ]);
    expect((await getJson<CodatCustomer>(sim, `/companies/${DEMO_COMPANY_ID}/data/customers/${id}`)).body.customerName).toBe("Renamed Ltd");

    const forced = await sendJson<CodatCreateCustomerResponse>(sim, updatePath(id, { forceUpdate: "true" }), {
      method: "PUT",
      body: { ...valid({ customerName: "Forced rename" }), sourceModifiedDate: pulled },
    });
    expect((await settled(sim, forced.body.pushOperationKey)).status).toBe("Success");
    expect((await getJson<CodatCustomer>(sim, `/companies/${DEMO_COMPANY_ID}/data/customers/${id}`)).body.customerName).toBe(
      "Forced rename",
    );
    const recorded = sim.requests.filter((r) => r.method === "PUT" && r.path.endsWith(id)).map((r) => r.query["forceUpdate"]);
    expect(recorded).toEqual(["false", undefined, "true"]);

    // No sourceModifiedDate in the body: no check.
    const blind = await sendJson<CodatCreateCustomerResponse>(sim, updatePath(id), {
      method: "PUT",
      body: valid({ customerName: "Blind" }),
    });
    expect((await settled(sim, blind.body.pushOperationKey)).status).toBe("Success");
  });

  it("timeoutInMinutes=0 completes TimedOut (the test hook); nothing is written", async () => {
    const res = await sendJson<CodatCreateCustomerResponse>(sim, createPath({ timeoutInMinutes: 0 }), { body: valid() });
    expect(res.body).toMatchObject({ status: "Pending", timeoutInMinutes: 0, timeoutInSeconds: 0 });
    const done = await settled(sim, res.body.pushOperationKey);
    expect(done).toMatchObject({ status: "TimedOut", statusCode: 504, changes: null });
    expect((await getJson(sim, `/companies/${DEMO_COMPANY_ID}/data/customers/${res.body.data?.id ?? ""}`)).status).toBe(404);
  });
});

describe("push: pushDelayMs 0", () => {
  it("still answers Pending, but the operation has completed by the first poll", async () => {
    const sim = await startSimulator({ pushDelayMs: 0 });
    try {
      const res = await sendJson<CodatCreateCustomerResponse>(sim, createPath(), { body: valid() });
      expect(res.body.status).toBe("Pending");
      expect((await operation(sim, res.body.pushOperationKey)).body.status).toBe("Success");
      expect((await getJson(sim, `/companies/${DEMO_COMPANY_ID}/data/customers/${res.body.data?.id ?? ""}`)).status).toBe(200);
    } finally {
      await sim.close();
    }
  });

  it("rejects a negative delay", async () => {
    await expect(startSimulator({ pushDelayMs: -1 })).rejects.toThrow(RangeError);
  });
});

describe("push operations list and get", () => {
  const sim = useSimulator({ pushDelayMs: 100 });

  it("seeded history: deterministic, in request order, paged like customers", async () => {
    const all = await getJson<CodatPushOperationsPage>(sim, `/companies/${DEMO_COMPANY_ID}/push`);
    expect(all.status).toBe(200);
    expect(all.body.totalResults).toBe(DEMO_PUSH_OPERATION_COUNT);
    const results = all.body.results ?? [];
    const times = results.map((op) => Date.parse(String(op.requestedOnUtc)));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(results.map((op) => op.status))).toEqual(new Set(["Success", "Failed", "TimedOut"]));
    const other = await startSimulator();
    try {
      expect((await getJson(other, `/companies/${DEMO_COMPANY_ID}/push`)).body).toEqual(all.body);
    } finally {
      await other.close();
    }

    const page2 = await getJson<CodatPushOperationsPage>(sim, `/companies/${DEMO_COMPANY_ID}/push?page=2&pageSize=3`);
    expect(page2.body.results).toEqual(results.slice(3, 6));
    expect(page2.body._links).toEqual({
      self: { href: `/companies/${DEMO_COMPANY_ID}/push` },
      current: { href: `/companies/${DEMO_COMPANY_ID}/push?page=2&pageSize=3` },
      next: { href: `/companies/${DEMO_COMPANY_ID}/push?page=3&pageSize=3` },
      previous: { href: `/companies/${DEMO_COMPANY_ID}/push?page=1&pageSize=3` },
    });
    const newest = await getJson<CodatPushOperationsPage>(sim, `/companies/${DEMO_COMPANY_ID}/push?orderBy=-requestedOnUtc&pageSize=2`);
    expect(newest.body.results).toEqual([...results].reverse().slice(0, 2));
    const failed = await getJson<CodatPushOperationsPage>(
      sim,
      `/companies/${DEMO_COMPANY_ID}/push?query=${encodeURIComponent("status=Failed&&statusCode=400")}`,
    );
    expect(failed.body.results?.length).toBeGreaterThan(0);
    expect(failed.body.results).toEqual(results.filter((op) => op.status === "Failed"));
    expect((await getJson<CodatPushOperationsPage>(sim, `/companies/${EMPTY_COMPANY_ID}/push`)).body.totalResults).toBe(0);
    expect((await getJson<CodatPushOperationsPage>(sim, `/companies/${SECOND_COMPANY_ID}/push`)).body.totalResults).toBe(2);

    for (const [path, status] of [
      [`/companies/${DEMO_COMPANY_ID}/push?query=nope=1`, 400],
      [`/companies/${DEMO_COMPANY_ID}/push?orderBy=nope`, 400],
      [`/companies/${DEMO_COMPANY_ID}/push?pageSize=0`, 400],
      [`/companies/${UNKNOWN_ID}/push`, 404],
      [`/companies/${DEMO_COMPANY_ID}/push/${UNKNOWN_ID}`, 404],
      [`/companies/${UNKNOWN_ID}/push/${results[0]?.pushOperationKey ?? ""}`, 404],
    ] as const) {
      expect([path, (await getJson(sim, path)).status]).toEqual([path, status]);
    }
    // Each listed operation is also served on its own (keys in any case).
    for (const op of results) expect((await operation(sim, op.pushOperationKey.toUpperCase())).body).toEqual(op);
  });

  it("a new push appends to the list; polling the list shows Pending, then the final state", async () => {
    const before = await pushCount(sim);
    const res = await sendJson<CodatCreateCustomerResponse>(sim, createPath(), { body: valid() });
    const lastPage = async () =>
      (await getJson<CodatPushOperationsPage>(sim, `/companies/${DEMO_COMPANY_ID}/push?page=${before + 1}&pageSize=1`)).body;
    const pending = await lastPage();
    expect(pending.totalResults).toBe(before + 1);
    expect(pending.results?.[0]).toMatchObject({ pushOperationKey: res.body.pushOperationKey, status: "Pending", statusCode: 202 });
    const { data: _data, ...withoutData } = res.body;
    expect(pending.results?.[0]).toEqual(withoutData);
    const done = await waitForValue(async () => {
      const page = await lastPage();
      return page.results?.[0]?.status === "Pending" ? undefined : page.results?.[0];
    });
    expect(done).toMatchObject({ status: "Success", statusCode: 200 });
    const pendingNow = await getJson<CodatPushOperationsPage>(sim, `/companies/${DEMO_COMPANY_ID}/push?query=status=Pending`);
    expect(pendingNow.body.totalResults).toBe(0);
  });
});

describe("create/update model (options/customers)", () => {
  const sim = useSimulator();

  it("the served models are the spec's examples, verbatim: push-options.json is a fresh cut of the spec", () => {
    const fresh = cutPushOptions();
    expect(readFileSync(PUSH_OPTIONS_FILE, "utf8")).toBe(renderPushOptions(fresh));
    expect(Object.keys(fresh.examples)[0]).toBe(DEFAULT_PUSH_OPTION_EXAMPLE);
    expect(Object.keys(CUSTOMER_PUSH_OPTIONS)).toEqual(Object.keys(fresh.examples));
    for (const [name, option] of Object.entries(CUSTOMER_PUSH_OPTIONS)) expect(option).toEqual(fresh.examples[name]);
  });

  it("each connection gets the model of its platform; others the spec's first example", async () => {
    const cases: Array<[string, string, string]> = [
      [DEMO_COMPANY_ID, DEMO_CONNECTION_ID, "Xero"],
      [SECOND_COMPANY_ID, SECOND_CONNECTION_ID, "QuickBooks Online"],
      [EMPTY_COMPANY_ID, EMPTY_CONNECTION_ID, "Sage Business Cloud Accounting"],
    ];
    for (const [company, connection, example] of cases) {
      const res = await getJson<CodatPushOption>(sim, `/companies/${company}/connections/${connection}/options/customers`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(CUSTOMER_PUSH_OPTIONS[example]);
    }
    expect(customerPushOption({ platformName: "Zoho Books" })).toBe(CUSTOMER_PUSH_OPTIONS[DEFAULT_PUSH_OPTION_EXAMPLE]);
    // The demo model has nested properties, option lists and validation notes.
    const xero = (await getJson<CodatPushOption>(sim, `/companies/${DEMO_COMPANY_ID}/connections/${DEMO_CONNECTION_ID}/options/customers`))
      .body;
    const addresses = xero.properties?.["addresses"];
    expect(addresses?.type).toBe("Array");
    expect(addresses?.properties?.["type"]?.options?.map((o) => o.value)).toEqual(["Billing", "Delivery"]);
    expect(xero.properties?.["registrationNumber"]?.validation?.warnings?.[0]?.details).toBe("Max length of 50 characters.");
    for (const [path, status] of [
      [`/companies/${UNKNOWN_ID}/connections/${DEMO_CONNECTION_ID}/options/customers`, 404],
      [`/companies/${DEMO_COMPANY_ID}/connections/${SECOND_CONNECTION_ID}/options/customers`, 404],
    ] as const) {
      expect((await getJson(sim, path)).status).toBe(status);
    }
  });
});
