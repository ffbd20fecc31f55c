import { beforeAll, describe, expect, it } from "vitest";
import type { CodatCustomer, CodatCustomersPage, CodatErrorMessage } from "../src/codat-types.js";
import {
  AWKWARD_CUSTOMER_ID,
  DEMO_COMPANY_ID,
  DEMO_CUSTOMER_COUNT,
  EMPTY_COMPANY_ID,
  SECOND_COMPANY_ID,
  SECOND_CUSTOMER_COUNT,
} from "../src/index.js";
import { customersPath, getJson, useSimulator } from "./helpers.js";

const sim = useSimulator();
let all: (CodatCustomer & { id: string })[];
beforeAll(() => {
  all = [...(sim.store.company(DEMO_COMPANY_ID)?.customers.all() ?? [])];
});

const list = (params: Record<string, string | number>, company = DEMO_COMPANY_ID) =>
  getJson<CodatCustomersPage>(sim, customersPath(company, params));
const ids = (page: CodatCustomersPage) => page.results.map((c) => c.id);
const error = async (params: Record<string, string | number>) => {
  const res = await getJson<CodatErrorMessage>(sim, customersPath(DEMO_COMPANY_ID, params));
  return { status: res.status, message: res.body.error };
};

describe("demo data", () => {
  it("has the documented companies and counts", () => {
    expect(all).toHaveLength(DEMO_CUSTOMER_COUNT);
    expect(DEMO_CUSTOMER_COUNT).toBe(137);
    expect(sim.store.company(SECOND_COMPANY_ID)?.customers.size).toBe(SECOND_CUSTOMER_COUNT);
    expect(sim.store.company(EMPTY_COMPANY_ID)?.customers.size).toBe(0);
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(all.filter((c) => !uuid.test(c.id)).map((c) => c.id)).toEqual([AWKWARD_CUSTOMER_ID]);
    expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
    const statuses = all.map((c) => c.status);
    expect(statuses.filter((s) => s === "Unknown")).toHaveLength(2);
    expect(statuses.filter((s) => s === "Archived").length).toBeGreaterThan(5);
    expect(all.filter((c) => c.metadata?.isDeleted === true).length).toBeGreaterThanOrEqual(3);
    expect(all.some((c) => typeof c.sourceModifiedDate === "string" && !c.sourceModifiedDate.endsWith("Z"))).toBe(true);
    expect(all.some((c) => c.supplementalData !== undefined)).toBe(true);
  });
});

