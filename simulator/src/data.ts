/**
 * Deterministic demo data (CONTRACT.md "Embedded simulator demo data"): a seeded PRNG and fixed base dates, so
 * every start (and every simulator instance) serves byte-identical data. Nothing here reads the clock.
 */
import type { CodatAddress, CodatContact, CodatCustomer, CodatCustomerStatus, CodatPhoneNumber } from "./codat-types.js";
import {
  CONNECTION_SCHEMA,
  CUSTOMER_SCHEMA,
  Dataset,
  PUSH_OPERATION_SCHEMA,
  SimulatorStore,
  type AttachmentRecord,
  type CodatConnection,
  type CompanyData,
  type PushOperationRecord,
} from "./store.js";
import { CUSTOMER_VALIDATOR, SOURCE_MODIFIED_VALIDATOR } from "./validation.js";

/** Codat's own docs/SDK example ids. */
export const DEMO_COMPANY_ID = "8a210b68-6988-11ed-a1eb-0242ac120002";
export const DEMO_CONNECTION_ID = "2e9d2c44-f675-40ba-8049-353bfcb5e171";
export const DEMO_CUSTOMER_COUNT = 137;

/** A second company, so per-company behaviour (batching, limits) is visible. */
export const SECOND_COMPANY_ID = "5b7e2d1c-3f4a-4c8e-9d6b-0a1f2e3d4c5b";
export const SECOND_CONNECTION_ID = "c4d5e6f7-0819-4a2b-8c3d-4e5f60718293";
export const SECOND_CUSTOMER_COUNT = 25;

/** A company whose accounting connection holds no customers. */
export const EMPTY_COMPANY_ID = "e0e0e0e0-1111-4222-8333-444455556666";
export const EMPTY_CONNECTION_ID = "f1f1f1f1-2222-4333-8444-555566667777";

/**
 * The one demo customer whose id is not a UUID: it contains spaces and braces, so it cannot be embedded in a
 * Codat query (`}` ends a value) and must be fetched through the single-customer endpoint.
 */
export const AWKWARD_CUSTOMER_ID = "legacy cust {0042}";

/** A demo customer with several (small) attachments. */
export const ATTACHMENT_CUSTOMER_ID = "1f6e4c2a-8b3d-4e5f-9a7c-0d1e2f3a4b5c";
/** The >= 1 GiB attachment (bytes to be generated as a stream) and the demo customer it belongs to. */
export const LARGE_ATTACHMENT_CUSTOMER_ID = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
export const LARGE_ATTACHMENT_ID = "b1a2c3d4-e5f6-4789-8abc-def012345678";
export const LARGE_ATTACHMENT_SIZE = 1_073_741_824 + 65_537; // just over 1 GiB, not a power of two on purpose

// ---------------------------------------------------------------------------------------------------- PRNG

export type Rng = () => number;

