/**
 * The SDK documents the product was built from, run against the gateway (issue 29): every "Example Usage" of
 * Codat's customers SDK docs, translated to GraphQL field for field, runs against the embedded simulator.
 *
 * The five seeds, by their public names:
 * - SFE_PY: Codat Sync for Expenses, Python SDK (`codatsyncexpenses`), `customers`: create, get, list, update.
 * - ACC_PY: Codat Accounting, Python SDK (`codataccounting`), `customers`: create, download_attachment, get,
 *   get_attachment, get_create_update_model, list, list_attachments, update.
 * - ACC_TS: Codat Accounting, TypeScript SDK (`@codat/accounting`), `customers`: the same eight.
 * - ACC_GO: Codat Accounting, Go SDK (`github.com/codatio/client-sdk-go/accounting`), `Customers`: the same eight.
 * - LENDING_PY: Codat Lending, Python SDK (`codat_lending`), `accounts_receivable.customers`: download_attachment,
 *   get, get_attachment, list, list_attachments.
 *
 * Each write body below is the seed's `customer` exactly as the SDK sends it (Codat's JSON, in Codat's enum
 * spelling); the GraphQL input is its translation (`graphqlInput`: the same fields, enum values in GraphQL's
 * spelling). The tests check that the body Codat receives is the seed's body, unchanged, and validate it against
 * the vendored OpenAPI. Ids the seeds make up (`customer_id='optio'`) name no record: those examples are run as
 * written (and answer as Codat would: null, NOT_FOUND), then again with the demo company's real ids.
 * docs/seeds.md maps every seed operation, parameter and field to its GraphQL equivalent and to the test here.
 */
import { describe, expect, it } from "vitest";
import { ATTACHMENT_CUSTOMER_ID, DEMO_COMPANY_ID, DEMO_CONNECTION_ID } from "codat-simulator";
import { useStack } from "../helpers/stack.js";
import { componentRef, schemaErrors, type SpecName } from "../helpers/openapi.js";

// The seeds' ids: the same demo company and connection as the simulator's (Codat's own docs' ids).
const COMPANY_ID = "8a210b68-6988-11ed-a1eb-0242ac120002";
const CONNECTION_ID = "2e9d2c44-f675-40ba-8049-353bfcb5e171";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Body = { [key: string]: Json };

/** Codat's enum words → GraphQL enum names (the only translation a body needs: field names are the same). */
const GRAPHQL_ENUM: Record<string, string> = {
  Unknown: "UNKNOWN",
  Active: "ACTIVE",
  Archived: "ARCHIVED",
  Billing: "BILLING",
  Delivery: "DELIVERY",
  Primary: "PRIMARY",
  Landline: "LANDLINE",
  Mobile: "MOBILE",
  Fax: "FAX",
};

/** The seed's body as GraphQL input: `type` and `status` values in GraphQL's spelling, everything else as is. */
function graphqlInput(value: Json, key = ""): Json {
  if (Array.isArray(value)) return value.map((item) => graphqlInput(item));
  if (value !== null && typeof value === "object") {
    // supplementalData.content is free-form JSON: passed as is.
    if (key === "supplementalData") return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, graphqlInput(v, k)]));
  }
  if ((key === "type" || key === "status") && typeof value === "string") return GRAPHQL_ENUM[value] ?? value;
  return value;
}

// ---------------------------------------------------------------------------------------------- the bodies

/** SFE_PY create and update: `customer=shared.Customer(id='142')`. */
const SFE_PY_CUSTOMER: Body = { id: "142" };

const address = (city: string, country: string, line1: string, line2: string, postalCode: string, region: string, type: string): Body => ({
  city,
  country,
  line1,
  line2,
  postalCode,
  region,
  type,
});

