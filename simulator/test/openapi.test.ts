import { describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import type { CodatCreateCustomerResponse, CodatPushOperation } from "../src/codat-types.js";
import {
  ATTACHMENT_CUSTOMER_ID,
  AWKWARD_CUSTOMER_ID,
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  EMPTY_COMPANY_ID,
  EMPTY_CONNECTION_ID,
  LARGE_ATTACHMENT_CUSTOMER_ID,
  SECOND_COMPANY_ID,
  SECOND_CONNECTION_ID,
  ManualClock,
  startSimulator,
} from "../src/index.js";
import { waitFor, waitForValue } from "../../test/helpers/wait.js";
import { attachmentsPath, customersPath, getJson, pushCustomersPath, sendJson, useSimulator } from "./helpers.js";
import { componentRef, convertNullable, responseRef, schemaErrors } from "../../test/helpers/openapi.js";

const LIST = "/companies/{companyId}/data/customers";
const SINGLE = "/companies/{companyId}/data/customers/{customerId}";

const PUSH_CREATE = "/companies/{companyId}/connections/{connectionId}/push/customers";
const PUSH_UPDATE = "/companies/{companyId}/connections/{connectionId}/push/customers/{customerId}";
const PUSH_LIST = "/companies/{companyId}/push";
const PUSH_GET = "/companies/{companyId}/push/{pushOperationKey}";
const OPTIONS = "/companies/{companyId}/connections/{connectionId}/options/customers";
const ATTACHMENTS = "/companies/{companyId}/connections/{connectionId}/data/customers/{customerId}/attachments";
const ATTACHMENT = `${ATTACHMENTS}/{attachmentId}`;

const sim = useSimulator({ pushDelayMs: 30 });

describe("responses validate against Codat's OpenAPI specs", () => {
  it("list customers (every demo customer, all three products' specs)", async () => {
    const { status, body } = await getJson(sim, customersPath(DEMO_COMPANY_ID, { pageSize: 5000 }));
    expect(status).toBe(200);
    expect(schemaErrors(responseRef("accounting-customers", LIST, "get", "200"), body)).toEqual([]);
    expect(schemaErrors(componentRef("accounting-customers", "Customers"), body)).toEqual([]);
    // The newer specs accept pageSize up to 5000 as a parameter but cap PagingInfo.pageSize at 2000 in the
    // response schema (a Codat inconsistency), so they are checked on a 2000-record page.
    const smaller = await getJson(sim, customersPath(DEMO_COMPANY_ID, { pageSize: 2000 }));
    expect(schemaErrors(responseRef("sync-for-expenses-customers", LIST, "get", "200"), smaller.body)).toEqual([]);
    expect(schemaErrors(responseRef("lending-customers", LIST, "get", "200"), smaller.body)).toEqual([]);
  });

  it("list pages with next/previous links, query and orderBy, and empty pages", async () => {
    const ref = responseRef("accounting-customers", LIST, "get", "200");
    for (const path of [
      customersPath(DEMO_COMPANY_ID, { page: 2, pageSize: 20, query: "status=Active&&metadata.isDeleted!=true", orderBy: "-modifiedDate" }),
      customersPath(SECOND_COMPANY_ID),
      customersPath(EMPTY_COMPANY_ID),
      customersPath(DEMO_COMPANY_ID, { page: 99 }),
    ]) {
      const { status, body } = await getJson(sim, path);
      expect(status).toBe(200);
      expect(schemaErrors(ref, body)).toEqual([]);
    }
  });

  it("single customer (each demo customer, including the awkward id)", async () => {
    const ref = responseRef("accounting-customers", SINGLE, "get", "200");
    const company = sim.store.company(DEMO_COMPANY_ID);
    expect(company).toBeDefined();
    const ids = company?.customers.all().map((c) => c.id) ?? [];
    expect(ids).toContain(AWKWARD_CUSTOMER_ID);
    for (const id of ids.slice(0, 30).concat(AWKWARD_CUSTOMER_ID)) {
      const { status, body } = await getJson(sim, `/companies/${DEMO_COMPANY_ID}/data/customers/${encodeURIComponent(id)}`);
      expect(status).toBe(200);
      expect(schemaErrors(ref, body)).toEqual([]);
    }
    // The whole store too (cheaper than 137 requests; the served JSON is the stored record).
    for (const c of company?.customers.all() ?? []) {
      expect(schemaErrors(componentRef("accounting-customers", "Customer"), JSON.parse(JSON.stringify(c)))).toEqual([]);
    }
  });

  it("attachment metadata (served by later routes) already matches Attachment", () => {
    const records = [...(sim.store.company(DEMO_COMPANY_ID)?.attachments.values() ?? [])].flat();
    expect(records.length).toBeGreaterThan(10);
    for (const record of records) {
      expect(schemaErrors(componentRef("accounting-customers", "Attachment"), record.attachment)).toEqual([]);
    }
    expect(schemaErrors(componentRef("accounting-customers", "Attachment"), { fileSize: 2 ** 31 })).not.toEqual([]); // int32
  });

  it("connections", async () => {
    const ref = responseRef("platform-connections", "/companies/{companyId}/connections", "get", "200");
    for (const id of [DEMO_COMPANY_ID, SECOND_COMPANY_ID, EMPTY_COMPANY_ID]) {
      const { status, body } = await getJson(sim, `/companies/${id}/connections`);
      expect(status).toBe(200);
      expect(schemaErrors(ref, body)).toEqual([]);
    }
  });

  it("error bodies are ErrorMessage (404s, 400s, 405)", async () => {
    const ref = componentRef("sync-for-expenses-customers", "ErrorMessage");
    const platformRef = componentRef("platform-connections", "ErrorMessage");
    const paths = [
      customersPath("00000000-0000-4000-8000-000000000000"),
      `/companies/${DEMO_COMPANY_ID}/data/customers/nope`,
      customersPath(DEMO_COMPANY_ID, { query: "nope=1" }),
      customersPath(DEMO_COMPANY_ID, { query: "id=" }),
      customersPath(DEMO_COMPANY_ID, { pageSize: 0 }),
      customersPath(DEMO_COMPANY_ID, { orderBy: "nope" }),
      "/no/such/route",
      "/companies/00000000-0000-4000-8000-000000000000/connections",
    ];
    for (const path of paths) {
      const { status, body } = await getJson<Record<string, unknown>>(sim, path);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(schemaErrors(ref, body)).toEqual([]);
      expect(schemaErrors(platformRef, body)).toEqual([]);
      expect(body["statusCode"]).toBe(status);
      expect(body["correlationId"]).toMatch(/^[0-9a-f]{32}$/);
    }
    const res = await fetch(`${sim.url}${customersPath(DEMO_COMPANY_ID)}`, { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(schemaErrors(ref, await res.json())).toEqual([]);
  });
});

describe("push, push operations, options and attachments validate against the specs", () => {
  const ERROR_REFS = [componentRef("sync-for-expenses-customers", "ErrorMessage"), componentRef("platform-connections", "ErrorMessage")];

  async function settledOperation(key: string, companyId = DEMO_COMPANY_ID): Promise<CodatPushOperation> {
    return waitForValue(async () => {
      const { body } = await getJson<CodatPushOperation>(sim, `/companies/${companyId}/push/${key}`);
      return body.status === "Pending" ? undefined : body;
    });
  }

  it("create/update responses (Pending) and every outcome of the operation (Success, Failed, TimedOut)", async () => {
    const customer = {
      customerName: "Spec Checked Ltd",
      status: "Active",
      defaultCurrency: "GBP",
      addresses: [{ type: "Billing", line1: "1 High St", city: "York", country: "United Kingdom", postalCode: "YO1 1AA" }],
      contacts: [
        { name: "Ada", email: "ada@example.org", status: "Active", phone: [{ number: "01234 567890", type: "Mobile" }, { type: "Fax" }] },
      ],
      supplementalData: { content: { xero: { isSupplier: false } } },
    };
    const bodies: Array<[string, string, CodatCreateCustomerResponse]> = [];
    for (const [path, params, body] of [
      [pushCustomersPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID), { timeoutInMinutes: 5 }, customer],
      [pushCustomersPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID), {}, { ...customer, customerName: "" }],
      [pushCustomersPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID), { timeoutInMinutes: 0 }, customer],
      [pushCustomersPath(SECOND_COMPANY_ID, SECOND_CONNECTION_ID), {}, { customerName: "Minimal", status: "Unknown" }],
    ] as const) {
      const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
      const res = await sendJson<CodatCreateCustomerResponse>(sim, `${path}${query ? `?${query}` : ""}`, { body });
      expect(res.status).toBe(200);
      bodies.push([PUSH_CREATE, "post", res.body]);
    }
    const updated = sim.store.company(DEMO_COMPANY_ID)?.customers.all()[7];
    for (const [params, body] of [
      [{}, { ...customer, sourceModifiedDate: updated?.sourceModifiedDate }],
      [{ forceUpdate: "false" }, { ...customer, sourceModifiedDate: "2001-01-01T00:00:00" }],
      [{ forceUpdate: "true" }, { ...customer, sourceModifiedDate: "2001-01-01T00:00:00" }],
    ] as const) {
      const path = pushCustomersPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, updated?.id ?? "", params);
      const res = await sendJson<CodatCreateCustomerResponse>(sim, path, { method: "PUT", body });
      expect(res.status).toBe(200);
      bodies.push([PUSH_UPDATE, "put", res.body]);
    }
    for (const [path, method, body] of bodies) {
      expect(schemaErrors(responseRef("accounting-customers", path, method, "200"), body)).toEqual([]);
      expect(schemaErrors(responseRef("sync-for-expenses-customers", path, method, "200"), body)).toEqual([]);
    }
    const statuses = new Set<string>();
    for (const [, , response] of bodies) {
      const op = await settledOperation(response.pushOperationKey, response.companyId);
      statuses.add(op.status);
      expect(schemaErrors(responseRef("sync-for-expenses-customers", PUSH_GET, "get", "200"), op)).toEqual([]);
      expect(schemaErrors(responseRef("lending-customers", PUSH_GET, "get", "200"), op)).toEqual([]);
      expect(schemaErrors(componentRef("accounting-customers", "PushOperationSummary"), op)).toEqual([]);
    }
    expect(statuses).toEqual(new Set(["Success", "Failed", "TimedOut"]));
    // Written customers (the first create, the minimal one, the updated one) are valid Customers.
    for (const response of [bodies[0]?.[2], bodies[3]?.[2], bodies[6]?.[2]]) {
      const { status, body } = await getJson(sim, `/companies/${response?.companyId ?? ""}/data/customers/${response?.data?.id ?? ""}`);
      expect(status).toBe(200);
      expect(schemaErrors(responseRef("accounting-customers", SINGLE, "get", "200"), body)).toEqual([]);
    }
  });

  it("push operation lists (seeded history, new operations, filtered, empty)", async () => {
    for (const path of [
      `/companies/${DEMO_COMPANY_ID}/push`,
      `/companies/${DEMO_COMPANY_ID}/push?page=2&pageSize=2&orderBy=-requestedOnUtc`,
      `/companies/${DEMO_COMPANY_ID}/push?query=status=Failed`,
      `/companies/${SECOND_COMPANY_ID}/push`,
      `/companies/${EMPTY_COMPANY_ID}/push`,
    ]) {
      const { status, body } = await getJson<{ results: unknown[] }>(sim, path);
      expect(status).toBe(200);
      expect(schemaErrors(responseRef("sync-for-expenses-customers", PUSH_LIST, "get", "200"), body)).toEqual([]);
      expect(schemaErrors(responseRef("lending-customers", PUSH_LIST, "get", "200"), body)).toEqual([]);
      expect(schemaErrors(componentRef("sync-for-expenses-customers", "PushOperations"), body)).toEqual([]);
    }
  });

  it("create/update models for every connection", async () => {
    for (const [company, connection] of [
      [DEMO_COMPANY_ID, DEMO_CONNECTION_ID],
      [SECOND_COMPANY_ID, SECOND_CONNECTION_ID],
      [EMPTY_COMPANY_ID, EMPTY_CONNECTION_ID],
    ]) {
      const { status, body } = await getJson(sim, `/companies/${company}/connections/${connection}/options/customers`);
      expect(status).toBe(200);
      expect(schemaErrors(responseRef("accounting-customers", OPTIONS, "get", "200"), body)).toEqual([]);
    }
  });

  it("attachment lists and attachments (Accounting and Lending specs)", async () => {
    const company = sim.store.company(DEMO_COMPANY_ID);
    const customers = [ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_CUSTOMER_ID, ...[...(company?.attachments.keys() ?? [])].slice(0, 5)];
    customers.push(company?.customers.all().find((c) => !company.attachments.has(c.id))?.id ?? "");
    for (const customerId of customers) {
      const list = await getJson<{ attachments: Array<{ id: string }> }>(
        sim,
        attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, customerId),
      );
      expect(list.status).toBe(200);
      expect(schemaErrors(responseRef("accounting-customers", ATTACHMENTS, "get", "200"), list.body)).toEqual([]);
      expect(schemaErrors(responseRef("lending-customers", ATTACHMENTS, "get", "200"), list.body)).toEqual([]);
      for (const { id } of list.body.attachments) {
        const one = await getJson(sim, attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, customerId, id));
        expect(schemaErrors(responseRef("accounting-customers", ATTACHMENT, "get", "200"), one.body)).toEqual([]);
        expect(schemaErrors(responseRef("lending-customers", ATTACHMENT, "get", "200"), one.body)).toEqual([]);
      }
    }
  });

  it("error bodies of the new endpoints: 400 (with validation), 404, 409, 422", async () => {
    const create = pushCustomersPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID);
    const responses: Array<{ status: number; body: unknown }> = [];
    responses.push(await sendJson(sim, create, { body: "{nope" }));
    responses.push(await sendJson(sim, create, { body: { customerName: 1, addresses: "x" } }));
    responses.push(await sendJson(sim, `${create}?timeoutInMinutes=x`, { body: {} }));
    responses.push(await sendJson(sim, pushCustomersPath(DEMO_COMPANY_ID, EMPTY_CONNECTION_ID), { body: {} }));
    responses.push(await sendJson(sim, pushCustomersPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, "nope"), { method: "PUT", body: {} }));
    responses.push(await getJson(sim, `/companies/${DEMO_COMPANY_ID}/push/${randomUUID()}`));
    responses.push(await getJson(sim, `/companies/${DEMO_COMPANY_ID}/push?query=nope=1`));
    responses.push(await getJson(sim, attachmentsPath(DEMO_COMPANY_ID, DEMO_CONNECTION_ID, ATTACHMENT_CUSTOMER_ID, randomUUID())));
    const key = randomUUID();
    responses.push(await sendJson(sim, create, { body: { customerName: "A", status: "Active" }, headers: { "Idempotency-Key": key } }));
    responses.push(await sendJson(sim, create, { body: { customerName: "B", status: "Active" }, headers: { "Idempotency-Key": key } }));
    // The first request is held in its latency (time moves only when advanced) while the second comes in.
    const clock = new ManualClock();
    const slow = await startSimulator({ latencyMs: 200, clock });
    try {
      const first = sendJson(slow, create, { body: {}, headers: { "Idempotency-Key": key } });
      await waitFor(() => clock.pending === 1);
      const second = sendJson(slow, create, { body: {}, headers: { "Idempotency-Key": key } });
      await waitFor(() => clock.pending === 2);
      clock.advance(200);
      responses.push(await second);
      await first;
    } finally {
      await slow.close();
    }
    expect(responses.map((r) => r.status)).toEqual([400, 400, 400, 404, 404, 404, 400, 404, 200, 422, 409]);
    for (const { status, body } of responses) {
      if (status === 200) continue;
      for (const ref of ERROR_REFS) expect(schemaErrors(ref, body)).toEqual([]);
      expect(body).toMatchObject({ statusCode: status });
    }
    expect(responses[1]?.body).toMatchObject({ validation: { errors: [{ itemId: "customerName" }, { itemId: "addresses" }] } });
  });
});