describe("paging", () => {
  it("defaults to page 1 of 100 in store order", async () => {
    const { status, body } = await list({});
    expect(status).toBe(200);
    expect(body.pageNumber).toBe(1);
    expect(body.pageSize).toBe(100);
    expect(body.totalResults).toBe(137);
    expect(ids(body)).toEqual(all.slice(0, 100).map((c) => c.id));
    expect(body._links.self.href).toBe(`/companies/${DEMO_COMPANY_ID}/data/customers`);
    expect(body._links.current.href).toBe(`/companies/${DEMO_COMPANY_ID}/data/customers?page=1&pageSize=100`);
    expect(body._links.next?.href).toBe(`/companies/${DEMO_COMPANY_ID}/data/customers?page=2&pageSize=100`);
    expect(body._links.previous).toBeUndefined();
  });

  it("serves first, middle, last and past-the-end pages", async () => {
    const first = await list({ page: 1, pageSize: 20 });
    const middle = await list({ page: 4, pageSize: 20 });
    const last = await list({ page: 7, pageSize: 20 });
    const past = await list({ page: 8, pageSize: 20 });
    expect(ids(first.body)).toEqual(all.slice(0, 20).map((c) => c.id));
    expect(ids(middle.body)).toEqual(all.slice(60, 80).map((c) => c.id));
    expect(ids(last.body)).toEqual(all.slice(120, 137).map((c) => c.id));
    expect(ids(past.body)).toEqual([]);
    for (const p of [first, middle, last, past]) expect(p.body.totalResults).toBe(137);
    expect(middle.body._links.next?.href).toMatch(/\?page=5&pageSize=20$/);
    expect(middle.body._links.previous?.href).toMatch(/\?page=3&pageSize=20$/);
    expect(last.body._links.next).toBeUndefined();
    expect(last.body._links.previous?.href).toMatch(/\?page=6&pageSize=20$/);
    expect(past.body._links.next).toBeUndefined();
    expect(past.body._links.previous?.href).toMatch(/\?page=7&pageSize=20$/);
  });

  it("walking next links visits every customer exactly once", async () => {
    const seen: string[] = [];
    let path: string | undefined = customersPath(DEMO_COMPANY_ID, { pageSize: 30, orderBy: "customerName" });
    while (path) {
      const res: { body: CodatCustomersPage } = await getJson<CodatCustomersPage>(sim, path);
      seen.push(...ids(res.body));
      path = res.body._links.next?.href;
    }
    expect(seen).toHaveLength(137);
    expect(new Set(seen).size).toBe(137);
  });

  it("accepts the pageSize bounds and rejects everything else with 400", async () => {
    expect((await list({ pageSize: 1 })).body.results).toHaveLength(1);
    expect((await list({ pageSize: 5000 })).body.results).toHaveLength(137);
    const bad: Record<string, string | number>[] = [
      { pageSize: 0 },
      { pageSize: 5001 },
      { pageSize: -1 },
      { pageSize: "ten" },
      { pageSize: 2.5 },
      { page: 0 },
      { page: -3 },
      { page: "1.0" },
      { page: "x" },
    ];
    for (const params of bad) {
      const e = await error(params);
      expect(e.status, JSON.stringify(params)).toBe(400);
    }
  });

  it("keeps query and orderBy in the links, and counts the filtered set", async () => {
    const query = "defaultCurrency=GBP";
    const { body } = await list({ query, orderBy: "-customerName", pageSize: 10, page: 2 });
    const expected = all.filter((c) => c.defaultCurrency === "GBP").length;
    expect(body.totalResults).toBe(expected);
    expect(body._links.current.href).toBe(
      `/companies/${DEMO_COMPANY_ID}/data/customers?page=2&pageSize=10&query=${encodeURIComponent(query)}&orderBy=-customerName`,
    );
    const next = await getJson<CodatCustomersPage>(sim, body._links.next?.href ?? "");
    expect(next.body.pageNumber).toBe(3);
    expect(next.body.totalResults).toBe(expected);
  });

  it("serves the other companies independently", async () => {
    expect((await list({}, SECOND_COMPANY_ID)).body.totalResults).toBe(SECOND_CUSTOMER_COUNT);
    const empty = await list({}, EMPTY_COMPANY_ID);
    expect(empty.status).toBe(200);
    expect(empty.body.totalResults).toBe(0);
    expect(empty.body.results).toEqual([]);
    expect(empty.body._links.next).toBeUndefined();
  });
});