/** ACC_PY create (placeholder dates as printed: `modified_date='aliquid'` …). */
const ACC_PY_CREATE: Body = {
  addresses: [
    address("Port Clevelandtown", "Turkmenistan", "culpa", "at", "10296", "dolore", "Unknown"),
    address("Abbyport", "Philippines", "voluptatibus", "sequi", "37221", "quas", "Unknown"),
    address("Burdetteland", "Vietnam", "nulla", "libero", "94593", "unde", "Unknown"),
    address("South Paul", "Lesotho", "ab", "quo", "58178-2135", "temporibus", "Unknown"),
  ],
  contactName: "amet",
  contacts: [
    {
      address: address("Margaretestad", "Burkina Faso", "placeat", "rem", "59914", "ullam", "Unknown"),
      email: "Buster49@hotmail.com",
      modifiedDate: "quod",
      name: "Marjorie Funk",
      phone: [{ number: "quaerat", type: "Landline" }],
      status: "Archived",
    },
    {
      address: address("Howellland", "Mayotte", "distinctio", "cum", "82083", "laborum", "Unknown"),
      email: "Warren19@gmail.com",
      modifiedDate: "autem",
      name: "Edgar Cremin",
      phone: [{ number: "velit", type: "Landline" }],
      status: "Archived",
    },
  ],
  customerName: "natus",
  defaultCurrency: "minima",
  emailAddress: "minus",
  id: "9d237397-c785-4b5d-b4f5-00183febdf67",
  metadata: { isDeleted: false },
  modifiedDate: "aliquid",
  phone: "510.586.7430 x0316",
  registrationNumber: "ad",
  sourceModifiedDate: "nisi",
  status: "Unknown",
  supplementalData: {
    content: {
      officiis: { minus: "tempora", sequi: "natus", saepe: "quibusdam", corrupti: "maxime" },
      aliquam: { explicabo: "eaque" },
    },
  },
  taxNumber: "hic",
};

/** ACC_PY update. */
const ACC_PY_UPDATE: Body = {
  addresses: [
    address("New Jayde", "Nigeria", "porro", "voluptas", "27537-1668", "magni", "Unknown"),
    address("Joanhaven", "Lebanon", "unde", "ad", "62198-2033", "laboriosam", "Billing"),
  ],
  contactName: "tenetur",
  contacts: [
    {
      address: address("O'Konton", "Argentina", "voluptas", "pariatur", "01252", "ullam", "Unknown"),
      email: "Aurelia.Mraz77@yahoo.com",
      modifiedDate: "ipsum",
      name: "Carl Pollich IV",
      phone: [
        { number: "incidunt", type: "Primary" },
        { number: "nisi", type: "Primary" },
      ],
      status: "Archived",
    },
    {
      address: address("North Cloydton", "Austria", "possimus", "perferendis", "28760", "beatae", "Delivery"),
      email: "Mae.Willms66@yahoo.com",
      modifiedDate: "commodi",
      name: "Tom Gutkowski",
      phone: [
        { number: "id", type: "Unknown" },
        { number: "molestias", type: "Unknown" },
      ],
      status: "Active",
    },
  ],
  customerName: "occaecati",
  defaultCurrency: "eos",
  emailAddress: "veniam",
  id: "3c8962f4-896b-4f51-a465-2d3c343d6177",
  metadata: { isDeleted: false },
  modifiedDate: "atque",
  phone: "1-935-212-4413 x9410",
  registrationNumber: "iste",
  sourceModifiedDate: "aut",
  status: "Active",
  supplementalData: {
    content: {
      error: { ipsa: "dolore" },
      labore: { ullam: "quibusdam", recusandae: "ad", omnis: "mollitia" },
      placeat: { ducimus: "eaque", aliquid: "ea" },
      odio: { quisquam: "delectus" },
    },
  },
  taxNumber: "et",
};

/** ACC_TS create. */
const ACC_TS_CREATE: Body = {
  addresses: [{ type: "Billing" }],
  contacts: [
    {
      address: { type: "Billing" },
      modifiedDate: "2022-10-23T00:00:00.000Z",
      phone: [{ number: "01224 658 999", type: "Mobile" }],
      status: "Unknown",
    },
  ],
  defaultCurrency: "GBP",
  metadata: {},
  modifiedDate: "2022-10-23T00:00:00.000Z",
  sourceModifiedDate: "2022-10-23T00:00:00.000Z",
  status: "Archived",
  supplementalData: { content: { key: { key: "string" } } },
};