describe("the validation can fail", () => {
  it("rejects broken objects", () => {
    const customer = componentRef("accounting-customers", "Customer");
    expect(schemaErrors(customer, { id: "x" })).not.toEqual([]); // status is required
    expect(schemaErrors(customer, { id: "x", status: "Dormant" })).not.toEqual([]); // not in the enum
    expect(schemaErrors(customer, { id: "x", status: "Active", contacts: [{ name: "no status" }] })).not.toEqual([]);
    expect(schemaErrors(customer, { id: "x", status: "Active", addresses: [{ type: "Home" }] })).not.toEqual([]);
    expect(schemaErrors(customer, { id: "x", status: "Active", contactName: null })).toEqual([]); // nullable
    const page = responseRef("accounting-customers", LIST, "get", "200");
    expect(schemaErrors(page, { results: [], pageNumber: 1, pageSize: 1, totalResults: 0 })).not.toEqual([]); // _links
    expect(
      schemaErrors(page, {
        results: [],
        pageNumber: "1",
        pageSize: 1,
        totalResults: 0,
        _links: { self: { href: "/" }, current: { href: "/" } },
      }),
    ).not.toEqual([]);
    expect(schemaErrors(componentRef("sync-for-expenses-customers", "ErrorMessage"), { canBeRetried: false })).not.toEqual([]);
    const connections = responseRef("platform-connections", "/companies/{companyId}/connections", "get", "200");
    expect(
      schemaErrors(connections, {
        results: [{ id: "2e9d2c44-f675-40ba-8049-353bfcb5e171", extra: 1 }],
        pageNumber: 1,
        pageSize: 1,
        totalResults: 1,
        _links: { self: { href: "/" }, current: { href: "/" } },
      }),
    ).not.toEqual([]);
  });

  it("converts nullable without moving nested schemas", () => {
    const node: Record<string, unknown> = {
      a: { type: "string", nullable: true },
      b: { $ref: "#/x", nullable: true, description: "d" },
      c: { type: "string", enum: ["A"], nullable: true },
    };
    convertNullable(node);
    expect(node).toEqual({
      a: { type: ["string", "null"] },
      b: { anyOf: [{ $ref: "#/x" }, { type: "null" }], description: "d" },
      c: { type: ["string", "null"], enum: ["A", null] },
    });
  });
});