describe("query", () => {
  it("filters with = (case-insensitive), !=, ~, and on sub-properties", async () => {
    const active = all.filter((c) => c.status === "Active");
    expect((await list({ query: "status=Active", pageSize: 5000 })).body.totalResults).toBe(active.length);
    expect((await list({ query: "status=active", pageSize: 5000 })).body.totalResults).toBe(active.length);
    expect((await list({ query: "status!=Active" })).body.totalResults).toBe(137 - active.length);
    const deleted = all.filter((c) => c.metadata?.isDeleted === true).map((c) => c.id);
    expect(ids((await list({ query: "metadata.isDeleted=true" })).body)).toEqual(deleted);
    expect((await list({ query: "metadata.isDeleted!=true" })).body.totalResults).toBe(137 - deleted.length);
    const target = all[10];
    const fragment = target?.customerName?.slice(1, 5).toUpperCase() ?? "";
    const contains = all.filter((c) => c.customerName?.toLowerCase().includes(fragment.toLowerCase()));
    expect(ids((await list({ query: `customerName~${fragment}` })).body)).toEqual(contains.map((c) => c.id));
  });

  it("compares dates as instants and handles zone-less dates", async () => {
    const cut = "2023-01-01T00:00:00Z";
    const after = all.filter((c) => Date.parse(c.modifiedDate ?? "") > Date.parse(cut)).map((c) => c.id);
    expect(after.length).toBeGreaterThan(0);
    expect(after.length).toBeLessThan(137);
    expect(ids((await list({ query: `modifiedDate>${cut}`, pageSize: 5000 })).body)).toEqual(after);
    const notAfter = (await list({ query: `modifiedDate<=${cut}`, pageSize: 5000 })).body.totalResults;
    expect(notAfter).toBe(137 - after.length);
    // Date-only values work too.
    expect((await list({ query: "modifiedDate>2023-01-01", pageSize: 5000 })).body.totalResults).toBe(after.length);
    const withSource = all.filter((c) => typeof c.sourceModifiedDate === "string").length;
    expect((await list({ query: "sourceModifiedDate>2000-01-01" })).body.totalResults).toBe(withSource);
    expect((await list({ query: "sourceModifiedDate=null" })).body.totalResults).toBe(137 - withSource);
  });

  it("gives && precedence over ||, and honours { } grouping", async () => {
    const q1 = "status=Archived||defaultCurrency=USD&&metadata.isDeleted=true";
    const e1 = all.filter((c) => c.status === "Archived" || (c.defaultCurrency === "USD" && c.metadata?.isDeleted === true));
    expect(ids((await list({ query: q1 })).body)).toEqual(e1.map((c) => c.id));
    const q2 = "{status=Archived||defaultCurrency=USD}&&metadata.isDeleted=false";
    const e2 = all.filter((c) => (c.status === "Archived" || c.defaultCurrency === "USD") && c.metadata?.isDeleted === false);
    expect(ids((await list({ query: q2 })).body)).toEqual(e2.map((c) => c.id));
    expect(e1.length).not.toBe(e2.length);
  });

  it("matches arrays when any element matches (and != is its negation)", async () => {
    const inLondon = all.filter((c) => (c.addresses ?? []).some((a) => a.city === "London"));
    expect(ids((await list({ query: "addresses.city=london" })).body)).toEqual(inLondon.map((c) => c.id));
    expect((await list({ query: "addresses.city!=London" })).body.totalResults).toBe(137 - inLondon.length);
    const mobile = all.filter((c) => (c.contacts ?? []).some((k) => (k.phone ?? []).some((p) => p.type === "Mobile")));
    expect(mobile.length).toBeGreaterThan(0);
    expect((await list({ query: "contacts.phone.type=Mobile" })).body.totalResults).toBe(mobile.length);
  });

  it("fetches a batch of ids with id=a||id=b||… (45 UUIDs)", async () => {
    const wanted = all
      .filter((c) => c.id !== AWKWARD_CUSTOMER_ID)
      .slice(50, 95)
      .map((c) => c.id);
    expect(wanted).toHaveLength(45);
    const query = wanted.map((id) => `id=${id}`).join("||");
    const { body } = await list({ query });
    expect(body.totalResults).toBe(45);
    expect(ids(body)).toEqual(wanted); // store order
  });

  it("rejects a query of 2048 characters or more", async () => {
    const prefix = "customerName~";
    const longest = `${prefix}${"x".repeat(2047 - prefix.length)}`;
    expect(longest).toHaveLength(2047);
    const ok = await list({ query: longest });
    expect(ok.status).toBe(200);
    expect(ok.body.totalResults).toBe(0);
    expect((await error({ query: `${longest}x` })).status).toBe(400);
    expect((await error({ query: `${longest}${"x".repeat(500)}` })).status).toBe(400);
    // A realistic batch just under the limit works.
    const batch = all.filter((c) => c.id !== AWKWARD_CUSTOMER_ID).map((c) => `id=${c.id}`);
    let query = "";
    for (const part of batch) {
      const next = query ? `${query}||${part}` : part;
      if (next.length >= 2048) break;
      query = next;
    }
    const res = await list({ query });
    expect(res.status).toBe(200);
    expect(res.body.totalResults).toBe(query.split("||").length);
  });

  it("rejects malformed queries", async () => {
    for (const query of [
      "status",
      "status=",
      "=Active",
      "{status=Active",
      "status=Active}",
      "status==Active",
      "status=Active&&",
      "||status=Active",
      " status=Active",
      "status=Active&&{}",
      "metadata.=true",
      "metadata.isDeleted=maybe",
      "modifiedDate>yesterday",
      "customerName>null",
    ]) {
      expect(await error({ query }), query).toEqual({ status: 400, message: "Error parsing query - Malformed query." });
    }
  });

  it("rejects unknown properties, naming them", async () => {
    expect(await error({ query: "isCompleted=true" })).toEqual({
      status: 400,
      message: "Error parsing query - Could not resolve property isCompleted on Dataset",
    });
    expect((await error({ query: "metadata.nope=1" })).message).toBe(
      "Error parsing query - Could not resolve property metadata.nope on Dataset",
    );
    expect((await error({ query: "addresses=x" })).status).toBe(400); // objects are not comparable
  });

  it("cannot embed the awkward id in a query (the reason it exists)", async () => {
    expect((await error({ query: `id=${AWKWARD_CUSTOMER_ID}` })).status).toBe(400);
  });
});