/** ACC_TS update. */
const ACC_TS_UPDATE: Body = {
  addresses: [{ type: "Delivery" }],
  contacts: [
    {
      address: { type: "Unknown" },
      modifiedDate: "2022-10-23T00:00:00.000Z",
      phone: [{ number: "+44 25691 154789", type: "Landline" }],
      status: "Archived",
    },
  ],
  defaultCurrency: "EUR",
  metadata: {},
  modifiedDate: "2022-10-23T00:00:00.000Z",
  sourceModifiedDate: "2022-10-23T00:00:00.000Z",
  status: "Archived",
  supplementalData: { content: { key: { key: "string" } } },
};

/** ACC_GO create. */
const ACC_GO_CREATE: Body = {
  addresses: [
    address("Diamond Bar", "Switzerland", "vero", "natus", "86228-8842", "incidunt", "Billing"),
    address("Fort Dena", "Palau", "esse", "id", "59289-2483", "nostrum", "Delivery"),
    address("Lenoreborough", "Grenada", "facere", "aliquam", "29026", "numquam", "Billing"),
  ],
  contactName: "dolores",
  contacts: [
    {
      address: address("North Kristatown", "Japan", "cum", "facere", "32705", "sed", "Delivery"),
      email: "Janie95@hotmail.com",
      modifiedDate: "2022-10-23T00:00:00.000Z",
      name: "Marjorie Fritsch",
      phone: [
        { number: "(877) 492-8687", type: "Unknown" },
        { number: "+44 25691 154789", type: "Fax" },
        { number: "01224 658 999", type: "Primary" },
      ],
      status: "Unknown",
    },
  ],
  customerName: "asperiores",
  defaultCurrency: "EUR",
  emailAddress: "nostrum",
  id: "d911cbfe-749c-4af4-9a27-f69e2c9e6d10",
  metadata: { isDeleted: false },
  modifiedDate: "2022-10-23T00:00:00.000Z",
  phone: "(862) 782-7470 x2005",
  registrationNumber: "facere",
  sourceModifiedDate: "2022-10-23T00:00:00.000Z",
  status: "Archived",
  supplementalData: { content: { sequi: { modi: "nihil", velit: "aut" } } },
  taxNumber: "rem",
};

/** ACC_GO update. */
const ACC_GO_UPDATE: Body = {
  addresses: [
    address("Cartershire", "Somalia", "nemo", "eum", "09572", "dolores", "Billing"),
    address("West Amira", "Nicaragua", "tempora", "eum", "13245", "natus", "Delivery"),
    address("Allen", "Tuvalu", "iste", "error", "36286", "amet", "Billing"),
  ],
  contactName: "ducimus",
  contacts: [
    {
      address: address("Beerberg", "Guatemala", "sed", "a", "26372-8757", "odio", "Billing"),
      email: "Taryn.Raynor88@yahoo.com",
      modifiedDate: "2022-10-23T00:00:00.000Z",
      name: "Brandon Rutherford",
      phone: [{ number: "+44 25691 154789", type: "Fax" }],
      status: "Archived",
    },
    {
      address: address("Plymouth", "Brunei Darussalam", "eligendi", "nam", "33238-3943", "at", "Billing"),
      email: "Charity.Lubowitz88@gmail.com",
      modifiedDate: "2022-10-23T00:00:00.000Z",
      name: "Dr. Marie O'Hara",
      phone: [{ number: "01224 658 999", type: "Unknown" }],
      status: "Active",
    },
  ],
  customerName: "sint",
  defaultCurrency: "USD",
  emailAddress: "commodi",
  id: "489d7b78-673e-413a-92a6-b99249459448",
  metadata: { isDeleted: false },
  modifiedDate: "2022-10-23T00:00:00.000Z",
  phone: "475.425.1475 x36278",
  registrationNumber: "a",
  sourceModifiedDate: "2022-10-23T00:00:00.000Z",
  status: "Unknown",
  supplementalData: { content: { minima: { sit: "incidunt", magnam: "molestias", hic: "error" } } },
  taxNumber: "repellendus",
};

/**
 * The ACC_PY bodies' date fields hold lorem-ipsum words ('aliquid', 'quod', …), not dates. The gateway's
 * `DateTime` refuses them (Codat documents these fields as ISO 8601); run again with this date in their place.
 */
const ISO_DATE = "2022-10-23T00:00:00.000Z";
function withIsoDates(body: Body): Body {
  const swap = (value: Json, key: string): Json => {
    if (Array.isArray(value)) return value.map((item) => swap(item, ""));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, swap(v, k)]));
    }
    return key === "modifiedDate" || key === "sourceModifiedDate" ? ISO_DATE : value;
  };
  return swap(body, "") as Body;
}

