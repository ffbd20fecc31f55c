/** What the client puts on the wire: URL, path, query, headers and bodies, and what it refuses to send. */
import { brotliCompressSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { CodatClient } from "../../src/codat/client.js";
import { errorCodeOf } from "../../src/errors.js";
import { COMPANY, CONNECTION, useFakeCodat, PUSH_KEY, customersPage, pushOperation, sendJson } from "./fake-codat.js";

const fake = useFakeCodat();

function client(overrides: Partial<ConstructorParameters<typeof CodatClient>[0]> = {}): CodatClient {
  return new CodatClient({ baseUrl: fake.origin, apiKey: "secret-key", retryInitialDelayMs: 1, ...overrides });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("compressed answers", () => {
  it("asks for compression and reads gzip and brotli JSON bodies", async () => {
    const body = JSON.stringify(customersPage(3, 3));
    fake
      .script((_request, response) => {
        response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
        response.end(gzipSync(body));
      })
      .always((_request, response) => {
        response.writeHead(200, { "content-type": "application/json", "content-encoding": "br" });
        response.end(brotliCompressSync(body));
      });
    const codat = client();
    for (let i = 0; i < 2; i++) {
      const page = await codat.listCustomers(COMPANY, { page: 1, pageSize: 3 });
      expect(page.results).toHaveLength(3);
    }
    expect(fake.received[0]?.headers["accept-encoding"]).toContain("gzip");
  });

  it("maps a body that does not decompress to UPSTREAM_ERROR without crashing", async () => {
    fake.always((_request, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      response.end("not gzip at all");
    });
    const error = await rejection(client({ retryLimit: 0 }).listCustomers(COMPANY, { page: 1, pageSize: 3 }));
    expect(errorCodeOf(error)).toBe("UPSTREAM_ERROR");
  });
});

describe("request shape", () => {
  it("lists customers with paging and query in searchParams and Basic auth", async () => {
    fake.always((_request, response) => sendJson(response, 200, customersPage(2, 7)));
    const page = await client().listCustomers(COMPANY, {
      page: 2,
      pageSize: 50,
      query: "customerName~Acme && status=Active",
      orderBy: "-modifiedDate",
    });

    expect(page.totalResults).toBe(7);
    expect(page.results).toHaveLength(2);
    const [request] = fake.received;
    expect(request?.method).toBe("GET");
    expect(request?.path).toBe(`/companies/${COMPANY}/data/customers`);
    expect(Object.fromEntries(request?.query ?? [])).toEqual({
      page: "2",
      pageSize: "50",
      query: "customerName~Acme && status=Active",
      orderBy: "-modifiedDate",
    });
    expect(request?.headers["authorization"]).toBe(`Basic ${Buffer.from("secret-key").toString("base64")}`);
    expect(request?.headers["accept"]).toBe("application/json");
  });

  it("omits optional query parameters that were not given", async () => {
    fake.always((_request, response) => sendJson(response, 200, customersPage(0)));
    await client().listPushOperations(COMPANY, { page: 1, pageSize: 100 });
    expect(fake.received[0]?.path).toBe(`/companies/${COMPANY}/push`);
    expect([...(fake.received[0]?.query.keys() ?? [])]).toEqual(["page", "pageSize"]);
  });

  it("sends no Authorization header without an API key", async () => {
    fake.always((_request, response) => sendJson(response, 200, customersPage(0)));
    await client({ apiKey: undefined }).listCustomers(COMPANY, { page: 1, pageSize: 10 });
    expect(fake.received[0]?.headers["authorization"]).toBeUndefined();
  });

  it("keeps a path prefix of the base URL, with or without a trailing slash", async () => {
    fake.always((_request, response) => sendJson(response, 200, { id: "c1", status: "Active" }));
    await client({ baseUrl: `${fake.origin}/codat/v1` }).getCustomer(COMPANY, "c1");
    await client({ baseUrl: `${fake.origin}/codat/v1/` }).getCustomer(COMPANY, "c1");
    expect(fake.received.map((r) => r.path)).toEqual([
      `/codat/v1/companies/${COMPANY}/data/customers/c1`,
      `/codat/v1/companies/${COMPANY}/data/customers/c1`,
    ]);
  });

  it("percent-encodes opaque ids as one segment", async () => {
    fake.always((_request, response) => sendJson(response, 200, { id: "x", status: "Active" }));
    await client().getCustomer(COMPANY, "ACME Ltd+Co:1 ü");
    expect(fake.received[0]?.path).toBe(`/companies/${COMPANY}/data/customers/ACME%20Ltd%2BCo%3A1%20%C3%BC`);
  });

  it("builds every endpoint's path", async () => {
    fake.always((request, response) => {
      if (request.path.endsWith("/options/customers")) sendJson(response, 200, { type: "Object", displayName: "Customer", required: true });
      else if (request.path.endsWith("/attachments")) sendJson(response, 200, { attachments: [{ id: "a1" }] });
      else if (request.path.includes("/attachments/")) sendJson(response, 200, { id: "a1", name: "file.pdf" });
      else sendJson(response, 200, pushOperation());
    });
    const codat = client();
    await codat.getPushOperation(COMPANY, PUSH_KEY);
    await codat.getCustomerCreateUpdateModel(COMPANY, CONNECTION);
    const list = await codat.listCustomerAttachments(COMPANY, CONNECTION, "c/1".replace("/", "-"));
    const one = await codat.getCustomerAttachment(COMPANY, CONNECTION, "c-1", "a1");
    expect(list.attachments?.[0]?.id).toBe("a1");
    expect(one?.name).toBe("file.pdf");
    expect(fake.received.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /companies/${COMPANY}/push/${PUSH_KEY}`,
      `GET /companies/${COMPANY}/connections/${CONNECTION}/options/customers`,
      `GET /companies/${COMPANY}/connections/${CONNECTION}/data/customers/c-1/attachments`,
      `GET /companies/${COMPANY}/connections/${CONNECTION}/data/customers/c-1/attachments/a1`,
    ]);
  });

  it("POSTs a customer as JSON with Idempotency-Key and only the given flags", async () => {
    fake.always((_request, response) => sendJson(response, 200, pushOperation()));
    const result = await client().createCustomer(
      COMPANY,
      CONNECTION,
      { customerName: "Acme", status: "Active", addresses: [] },
      { idempotencyKey: "5f1c7a3e-0000-4000-8000-000000000001", timeoutInMinutes: 5 },
    );
    expect(result.pushOperationKey).toBe(PUSH_KEY);
    expect(result.data?.customerName).toBe("Acme");
    const [request] = fake.received;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe(`/companies/${COMPANY}/connections/${CONNECTION}/push/customers`);
    expect(Object.fromEntries(request?.query ?? [])).toEqual({ timeoutInMinutes: "5" });
    expect(request?.headers["idempotency-key"]).toBe("5f1c7a3e-0000-4000-8000-000000000001");
    expect(request?.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(request?.body ?? "")).toEqual({ customerName: "Acme", status: "Active", addresses: [] });
  });

  it("PUTs a customer with forceUpdate and allowSyncOnPushComplete when given", async () => {
    fake.always((_request, response) => sendJson(response, 200, pushOperation("Success")));
    await client().updateCustomer(
      COMPANY,
      CONNECTION,
      "cust 1",
      { id: "cust 1", customerName: "Acme", status: "Active" },
      {
        forceUpdate: true,
        allowSyncOnPushComplete: false,
      },
    );
    const [request] = fake.received;
    expect(request?.method).toBe("PUT");
    expect(request?.path).toBe(`/companies/${COMPANY}/connections/${CONNECTION}/push/customers/cust%201`);
    expect(Object.fromEntries(request?.query ?? [])).toEqual({ forceUpdate: "true", allowSyncOnPushComplete: "false" });
    expect(request?.headers["idempotency-key"]).toBeUndefined();
  });

  it("resolves null on 404 for single-record lookups", async () => {
    fake.always((_request, response) => sendJson(response, 404, { statusCode: 404, error: "Not found" }));
    const codat = client();
    await expect(codat.getCustomer(COMPANY, "missing")).resolves.toBeNull();
    await expect(codat.getPushOperation(COMPANY, PUSH_KEY)).resolves.toBeNull();
    await expect(codat.getCustomerAttachment(COMPANY, CONNECTION, "c", "a")).resolves.toBeNull();
    // A list has no "missing" answer: 404 there is an error.
    expect(errorCodeOf(await rejection(codat.listCustomers(COMPANY, { page: 1, pageSize: 1 })))).toBe("NOT_FOUND");
  });
});

describe("path safety (nothing is sent)", () => {
  const unsafeIds = [
    "",
    ".",
    "..",
    "../../companies/other",
    "a/b",
    "a\\b",
    "a?b=1",
    "a#b",
    "a%2Fb",
    "a%2fb",
    "%2e%2e",
    "%2E",
    "a%00",
    "line\nbreak",
    "tab\tid",
    "\u007f",
    "x".repeat(513),
    "\ud800",
  ];

  it.each(unsafeIds.map((id) => [JSON.stringify(id).slice(0, 40), id]))("rejects customerId %s", async (_label, id) => {
    const error = await rejection(client().getCustomer(COMPANY, id));
    expect(errorCodeOf(error)).toBe("BAD_USER_INPUT");
    expect(fake.received).toHaveLength(0);
  });

  it("rejects unsafe attachment ids on every attachment method, and on updateCustomer", async () => {
    const codat = client();
    const errors = await Promise.all([
      rejection(codat.getCustomerAttachment(COMPANY, CONNECTION, "c", "../x")),
      rejection(codat.downloadCustomerAttachment(COMPANY, CONNECTION, "c", "a%2F..")),
      rejection(codat.listCustomerAttachments(COMPANY, CONNECTION, "..")),
      rejection(codat.updateCustomer(COMPANY, CONNECTION, "a/b", { status: "Active" }, {})),
    ]);
    expect(errors.map(errorCodeOf)).toEqual(["BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT"]);
    expect(fake.received).toHaveLength(0);
  });

  it.each([["not-a-uuid"], [`${COMPANY}/../x`], [`${COMPANY}x`], [""], ["8a210b68698811eda1eb0242ac120002"]])(
    "rejects companyId %j naming the argument",
    async (companyId) => {
      const error = await rejection(client().listCustomers(companyId, { page: 1, pageSize: 10 }));
      expect(errorCodeOf(error)).toBe("BAD_USER_INPUT");
      expect(JSON.parse(JSON.stringify(error))).toMatchObject({ extensions: { argumentName: "companyId" } });
      expect(fake.received).toHaveLength(0);
    },
  );

  it("requires UUID connection ids and push operation keys", async () => {
    const codat = client();
    const errors = await Promise.all([
      rejection(codat.getCustomerCreateUpdateModel(COMPANY, "conn")),
      rejection(codat.getPushOperation(COMPANY, "key")),
      rejection(codat.createCustomer(COMPANY, "../x", { status: "Active" }, { idempotencyKey: "k" })),
    ]);
    expect(errors.map((e) => JSON.parse(JSON.stringify(e)).extensions)).toEqual([
      { code: "BAD_USER_INPUT", argumentName: "connectionId" },
      { code: "BAD_USER_INPUT", argumentName: "pushOperationKey" },
      { code: "BAD_USER_INPUT", argumentName: "connectionId" },
    ]);
    expect(fake.received).toHaveLength(0);
  });

  it("accepts upper-case UUIDs", async () => {
    fake.always((_request, response) => sendJson(response, 200, customersPage(0)));
    await client().listCustomers(COMPANY.toUpperCase(), { page: 1, pageSize: 1 });
    expect(fake.received).toHaveLength(1);
  });

  it("rejects bad paging and idempotency keys before sending", async () => {
    const codat = client();
    const errors = await Promise.all([
      rejection(codat.listCustomers(COMPANY, { page: 0, pageSize: 10 })),
      rejection(codat.listCustomers(COMPANY, { page: 1, pageSize: 5001 })),
      rejection(codat.createCustomer(COMPANY, CONNECTION, { status: "Active" }, { idempotencyKey: "bad\r\nkey" })),
    ]);
    expect(errors.map(errorCodeOf)).toEqual(["BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT"]);
    expect(fake.received).toHaveLength(0);
  });
});

describe("response shape checks", () => {
  it.each([
    ["a list without results", { totalResults: 1 }],
    ["a list with a non-numeric total", { results: [], totalResults: "1" }],
    ["a list whose results are not objects", { results: [1, 2], totalResults: 2 }],
    ["an array", []],
  ])("turns %s into UPSTREAM_ERROR", async (_label, body) => {
    fake.always((_request, response) => sendJson(response, 200, body));
    const error = await rejection(client().listCustomers(COMPANY, { page: 1, pageSize: 1 }));
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ extensions: { code: "UPSTREAM_ERROR", upstream: { status: 200 } } });
    expect(fake.received).toHaveLength(1);
  });

  const page = (record: Record<string, unknown>) => ({
    ...customersPage(0),
    results: [{ id: "c1", status: "Active" }, record],
    totalResults: 2,
  });
  it.each([
    ["a customer without an id", page({ status: "Active", customerName: "No id" }), "/results/1/id", "is missing"],
    ["a customer with an empty id", page({ id: "", status: "Active" }), "/results/1/id", "must NOT have fewer than 1 characters"],
    [
      "a customer with a numeric name",
      page({ id: "c2", status: "Active", customerName: 42 }),
      "/results/1/customerName",
      "must be string,null",
    ],
    [
      "a customer whose addresses are not a list",
      page({ id: "c2", status: "Active", addresses: { line1: "x" } }),
      "/results/1/addresses",
      "must be array,null",
    ],
    ["a customer without a status", page({ id: "c2" }), "/results/1/status", "is missing"],
  ])("names the field at fault for %s", async (_label, body, field, problem) => {
    fake.always((_request, response) => sendJson(response, 200, body));
    const error = await rejection(client().listCustomers(COMPANY, { page: 1, pageSize: 2 }));
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({
      message: `Codat returned a malformed response: ${field} ${problem}`,
      extensions: { code: "UPSTREAM_ERROR", upstream: { status: 200, field } },
    });
  });

  it("accepts what the specs leave open: unknown enum values, extra fields, odd formats", async () => {
    const record = {
      id: "c2",
      status: "Dormant",
      customerName: "x".repeat(1000),
      modifiedDate: "yesterday",
      addedByCodat: { nested: true },
    };
    fake.always((_request, response) => sendJson(response, 200, page(record)));
    const result = await client().listCustomers(COMPANY, { page: 1, pageSize: 2 });
    expect(result.results[1]).toEqual(record);
  });
});
