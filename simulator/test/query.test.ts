import { describe, expect, it } from "vitest";
import {
  ATTACHMENT_CUSTOMER_ID,
  DEMO_COMPANY_ID,
  DEMO_CONNECTION_ID,
  LARGE_ATTACHMENT_CUSTOMER_ID,
  LARGE_ATTACHMENT_ID,
  LARGE_ATTACHMENT_SIZE,
  QueryError,
  compileOrderBy,
  compileQuery,
  createDemoStore,
  type AttachmentRecord,
  type DatasetSchema,
} from "../src/index.js";

const schema: DatasetSchema = {
  fields: {
    id: { kind: "string" },
    name: { kind: "string" },
    n: { kind: "number" },
    ok: { kind: "boolean" },
    at: { kind: "date" },
    tags: { kind: "array", items: { kind: "object", fields: { label: { kind: "string" } } } },
  },
};
const rows = [
  { id: "a", name: "Alpha & Sons", n: 1, ok: true, at: "2023-01-01T00:00:00Z", tags: [{ label: "x" }, { label: "y" }] },
  { id: "b", name: "beta", n: 2, ok: false, at: "2023-01-01T01:00:00", tags: [] },
  { id: "c", name: null, n: 3, ok: true, at: "2022-12-31T23:30:00-01:00", tags: [{ label: "y" }] },
  { id: "d", name: "Gamma|Delta", n: 10, ok: null, at: null },
];
const run = (q: string) => rows.filter(compileQuery(schema, q)).map((r) => r.id);
const errorOf = (q: string) => {
  try {
    compileQuery(schema, q);
    return undefined;
  } catch (e) {
    return e instanceof QueryError ? e.message : String(e);
  }
};

describe("query language", () => {
  it("compares by declared type", () => {
    expect(run("n>2")).toEqual(["c", "d"]); // numeric, not "10" < "2"
    expect(run("n>=2&&n<=3")).toEqual(["b", "c"]);
    expect(run("ok=true")).toEqual(["a", "c"]);
    expect(run("ok=FALSE")).toEqual(["b"]);
    expect(run("ok=null")).toEqual(["d"]);
    expect(run("ok!=null")).toEqual(["a", "b", "c"]);
    expect(run("name=null")).toEqual(["c"]);
    expect(run("name=BETA")).toEqual(["b"]);
    expect(run("name!=beta")).toEqual(["a", "c", "d"]);
    expect(run("name~SONS")).toEqual(["a"]);
    expect(run("name=Alpha & Sons")).toEqual(["a"]); // single & is part of the value
    expect(run("name=Gamma|Delta")).toEqual(["d"]); // single | too
    expect(run("name>b")).toEqual(["b", "d"]);
  });

  it("compares dates as instants; zone-less is UTC", () => {
    // a = 00:00Z, b = 01:00 (zone-less → UTC), c = 2022-12-31T23:30-01:00 = 2023-01-01T00:30Z
    expect(run("at>2023-01-01T00:00:00Z")).toEqual(["b", "c"]);
    expect(run("at=2023-01-01T01:00:00Z")).toEqual(["b"]);
    expect(run("at<2023-01-01T00:45:00")).toEqual(["a", "c"]);
    expect(run("at>=2023-01-01")).toEqual(["a", "b", "c"]);
    expect(run("at=null")).toEqual(["d"]);
  });

  it("matches arrays existentially; != negates =", () => {
    expect(run("tags.label=y")).toEqual(["a", "c"]);
    expect(run("tags.label!=y")).toEqual(["b", "d"]);
    expect(run("tags.label~X")).toEqual(["a"]);
  });

  it("binds && tighter than ||; braces group; nesting works", () => {
    expect(run("id=a||id=b&&ok=true")).toEqual(["a"]);
    expect(run("{id=a||id=b}&&ok=false")).toEqual(["b"]);
    expect(run("{{id=a}||{id=c&&{n=3||n=4}}}")).toEqual(["a", "c"]);
    expect(run("id=d||name~alpha&&n=1||ok=false")).toEqual(["a", "b", "d"]);
  });

  it("resolves property names case-insensitively", () => {
    expect(run("ID=b")).toEqual(["b"]);
    expect(run("Tags.Label=x")).toEqual(["a"]);
  });

  it("reports malformed queries and unknown properties like Codat", () => {
    const malformed = "Error parsing query - Malformed query.";
    for (const q of [
      "",
      "id",
      "id=",
      "id==a",
      "{id=a",
      "id=a}",
      "id=a||",
      "&&id=a",
      "id=a&&&&id=b",
      "n>abc",
      "ok=yes",
      "at<soon",
      "name>null",
      "name~null",
      "id =a",
      "{}",
    ]) {
      expect(errorOf(q), q).toBe(malformed);
    }
    expect(errorOf("nope=1")).toBe("Error parsing query - Could not resolve property nope on Dataset");
    expect(errorOf("tags.nope=1")).toBe("Error parsing query - Could not resolve property tags.nope on Dataset");
    expect(errorOf("tags=1")).toBe("Error parsing query - Could not resolve property tags on Dataset");
    expect(errorOf(`name~${"x".repeat(2043)}`)).toMatch(/2048/);
    expect(errorOf(`name~${"x".repeat(2042)}`)).toBeUndefined();
  });

  it("is fast for id=a||id=b||… batches", () => {
    const store = createDemoStore();
    const customers = store.company(DEMO_COMPANY_ID)?.customers;
    const all = customers?.all() ?? [];
    const ids = all
      .slice(0, 45)
      .filter((c) => !c.id.includes("{"))
      .map((c) => c.id);
    const query = ids.map((id) => `id=${id}`).join("||");
    // How fast this is belongs to a benchmark, not a test; here: 200 fresh texts compile and filter correctly.
    for (let i = 0; i < 200; i++) {
      // A fresh query text each time defeats the cache: this measures parse + compile + filter.
      const predicate = compileQuery(customers?.schema ?? schema, `${query}||id=x${i}`);
      expect(all.filter(predicate)).toHaveLength(ids.length);
    }
  });
});