// ---------------------------------------------------------------------------------------------- the harness

const CREATE = /* GraphQL */ `
  mutation Create($input: CreateCustomerInput!) {
    createCustomer(input: $input) {
      idempotencyKey
      pushOperation {
        pushOperationKey
        status
        statusCode
        validation {
          errors {
            itemId
            message
            validatorName
          }
        }
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
        statusCode
      }
    }
  }
`;
const GET = /* GraphQL */ `
  query Get($companyId: ID!, $customerId: ID!) {
    customer(companyId: $companyId, customerId: $customerId) {
      id
      customerId
      customerName
      contactName
      emailAddress
      phone
      defaultCurrency
      registrationNumber
      taxNumber
      status
      addresses {
        type
        line1
        line2
        city
        region
        country
        postalCode
      }
      contacts {
        name
        email
        status
        modifiedDate
        address {
          type
          city
        }
        phone {
          number
          type
        }
      }
      modifiedDate
      sourceModifiedDate
      isDeleted
      supplementalData
    }
  }
`;
const LIST = /* GraphQL */ `
  query List($companyId: ID!, $orderBy: String, $page: Int, $pageSize: Int, $query: String) {
    customers(companyId: $companyId, orderBy: $orderBy, page: $page, pageSize: $pageSize, query: $query) {
      totalCount
      pageInfo {
        pageNumber
        pageSize
        totalPages
        hasNextPage
      }
      nodes {
        customerId
        customerName
        modifiedDate
      }
    }
  }
`;
const ATTACHMENT_FIELDS = "attachmentId name contentType fileSize dateCreated includeWhenSent modifiedDate downloadUrl";
const LIST_ATTACHMENTS = /* GraphQL */ `
  query ListAttachments($companyId: ID!, $connectionId: ID!, $customerId: ID!) {
    customer(companyId: $companyId, customerId: $customerId) { attachments(connectionId: $connectionId) { ${ATTACHMENT_FIELDS} } }
  }
`;
const GET_ATTACHMENT = /* GraphQL */ `
  query GetAttachment($attachmentId: ID!, $companyId: ID!, $connectionId: ID!, $customerId: ID!) {
    customerAttachment(attachmentId: $attachmentId, companyId: $companyId, connectionId: $connectionId, customerId: $customerId) {
      ${ATTACHMENT_FIELDS}
    }
  }
`;
const MODEL = /* GraphQL */ `
  query Model($companyId: ID!, $connectionId: ID!) {
    customerCreateUpdateModel(companyId: $companyId, connectionId: $connectionId) {
      type
      displayName
      required
      properties {
        name
        option {
          type
          displayName
          required
          options {
            value
            inputValue
            displayName
          }
        }
      }
    }
  }
`;

// Each seed's call is checked as it reaches Codat: the read cache is off, so every read is a call.
const stack = useStack({ simulator: { pushDelayMs: 0 }, env: { CACHE_ENABLED: "false" } });

const pushes = (method: "POST" | "PUT") => stack.upstream().filter((r) => r.method === method && r.path.includes("/push/customers"));
const sentBody = (method: "POST" | "PUT"): unknown => {
  const requests = pushes(method);
  expect(requests).toHaveLength(1);
  return JSON.parse(requests[0]!.body ?? "null");
};

interface PushPayload {
  idempotencyKey?: string;
  pushOperation: { pushOperationKey: string; status: string; statusCode: number };
}

/** Sends a seed's create; checks the body Codat received is `expected` and valid per `spec` (but for `allowedErrors`). */
async function runCreate(
  seedBody: Body,
  spec: SpecName,
  expected: Body,
  extra: Record<string, unknown> = {},
  allowedErrors: string[] = [],
) {
  const result = await stack.graphql<{ createCustomer: PushPayload | null }>(CREATE, {
    input: { customer: graphqlInput(seedBody), companyId: COMPANY_ID, connectionId: CONNECTION_ID, ...extra },
  });
  expect(result.errors, result.text.slice(0, 500)).toBeUndefined();
  expect(result.data!.createCustomer!.pushOperation).toMatchObject({ status: "PENDING", statusCode: 202 });
  const body = sentBody("POST");
  expect(body).toEqual(expected);
  expect(schemaErrors(componentRef(spec, "Customer"), body).filter((e) => !allowedErrors.some((allowed) => e.startsWith(allowed)))).toEqual(
    [],
  );
  return result.data!.createCustomer!;
}