/** mulberry32: tiny, fast, good enough for fake data, and the same sequence on every platform. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function int(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}
function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error("pick from empty list");
  return item;
}
function uuid(rng: Rng): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rng() * 16).toString(16)).join("");
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(rng, ["8", "9", "a", "b"])}${hex(3)}-${hex(12)}`;
}
function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}
/** ISO date-time from a fixed base plus an offset; `zone` false reproduces Codat's zone-less source dates. */
function isoAt(baseMs: number, offsetSeconds: number, zone: boolean): string {
  const d = new Date(baseMs + offsetSeconds * 1000);
  const text = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())}`;
  return zone ? `${text}Z` : text;
}

// ---------------------------------------------------------------------------------------------------- vocabulary

const FIRST = [
  "Arielle",
  "Arthur",
  "Alia",
  "Eula",
  "Donny",
  "Priya",
  "Mateo",
  "Sofia",
  "Liam",
  "Chloé",
  "Björn",
  "Aoife",
  "Kwame",
  "Yuki",
  "Fatima",
  "Oliver",
  "Isla",
  "Noah",
  "Amara",
  "Zoë",
  "Hamish",
  "Siobhán",
  "Ravi",
  "Elena",
] as const;
const LAST = [
  "Grant",
  "Parisian",
  "Okuneva",
  "Wuckert",
  "Emmerich",
  "Sharma",
  "García",
  "Rossi",
  "O'Brien",
  "Dubois",
  "Lindqvist",
  "Murphy",
  "Mensah",
  "Tanaka",
  "Haddad",
  "Smith",
  "MacLeod",
  "Nguyen",
  "Okafor",
  "Schmidt",
] as const;
const COMPANY_WORDS = [
  "Acme",
  "Northwind",
  "Blue Harbour",
  "Fenwick",
  "Greenleaf",
  "Kestrel",
  "Larkspur",
  "Meridian",
  "Oakridge",
  "Pennine",
  "Quayside",
  "Riverbend",
  "Saltmarsh",
  "Thornbury",
  "Umber",
  "Vantage",
  "Wexford",
  "Yarrow",
] as const;
const COMPANY_SUFFIX = ["Ltd", "LLC", "GmbH", "& Co", "Holdings", "Trading", "plc", "Partners", "Inc."] as const;
const CITIES: ReadonlyArray<readonly [city: string, region: string, country: string]> = [
  ["London", "England", "United Kingdom"],
  ["Manchester", "England", "United Kingdom"],
  ["Edinburgh", "Scotland", "United Kingdom"],
  ["Belfast", "Northern Ireland", "United Kingdom"],
  ["Cardiff", "Wales", "United Kingdom"],
  ["New York", "NY", "United States"],
  ["Austin", "TX", "United States"],
  ["San Pablo", "CA", "United States"],
  ["Berlin", "Berlin", "Germany"],
  ["Paris", "Île-de-France", "France"],
  ["Dublin", "Leinster", "Ireland"],
];
const STREETS = ["Harber Motorway", "McClure Springs", "Cremin Brooks", "Paul Crest", "Wiza Cape", "Pfeffer Curve"];
const CURRENCIES = ["GBP", "GBP", "GBP", "USD", "USD", "EUR", "EUR", "CAD", "AUD"] as const;
const PHONE_TYPES: readonly CodatPhoneNumber["type"][] = ["Primary", "Landline", "Mobile", "Fax", "Unknown"];

const MODIFIED_BASE = Date.UTC(2023, 3, 11, 11, 34, 5); // 2023-04-11T11:34:05Z, as in the spec's examples
const SOURCE_BASE = Date.UTC(2021, 0, 1, 0, 0, 0);

function phoneNumber(rng: Rng): string {
  return pick(rng, [
    () => `0${int(rng, 1000, 1999)} ${int(rng, 100000, 999999)}`,
    () => `+44 ${int(rng, 1000, 9999)} ${int(rng, 100000, 999999)}`,
    () => `(${int(rng, 200, 999)}) ${int(rng, 200, 999)}-${int(rng, 1000, 9999)}`,
    () => `0800 ${int(rng, 100000, 999999)}`,
  ])();
}

function address(rng: Rng, type: CodatAddress["type"]): CodatAddress {
  const [city, region, country] = pick(rng, CITIES);
  return {
    type,
    line1: `${pick(rng, ["Apt.", "Suite", "Unit"])} ${int(rng, 1, 999)}`,
    line2: `${int(rng, 1, 99999)} ${pick(rng, STREETS)}`,
    city,
    region,
    country,
    postalCode: `${String.fromCharCode(65 + int(rng, 0, 25))}${String.fromCharCode(65 + int(rng, 0, 25))}${int(
      rng,
      1,
      99,
    )} ${int(rng, 1, 9)}${String.fromCharCode(65 + int(rng, 0, 25))}${String.fromCharCode(65 + int(rng, 0, 25))}`,
  };
}

function contact(rng: Rng, name: string, modifiedOffset: number): CodatContact {
  // Every phone type appears across the data set; contacts carry 0..3 numbers.
  const phones: CodatPhoneNumber[] = Array.from({ length: int(rng, 0, 3) }, () => ({
    number: phoneNumber(rng),
    type: pick(rng, PHONE_TYPES),
  }));
  const c: CodatContact = {
    name,
    email: `${name.replace(/[^A-Za-z]+/g, ".")}@${pick(rng, ["gmail.com", "yahoo.com", "example.org"])}`,
    phone: phones,
    status: rng() < 0.8 ? "Active" : "Archived",
    modifiedDate: isoAt(MODIFIED_BASE, modifiedOffset, true),
  };
  if (rng() < 0.7) c.address = address(rng, pick(rng, ["Billing", "Delivery", "Delivery", "Unknown"] as const));
  return c;
}

function customer(rng: Rng, index: number, id: string): CodatCustomer & { id: string } {
  const company = `${pick(rng, COMPANY_WORDS)} ${pick(rng, COMPANY_SUFFIX)}`;
  const contactName = `${pick(rng, FIRST)} ${pick(rng, LAST)}`;
  const status: CodatCustomerStatus = rng() < 0.82 ? "Active" : "Archived";
  const modifiedOffset = -int(rng, 0, 400 * 86400);
  const addresses: CodatAddress[] = [address(rng, "Billing")];
  const extra = int(rng, 0, 2);
  for (let i = 0; i < extra; i++) addresses.push(address(rng, rng() < 0.15 ? "Unknown" : "Delivery"));
  const contactCount = int(rng, 0, 3);
  const contacts: CodatContact[] = [];
  for (let i = 0; i < contactCount; i++) {
    contacts.push(contact(rng, i === 0 ? contactName : `${pick(rng, FIRST)} ${pick(rng, LAST)}`, modifiedOffset));
  }
  // Codat quirk: sourceModifiedDate often has no zone; sometimes it is absent (platform gives none).
  const sourceRoll = rng();
  const c: CodatCustomer & { id: string } = {
    id,
    customerName: `${company}${index % 17 === 0 ? "" : ` ${index}`}`,
    contactName,
    emailAddress: `accounts${index}@${company.toLowerCase().replace(/[^a-z]+/g, "")}.example.com`,
    defaultCurrency: pick(rng, CURRENCIES),
    phone: phoneNumber(rng),
    addresses,
    contacts,
    registrationNumber: Array.from({ length: 8 }, () => pick(rng, Array.from("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"))).join(""),
    taxNumber: rng() < 0.85 ? `GB${int(rng, 100000000, 999999999)}` : null,
    status,
    modifiedDate: isoAt(MODIFIED_BASE, modifiedOffset, true),
    metadata: { isDeleted: rng() < 0.05 },
  };
  if (sourceRoll < 0.6) c.sourceModifiedDate = isoAt(SOURCE_BASE, int(rng, 0, 800 * 86400), false);
  else if (sourceRoll < 0.9) c.sourceModifiedDate = isoAt(SOURCE_BASE, int(rng, 0, 800 * 86400), true);
  if (rng() < 0.08) {
    c.supplementalData = { content: { xero: { isSupplier: false, accountNumber: `ACC-${int(rng, 1000, 9999)}` } } };
  }
  return c;
}

function connection(id: string, companyId: string, rng: Rng, platform: { name: string; key: string }): CodatConnection {
  return {
    id,
    integrationId: uuid(rng),
    integrationKey: platform.key,
    sourceId: uuid(rng),
    platformName: platform.name,
    linkUrl: `https://link-api.codat.io/companies/${companyId}/connections/${id}/start`,
    status: "Linked",
    lastSync: isoAt(MODIFIED_BASE, 0, true),
    created: isoAt(MODIFIED_BASE, -90 * 86400, true),
    sourceType: "Accounting",
  };
}