describe("orderBy", () => {
  it("sorts stably, nulls first ascending and last descending", () => {
    const sortIds = (o: string) =>
      compileOrderBy(schema, o)
        .sort(rows)
        .map((r) => r.id);
    expect(sortIds("n")).toEqual(["a", "b", "c", "d"]);
    expect(sortIds("-n")).toEqual(["d", "c", "b", "a"]);
    expect(sortIds("ok")).toEqual(["d", "b", "a", "c"]);
    expect(sortIds("-ok")).toEqual(["a", "c", "b", "d"]); // ties (a, c) keep input order
    expect(sortIds("name")).toEqual(["c", "a", "b", "d"]);
    expect(sortIds("at")).toEqual(["d", "a", "c", "b"]);
  });

  it("rejects unknown fields and array paths", () => {
    for (const o of ["nope", "-nope", "tags.label", "tags", "", "-", "n,id", "+n"]) {
      expect(() => compileOrderBy(schema, o), o).toThrow(QueryError);
    }
  });
});

describe("attachment metadata", () => {
  it("marks ~15% of demo customers with attachments, including the large one", () => {
    const company = createDemoStore().company(DEMO_COMPANY_ID);
    const attachments = company?.attachments ?? new Map<string, AttachmentRecord[]>();
    const customers = company?.customers.size ?? 0;
    expect(attachments.size / customers).toBeGreaterThan(0.08);
    expect(attachments.size / customers).toBeLessThan(0.25);
    const forCustomer = attachments.get(ATTACHMENT_CUSTOMER_ID) ?? [];
    expect(forCustomer.length).toBeGreaterThanOrEqual(2);
    const large = (attachments.get(LARGE_ATTACHMENT_CUSTOMER_ID) ?? []).find((a) => a.attachment.id === LARGE_ATTACHMENT_ID);
    expect(large?.attachment.fileSize).toBe(LARGE_ATTACHMENT_SIZE);
    expect(LARGE_ATTACHMENT_SIZE).toBeGreaterThanOrEqual(1024 ** 3);
    expect(LARGE_ATTACHMENT_SIZE).toBeLessThanOrEqual(2 ** 31 - 1); // Attachment.fileSize is int32
    const every = [...attachments.values()].flat();
    expect(every.every((a) => a.connectionId === DEMO_CONNECTION_ID)).toBe(true);
    expect(new Set(every.map((a) => a.attachment.id)).size).toBe(every.length);
    expect(every.some((a) => /["']/.test(a.attachment.name ?? ""))).toBe(true);
    expect(every.some((a) => /[^\x00-\x7f]/.test(a.attachment.name ?? ""))).toBe(true);
    expect(new Set(every.map((a) => a.attachment.contentType)).size).toBeGreaterThan(3);
    for (const customerId of attachments.keys()) expect(company?.customers.get(customerId)).toBeDefined();
  });
});