/** A real customer of the demo company (the seeds' own customer ids name none). */
async function realCustomerId(): Promise<string> {
  const page = await stack.graphql<{ customers: { nodes: { customerId: string }[] } }>(LIST, {
    companyId: COMPANY_ID,
    pageSize: 1,
    page: 3,
  });
  const id = page.data!.customers.nodes[0]!.customerId;
  stack.resetUpstream();
  return id;
}

// ---------------------------------------------------------------------------------------------- the tests

describe("the seeds' ids are the demo data's", () => {
  it("company and connection", () => {
    expect([COMPANY_ID, CONNECTION_ID]).toEqual([DEMO_COMPANY_ID, DEMO_CONNECTION_ID]);
  });
});

describe("SFE_PY: Sync for Expenses, Python", () => {
  it("create: customer=Customer(id='142'), timeout_in_minutes=383441", async () => {
    // Codat requires `status`; the input's default (ACTIVE) supplies it, in Codat's spelling.
    const payload = await runCreate(
      SFE_PY_CUSTOMER,
      "sync-for-expenses-customers",
      { ...SFE_PY_CUSTOMER, status: "Active" },
      { timeoutInMinutes: 383441 },
    );
    expect(pushes("POST")[0]!.query).toEqual({ timeoutInMinutes: "383441" });
    expect(payload.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("get: customer_id='molestiae' (no such customer: null, as Codat's 404)", async () => {
    const result = await stack.graphql(GET, { companyId: COMPANY_ID, customerId: "molestiae" });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ customer: null });
  });

  it("list: order_by='-modifiedDate', page=1, page_size=100, query='minus' (not a query expression: Codat's 400, passed on)", async () => {
    const result = await stack.graphql(LIST, { companyId: COMPANY_ID, orderBy: "-modifiedDate", page: 1, pageSize: 100, query: "minus" });
    expect(result.data).toEqual({ customers: null });
    expect(result.errors?.[0]?.message).toBe("Codat rejected the request as invalid: Error parsing query - Malformed query");
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      upstream: { status: 400, service: expect.any(String) },
    });
    expect(stack.upstream().map((r) => r.query)).toEqual([{ orderBy: "-modifiedDate", page: "1", pageSize: "100", query: "minus" }]);
  });

  it("update: customer_id='placeat' (unknown: NOT_FOUND), then the same body for a real customer", async () => {
    const input = {
      customer: graphqlInput(SFE_PY_CUSTOMER),
      companyId: COMPANY_ID,
      connectionId: CONNECTION_ID,
      forceUpdate: false,
      timeoutInMinutes: 528895,
    };
    const unknown = await stack.graphql<{ updateCustomer: PushPayload | null }>(UPDATE, { input: { ...input, customerId: "placeat" } });
    expect(unknown.data).toEqual({ updateCustomer: null });
    expect(unknown.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");

    const customerId = await realCustomerId();
    const result = await stack.graphql<{ updateCustomer: PushPayload | null }>(UPDATE, { input: { ...input, customerId } });
    expect(result.errors).toBeUndefined();
    expect(result.data!.updateCustomer!.pushOperation.statusCode).toBe(202);
    expect(pushes("PUT")[0]!.query).toEqual({ forceUpdate: "false", timeoutInMinutes: "528895" });
    // The body's id as given (Codat goes by the path's customer id).
    expect(sentBody("PUT")).toEqual({ id: "142", status: "Active" });
  });
});