// ---------------------------------------------------------------------------------------------------- attachments

const ATTACHMENT_NAMES = [
  "Invoice 2023-04.pdf",
  'Contract "final" v2.docx',
  "Überweisung März.png",
  "receipt (1).jpg",
  "請求書_2023.pdf",
  "O'Brien & Sons – statement.xlsx",
  "notes.txt",
  "scan 0001.tiff",
  "export,with,commas.csv",
  "archive.zip",
] as const;
const CONTENT_TYPES: Record<string, string> = {
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  png: "image/png",
  jpg: "image/jpeg",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  txt: "text/plain",
  tiff: "image/tiff",
  csv: "text/csv",
  zip: "application/zip",
};

function attachmentRecord(rng: Rng, customerId: string, connectionId: string, id: string): AttachmentRecord {
  const name = pick(rng, ATTACHMENT_NAMES);
  const ext = name.slice(name.lastIndexOf(".") + 1);
  const created = -int(rng, 0, 300 * 86400);
  return {
    customerId,
    connectionId,
    attachment: {
      id,
      name,
      contentType: CONTENT_TYPES[ext] ?? "application/octet-stream",
      dateCreated: isoAt(MODIFIED_BASE, created, true),
      fileSize: int(rng, 200, 5 * 1024 * 1024),
      includeWhenSent: rng() < 0.5,
      modifiedDate: isoAt(MODIFIED_BASE, created + 60, true),
    },
    contentSeed: Math.floor(rng() * 0xffffffff),
  };
}

// ---------------------------------------------------------------------------------------------------- companies

