import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AWKWARD_CUSTOMER_ID,
  DEMO_COMPANY_ID,
  EMPTY_COMPANY_ID,
  SECOND_COMPANY_ID,
  startSimulator,
  type Simulator,
} from "../../src/simulator/index.js";
import { customersPath, getJson } from "./helpers.js";
import { componentRef, convertNullable, responseRef, schemaErrors } from "./openapi.js";

const LIST = "/companies/{companyId}/data/customers";
const SINGLE = "/companies/{companyId}/data/customers/{customerId}";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});

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
      schemaErrors(page, { results: [], pageNumber: "1", pageSize: 1, totalResults: 0, _links: { self: { href: "/" }, current: { href: "/" } } }),
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