describe("ACC_PY: Accounting, Python", () => {
  it("create: the full body; its placeholder dates are refused as not ISO 8601, before any call", async () => {
    const result = await stack.graphql(CREATE, {
      input: { customer: graphqlInput(ACC_PY_CREATE), companyId: COMPANY_ID, connectionId: CONNECTION_ID },
    });
    expect(result.errors?.[0]?.message).toContain("DateTime must be an ISO 8601 string");
    expect(result.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(stack.upstream()).toHaveLength(0);
  });

  it("create: the full body with ISO dates reaches Codat unchanged (its currency 'minima' is Codat's to judge)", async () => {
    const body = withIsoDates(ACC_PY_CREATE);
    await runCreate(body, "accounting-customers", body, { timeoutInMinutes: 276828 }, ["/defaultCurrency must match format"]);
    // The one OpenAPI complaint is the seed's own: 'minima' is not an ISO 4217 code.
    expect(schemaErrors(componentRef("accounting-customers", "Customer"), body)).toEqual([
      expect.stringMatching(/^\/defaultCurrency must match format "ISO4217"/),
    ]);
  });

  it("update: the full body (ISO dates) for customer_id='optio' (unknown: NOT_FOUND), then for a real customer", async () => {
    const body = withIsoDates(ACC_PY_UPDATE);
    const input = {
      customer: graphqlInput(body),
      companyId: COMPANY_ID,
      connectionId: CONNECTION_ID,
      forceUpdate: false,
      timeoutInMinutes: 953679,
    };
    const unknown = await stack.graphql(UPDATE, { input: { ...input, customerId: "optio" } });
    expect(unknown.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");
    const customerId = await realCustomerId();
    const result = await stack.graphql<{ updateCustomer: PushPayload | null }>(UPDATE, { input: { ...input, customerId } });
    expect(result.errors).toBeUndefined();
    expect(sentBody("PUT")).toEqual(body);
  });

  it("get: customer_id='eos' → null; list: order_by, page, page_size, query='voluptatem' → Codat's 400", async () => {
    expect((await stack.graphql(GET, { companyId: COMPANY_ID, customerId: "eos" })).data).toEqual({ customer: null });
    const list = await stack.graphql(LIST, {
      companyId: COMPANY_ID,
      orderBy: "-modifiedDate",
      page: 1,
      pageSize: 100,
      query: "voluptatem",
    });
    expect(list.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", upstream: { status: 400 } });
  });

  it("attachments: list (customer_id='temporibus'), get and download (customer_id='eius', 'quae'): no such customer → null", async () => {
    const list = await stack.graphql(LIST_ATTACHMENTS, { companyId: COMPANY_ID, connectionId: CONNECTION_ID, customerId: "temporibus" });
    expect(list.errors).toBeUndefined();
    expect(list.data).toEqual({ customer: null });
    for (const customerId of ["eius", "quae"]) {
      const get = await stack.graphql(GET_ATTACHMENT, {
        attachmentId: COMPANY_ID,
        companyId: COMPANY_ID,
        connectionId: CONNECTION_ID,
        customerId,
      });
      expect(get.errors).toBeUndefined();
      expect(get.data).toEqual({ customerAttachment: null });
    }
  });
});

describe("ACC_TS: Accounting, TypeScript", () => {
  it("create: the full body reaches Codat unchanged and valid", async () => {
    await runCreate(ACC_TS_CREATE, "accounting-customers", ACC_TS_CREATE);
  });

  it("update: customerId 'string' (unknown: NOT_FOUND), then the full body for a real customer, unchanged but its id", async () => {
    const input = { customer: graphqlInput(ACC_TS_UPDATE), companyId: COMPANY_ID, connectionId: CONNECTION_ID };
    const unknown = await stack.graphql(UPDATE, { input: { ...input, customerId: "string" } });
    expect(unknown.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");
    const customerId = await realCustomerId();
    const result = await stack.graphql<{ updateCustomer: PushPayload | null }>(UPDATE, { input: { ...input, customerId } });
    expect(result.errors).toBeUndefined();
    const body = sentBody("PUT");
    // The seed's body has no `id`: the gateway puts the path's customer id there (as Codat's examples do).
    expect(body).toEqual({ ...ACC_TS_UPDATE, id: customerId });
    expect(schemaErrors(componentRef("accounting-customers", "Customer"), body)).toEqual([]);
  });

  it("list: order_by='-modifiedDate', page=1, page_size=100: one Codat call with exactly those", async () => {
    const result = await stack.graphql<{
      customers: { totalCount: number; pageInfo: Record<string, unknown>; nodes: { modifiedDate: string }[] };
    }>(LIST, {
      companyId: COMPANY_ID,
      orderBy: "-modifiedDate",
      page: 1,
      pageSize: 100,
    });
    expect(result.errors).toBeUndefined();
    const { totalCount, pageInfo, nodes } = result.data!.customers;
    expect(nodes).toHaveLength(Math.min(100, totalCount));
    expect(pageInfo).toEqual({ pageNumber: 1, pageSize: 100, totalPages: Math.ceil(totalCount / 100), hasNextPage: totalCount > 100 });
    const dates = nodes.map((n) => Date.parse(n.modifiedDate));
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
    expect(stack.upstream().map((r) => r.query)).toEqual([{ orderBy: "-modifiedDate", page: "1", pageSize: "100" }]);
  });

  it("get: customerId 'string' → null; and a real customer, every field of the model", async () => {
    expect((await stack.graphql(GET, { companyId: COMPANY_ID, customerId: "string" })).data).toEqual({ customer: null });
    const customerId = await realCustomerId();
    const result = await stack.graphql<{ customer: Record<string, unknown> }>(GET, { companyId: COMPANY_ID, customerId });
    expect(result.errors).toBeUndefined();
    expect(result.data!.customer).toMatchObject({ customerId, status: expect.stringMatching(/^(ACTIVE|ARCHIVED|UNKNOWN)$/) });
  });

  it("get_create_update_model: the model, its status choices mapped to the enum's names", async () => {
    const result = await stack.graphql<{
      customerCreateUpdateModel: { properties: { name: string; option: { options: { value: string; inputValue: string | null }[] } }[] };
    }>(MODEL, { companyId: COMPANY_ID, connectionId: CONNECTION_ID });
    expect(result.errors).toBeUndefined();
    const status = result.data!.customerCreateUpdateModel.properties.find((p) => p.name === "status");
    expect(status!.option.options).toEqual([
      { value: "Active", inputValue: "ACTIVE", displayName: "Active" },
      { value: "InActive", inputValue: "ARCHIVED", displayName: "Inactive" },
    ]);
    // A free-text field's choices are sent as they are: no inputValue.
    const others = result.data!.customerCreateUpdateModel.properties.filter((p) => p.name !== "status").flatMap((p) => p.option.options);
    expect(others.every((choice) => choice.inputValue === null)).toBe(true);
  });
});

describe("ACC_GO: Accounting, Go", () => {
  it("create: the full body reaches Codat unchanged and valid, TimeoutInMinutes 142520", async () => {
    await runCreate(ACC_GO_CREATE, "accounting-customers", ACC_GO_CREATE, { timeoutInMinutes: 142520 });
  });

  it("update: CustomerID 'delectus' (unknown: NOT_FOUND), then the full body for a real customer, unchanged", async () => {
    const input = {
      customer: graphqlInput(ACC_GO_UPDATE),
      companyId: COMPANY_ID,
      connectionId: CONNECTION_ID,
      forceUpdate: false,
      timeoutInMinutes: 118986,
    };
    const unknown = await stack.graphql(UPDATE, { input: { ...input, customerId: "delectus" } });
    expect(unknown.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");
    const customerId = await realCustomerId();
    const result = await stack.graphql(UPDATE, { input: { ...input, customerId } });
    expect(result.errors).toBeUndefined();
    const body = sentBody("PUT");
    expect(body).toEqual(ACC_GO_UPDATE);
    expect(schemaErrors(componentRef("accounting-customers", "Customer"), body)).toEqual([]);
  });

  it("get (CustomerID 'error') → null; list with Query 'asperiores' → Codat's 400", async () => {
    expect((await stack.graphql(GET, { companyId: COMPANY_ID, customerId: "error" })).data).toEqual({ customer: null });
    const list = await stack.graphql(LIST, {
      companyId: COMPANY_ID,
      orderBy: "-modifiedDate",
      page: 1,
      pageSize: 100,
      query: "asperiores",
    });
    expect(list.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", upstream: { status: 400 } });
  });
});

describe("ACC_TS and ACC_GO: attachments and the model, with their own ids", () => {
  it.each([
    ["ACC_TS", "string", "string", "string"],
    ["ACC_GO", "eos", "incidunt", "libero"],
  ])(
    "%s: list_attachments (%s), get_attachment (%s), download_attachment (%s) → null: no such customer",
    async (_seed, listId, getId, downloadId) => {
      const list = await stack.graphql(LIST_ATTACHMENTS, { companyId: COMPANY_ID, connectionId: CONNECTION_ID, customerId: listId });
      expect(list.errors).toBeUndefined();
      expect(list.data).toEqual({ customer: null });
      for (const customerId of [getId, downloadId]) {
        // attachmentId '8a210b68-…' as printed (the seeds reuse the company id there).
        const get = await stack.graphql(GET_ATTACHMENT, {
          attachmentId: COMPANY_ID,
          companyId: COMPANY_ID,
          connectionId: CONNECTION_ID,
          customerId,
        });
        expect(get.errors).toBeUndefined();
        expect(get.data).toEqual({ customerAttachment: null });
      }
    },
  );

  it("model: ACC_PY's and ACC_GO's get_create_update_model is the same call, answered alike", async () => {
    const result = await stack.graphql<{ customerCreateUpdateModel: { type: string; properties: { name: string }[] } }>(MODEL, {
      companyId: COMPANY_ID,
      connectionId: CONNECTION_ID,
    });
    expect(result.errors).toBeUndefined();
    expect(result.data!.customerCreateUpdateModel.type).toBe("OBJECT");
    expect(result.data!.customerCreateUpdateModel.properties.map((p) => p.name)).toEqual(
      expect.arrayContaining(["customerName", "status", "addresses"]),
    );
    expect(stack.upstream().map((r) => r.path)).toEqual([`/companies/${COMPANY_ID}/connections/${CONNECTION_ID}/options/customers`]);
  });
});

describe("LENDING_PY: Lending, Python", () => {
  it("list: query='id=e3334455-1aed-4e71-ab43-6bccf12092ee' (no such customer: an empty page)", async () => {
    const result = await stack.graphql(LIST, {
      companyId: COMPANY_ID,
      orderBy: "-modifiedDate",
      page: 1,
      pageSize: 100,
      query: "id=e3334455-1aed-4e71-ab43-6bccf12092ee",
    });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      customers: { totalCount: 0, pageInfo: { pageNumber: 1, pageSize: 100, totalPages: 1, hasNextPage: false }, nodes: [] },
    });
  });

  it("get: customer_id='7110701885' → null", async () => {
    expect((await stack.graphql(GET, { companyId: COMPANY_ID, customerId: "7110701885" })).data).toEqual({ customer: null });
  });

  it("attachments of customer_id='EILBDVJVNUAGVKRQ' → null; of a customer that has some: list, get and download", async () => {
    const seed = await stack.graphql(LIST_ATTACHMENTS, {
      companyId: COMPANY_ID,
      connectionId: CONNECTION_ID,
      customerId: "EILBDVJVNUAGVKRQ",
    });
    expect(seed.data).toEqual({ customer: null });
    const get = await stack.graphql(GET_ATTACHMENT, {
      attachmentId: "8a210b68-6988-11ed-a1eb-0242ac120002",
      companyId: COMPANY_ID,
      connectionId: CONNECTION_ID,
      customerId: "EILBDVJVNUAGVKRQ",
    });
    expect(get.data).toEqual({ customerAttachment: null });

    // list_attachments, get_attachment and download_attachment for a customer with attachments.
    type A = { attachmentId: string; fileSize: number; name: string; downloadUrl: string };
    const list = await stack.graphql<{ customer: { attachments: A[] } }>(LIST_ATTACHMENTS, {
      companyId: COMPANY_ID,
      connectionId: CONNECTION_ID,
      customerId: ATTACHMENT_CUSTOMER_ID,
    });
    expect(list.errors).toBeUndefined();
    const first = list.data!.customer.attachments[0]!;
    const one = await stack.graphql<{ customerAttachment: A }>(GET_ATTACHMENT, {
      attachmentId: first.attachmentId,
      companyId: COMPANY_ID,
      connectionId: CONNECTION_ID,
      customerId: ATTACHMENT_CUSTOMER_ID,
    });
    expect(one.data!.customerAttachment).toMatchObject({ attachmentId: first.attachmentId, fileSize: first.fileSize });
    const download = await fetch(one.data!.customerAttachment.downloadUrl);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-disposition")).toMatch(/^attachment/);
    expect((await download.arrayBuffer()).byteLength).toBe(first.fileSize);
  });
});