function buildCompany(options: {
  id: string;
  name: string;
  connectionId: string;
  platform: { name: string; key: string };
  seed: number;
  customerCount: number;
  /** Fixed ids at fixed positions (index → id), everything else gets a PRNG UUID. */
  fixedIds?: ReadonlyMap<number, string>;
}): CompanyData {
  const rng = mulberry32(options.seed);
  const customers: (CodatCustomer & { id: string })[] = [];
  for (let i = 0; i < options.customerCount; i++) {
    const id = options.fixedIds?.get(i) ?? uuid(rng);
    customers.push(customer(rng, i + 1, id));
  }
  return {
    id: options.id,
    name: options.name,
    connections: new Dataset(CONNECTION_SCHEMA, (c) => c.id, [connection(options.connectionId, options.id, rng, options.platform)]),
    customers: new Dataset(CUSTOMER_SCHEMA, (c) => c.id, customers),
    attachments: new Map(),
    pushOperations: new Dataset(PUSH_OPERATION_SCHEMA, (op) => op.pushOperationKey),
  };
}

// ---------------------------------------------------------------------------------------------------- push history

type HistoricalOutcome = "Created" | "Modified" | "InvalidName" | "SourceModified" | "TimedOut";

/**
 * A few completed push operations (oldest first, as the store keeps them), so `GET /companies/{id}/push` has
 * history on start. They describe pushes of existing customers; they did not change the seeded data.
 */
function seedPushHistory(company: CompanyData, seed: number, outcomes: readonly HistoricalOutcome[]): void {
  const rng = mulberry32(seed);
  const customers = company.customers.all();
  const connectionId = company.connections.all()[0]?.id ?? "";
  let offset = -60 * 86400;
  for (const outcome of outcomes) {
    offset += int(rng, 2 * 3600, 5 * 86400);
    const customer = customers[int(rng, 0, Math.max(0, customers.length - 1))];
    // A failed create never got an id in the platform; the others name a seeded customer.
    const customerId = outcome === "InvalidName" ? uuid(rng) : (customer?.id ?? uuid(rng));
    const timeout = rng() < 0.5 ? null : pick(rng, [1, 5, 10]);
    const base: PushOperationRecord = {
      changes: null,
      dataType: "customers",
      companyId: company.id,
      pushOperationKey: uuid(rng),
      dataConnectionKey: connectionId,
      requestedOnUtc: isoAt(MODIFIED_BASE, offset, true),
      completedOnUtc: isoAt(MODIFIED_BASE, offset + int(rng, 1, 90), true),
      timeoutInMinutes: outcome === "TimedOut" ? 1 : timeout,
      // Codat still returns the deprecated field, so the simulator does too.
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      timeoutInSeconds: outcome === "TimedOut" ? 60 : timeout === null ? null : timeout * 60,
      status: "Success",
      errorMessage: null,
      statusCode: 200,
    };
    let op: PushOperationRecord;
    switch (outcome) {
      case "Created":
      case "Modified":
        op = {
          ...base,
          changes: [{ type: outcome, recordRef: { id: customerId, dataType: "customers" }, attachmentId: null }],
          validation: { errors: [], warnings: [] },
        };
        break;
      case "InvalidName":
        op = {
          ...base,
          status: "Failed",
          statusCode: 400,
          errorMessage: "The customer failed validation; see validation.errors.",
          validation: {
            errors: [{ itemId: customerId, message: "CustomerName is required", validatorName: CUSTOMER_VALIDATOR }],
            warnings: [],
          },
        };
        break;
      case "SourceModified":
        op = {
          ...base,
          status: "Failed",
          statusCode: 400,
          errorMessage: "The customer has been modified in the source platform since it was last pulled.",
          validation: {
            errors: [
              {
                itemId: customerId,
                message:
                  "SourceModifiedDate does not match the record's: the record was modified in the source platform. Pull the " +
                  "latest data and retry, or set forceUpdate=true to overwrite it.",
                validatorName: SOURCE_MODIFIED_VALIDATOR,
              },
            ],
            warnings: [],
          },
        };
        break;
      case "TimedOut":
        op = {
          ...base,
          completedOnUtc: isoAt(MODIFIED_BASE, offset + 60, true),
          status: "TimedOut",
          statusCode: 504,
          errorMessage: "The push operation did not complete within 1 minute(s).",
        };
        break;
    }
    company.pushOperations.upsert(op);
  }
}