describe("orderBy", () => {
  it("sorts ascending and descending, stably", async () => {
    const asc = ids((await list({ orderBy: "status", pageSize: 5000 })).body);
    const rank = (s: string) => s.toLowerCase();
    const expectedAsc = all
      .map((c, i) => ({ c, i }))
      .sort((a, b) => (rank(a.c.status) < rank(b.c.status) ? -1 : rank(a.c.status) > rank(b.c.status) ? 1 : a.i - b.i))
      .map((x) => x.c.id);
    expect(asc).toEqual(expectedAsc);
    const desc = ids((await list({ orderBy: "-status", pageSize: 5000 })).body);
    const expectedDesc = all
      .map((c, i) => ({ c, i }))
      .sort((a, b) => (rank(a.c.status) > rank(b.c.status) ? -1 : rank(a.c.status) < rank(b.c.status) ? 1 : a.i - b.i))
      .map((x) => x.c.id);
    expect(desc).toEqual(expectedDesc); // ties keep store order in both directions
  });

  it("sorts dates chronologically and combines with query and paging", async () => {
    const byDate = [...all].sort((a, b) => Date.parse(b.modifiedDate ?? "") - Date.parse(a.modifiedDate ?? ""));
    const page2 = ids((await list({ orderBy: "-modifiedDate", pageSize: 10, page: 2 })).body);
    expect(page2).toEqual(byDate.slice(10, 20).map((c) => c.id));
    const nested = ids((await list({ orderBy: "metadata.isDeleted", query: "status=Active", pageSize: 5000 })).body);
    const active = all.filter((c) => c.status === "Active");
    expect(nested).toEqual(
      [...active.filter((c) => c.metadata?.isDeleted === false), ...active.filter((c) => c.metadata?.isDeleted === true)].map((c) => c.id),
    );
  });

  it("rejects unknown or array fields", async () => {
    for (const orderBy of ["nope", "-nope", "addresses.city", "customerName,id", "-"]) {
      expect((await error({ orderBy })).status, orderBy).toBe(400);
    }
  });
});

describe("single customer and 404s", () => {
  it("gets a customer by id, including the awkward one", async () => {
    const target = all[7];
    const one = await getJson<CodatCustomer>(sim, `/companies/${DEMO_COMPANY_ID}/data/customers/${target?.id ?? ""}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(target);
    const awkward = await getJson<CodatCustomer>(
      sim,
      `/companies/${DEMO_COMPANY_ID}/data/customers/${encodeURIComponent(AWKWARD_CUSTOMER_ID)}`,
    );
    expect(awkward.status).toBe(200);
    expect(awkward.body.id).toBe(AWKWARD_CUSTOMER_ID);
  });

  it("answers Codat's 404s", async () => {
    const unknownCompany = "846ed55c-974b-4392-a1f1-87b6fdbf3c5e";
    for (const path of [customersPath(unknownCompany), `${customersPath(unknownCompany)}/x`, `/companies/${unknownCompany}/connections`]) {
      const { status, body } = await getJson<CodatErrorMessage>(sim, path);
      expect(status).toBe(404);
      expect(body).toMatchObject({
        statusCode: 404,
        service: "ClientsApi",
        error: `No company was found with ID ${unknownCompany}`,
        canBeRetried: "Unknown",
        detailedErrorCode: 0,
      });
      expect(body.correlationId).toMatch(/^[0-9a-f]{32}$/);
    }
    const missing = await getJson<CodatErrorMessage>(sim, `/companies/${DEMO_COMPANY_ID}/data/customers/does-not-exist`);
    expect(missing.status).toBe(404);
    expect(missing.body.statusCode).toBe(404);
    const route = await getJson<CodatErrorMessage>(sim, `/companies/${DEMO_COMPANY_ID}/data/nothing`);
    expect(route.status).toBe(404);
    expect(route.body.correlationId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("matches company ids case-insensitively (GUIDs)", async () => {
    expect((await list({ pageSize: 1 }, DEMO_COMPANY_ID.toUpperCase())).status).toBe(200);
  });
});