function buildDemoCompany(): CompanyData {
  const fixedIds = new Map<number, string>([
    [3, ATTACHMENT_CUSTOMER_ID],
    [41, AWKWARD_CUSTOMER_ID],
    [88, LARGE_ATTACHMENT_CUSTOMER_ID],
  ]);
  const company = buildCompany({
    id: DEMO_COMPANY_ID,
    name: "Toft Stores (demo)",
    connectionId: DEMO_CONNECTION_ID,
    platform: { name: "Xero", key: "gbol" },
    seed: 0xc0da7,
    customerCount: DEMO_CUSTOMER_COUNT,
    fixedIds,
  });

  // Status edge cases the enum mapping must handle: a couple of Unknown customers; a few deleted ones.
  const all = company.customers.all();
  for (const index of [17, 101]) {
    const c = all[index];
    if (c) company.customers.upsert({ ...c, status: "Unknown" });
  }
  for (const index of [5, 60, 120]) {
    const c = all[index];
    if (c) company.customers.upsert({ ...c, metadata: { isDeleted: true } });
  }
  const awkward = company.customers.get(AWKWARD_CUSTOMER_ID);
  if (awkward) company.customers.upsert({ ...awkward, customerName: "Legacy {Imported} Customer & Co" });

  // About 15% of customers carry 1–3 attachments; the two fixed ones always do.
  const rng = mulberry32(0xa77ac4);
  for (const c of company.customers.all()) {
    const fixed = c.id === ATTACHMENT_CUSTOMER_ID || c.id === LARGE_ATTACHMENT_CUSTOMER_ID;
    if (!fixed && rng() >= 0.14) continue;
    const count = c.id === ATTACHMENT_CUSTOMER_ID ? 3 : int(rng, 1, 3);
    const records = Array.from({ length: count }, () => attachmentRecord(rng, c.id, DEMO_CONNECTION_ID, uuid(rng)));
    company.attachments.set(c.id, records);
  }
  const largeOwner = company.attachments.get(LARGE_ATTACHMENT_CUSTOMER_ID) ?? [];
  const large = attachmentRecord(rng, LARGE_ATTACHMENT_CUSTOMER_ID, DEMO_CONNECTION_ID, LARGE_ATTACHMENT_ID);
  large.attachment = {
    ...large.attachment,
    name: "Site survey (full resolution).tar",
    contentType: "application/x-tar",
    fileSize: LARGE_ATTACHMENT_SIZE,
  };
  company.attachments.set(LARGE_ATTACHMENT_CUSTOMER_ID, [...largeOwner, large]);
  seedPushHistory(company, 0x9054, DEMO_PUSH_HISTORY);
  return company;
}

/** Outcomes of the demo company's seeded push operations, oldest first. */
const DEMO_PUSH_HISTORY: readonly HistoricalOutcome[] = [
  "Created",
  "Modified",
  "InvalidName",
  "Modified",
  "TimedOut",
  "SourceModified",
  "Created",
  "Modified",
];
/** How many push operations the demo company has on start. */
export const DEMO_PUSH_OPERATION_COUNT = DEMO_PUSH_HISTORY.length;

/** The company `createScaleCompany` builds by default (not in the demo store). */
export const SCALE_COMPANY_ID = "5ca1e000-0000-4000-8000-000000000500";

/**
 * A synthetic company of `customerCount` generated customers (UUID ids, the demo generator's shapes), for
 * benchmarks that page or look up more customers than the demo company has. Not part of the demo store: add it
 * with `simulator.store.addCompany(createScaleCompany(1000))`.
 */
export function createScaleCompany(customerCount: number, id: string = SCALE_COMPANY_ID): CompanyData {
  return buildCompany({
    id,
    name: "Scale Test Ltd (benchmarks)",
    connectionId: "5ca1e000-0000-4000-8000-00000000c011",
    platform: { name: "Xero", key: "gbol" },
    seed: 0x5ca1e,
    customerCount,
  });
}

/** Builds a fresh store with the demo data; every call returns equal (but independent) data. */
export function createDemoStore(): SimulatorStore {
  const store = new SimulatorStore();
  store.addCompany(buildDemoCompany());
  const second = buildCompany({
    id: SECOND_COMPANY_ID,
    name: "Harbour Tools (demo)",
    connectionId: SECOND_CONNECTION_ID,
    platform: { name: "QuickBooks Online", key: "qhyg" },
    seed: 0x5ec0d,
    customerCount: SECOND_CUSTOMER_COUNT,
  });
  seedPushHistory(second, 0x5ec9, ["Created", "Modified"]);
  store.addCompany(second);
  store.addCompany(
    buildCompany({
      id: EMPTY_COMPANY_ID,
      name: "Fresh Start (demo, no customers)",
      connectionId: EMPTY_CONNECTION_ID,
      platform: { name: "Sage Business Cloud Accounting", key: "tgff" },
      seed: 0xe3,
      customerCount: 0,
    }),
  );
  return store;
}
