/**
 * Runtime validation of Codat's answers, compiled by Ajv from the vendored OpenAPI schemas
 * (`npm run codegen` writes their structure to __generated__/response-schemas.ts; scripts/openapi-json-schema.ts
 * says what is kept). A 2xx body that does not match its documented schema becomes UPSTREAM_ERROR naming the
 * first field at fault (`/results/3/status must be string`), so a Codat data error is never blamed on the caller
 * or papered over with an empty id.
 *
 * On top of the specs the gateway requires what it addresses records by: a customer's and an attachment's `id`
 * (optional in the specs) must be a non-empty string.
 *
 * Validators are compiled once, when this module loads (about 100 ms), never per request.
 */
import { Ajv, type ValidateFunction } from "ajv";
import { RESPONSE_SCHEMAS } from "./__generated__/response-schemas.js";
import type {
  CodatAttachmentRecord,
  CodatAttachments,
  CodatConnectionsPage,
  CodatCreateCustomerResponse,
  CodatCustomerRecord,
  CodatCustomersPage,
  CodatDataStatus,
  CodatPushOperation,
  CodatPushOperationsPage,
  CodatPushOption,
  CodatUpdateCustomerResponse,
} from "./types.js";

/** A compiled check of one response type: a type guard whose `errors` name the first field at fault. */
export type ResponseValidator<T> = ValidateFunction<T>;

type Spec = "accounting" | "sync-for-expenses" | "platform";

const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false, coerceTypes: false, useDefaults: false });
for (const [name, document] of Object.entries(RESPONSE_SCHEMAS)) {
  if (typeof document === "object" && document !== null) ajv.addSchema({ ...document, $id: schemaId(name) });
}

function schemaId(spec: string): string {
  return `https://codat-openapi.local/${spec}.json`;
}

function ref(spec: Spec, schema: string): { $ref: string } {
  return { $ref: `${schemaId(spec)}#/components/schemas/${schema}` };
}

const ID = { type: "string", minLength: 1 } as const;
/** What the gateway adds to a record's schema: a non-empty `id`. */
const HAS_ID = { type: "object", required: ["id"], properties: { id: ID } } as const;
/** A record the gateway addresses by id: the spec's schema, with a non-empty `id` required. */
const withId = (base: object) => ({ allOf: [base, HAS_ID] });
/**
 * A page whose results each have an id. The spec's page schema already checks every result against the record's
 * schema (`results.items` is a `$ref` to it), so the added branch only checks the id: a record is validated once,
 * not once per branch (which doubled the cost of a page).
 */
const pageWithIds = (page: object) => ({
  allOf: [page, { type: "object", required: ["results"], properties: { results: { type: "array", items: HAS_ID } } }],
});

const customer = withId(ref("accounting", "Customer"));
const attachment = withId(ref("accounting", "Attachment"));

export const validCustomer: ResponseValidator<CodatCustomerRecord> = ajv.compile<CodatCustomerRecord>(customer);
export const validCustomersPage: ResponseValidator<CodatCustomersPage> = ajv.compile<CodatCustomersPage>(
  pageWithIds(ref("accounting", "Customers")),
);
export const validPushOperation: ResponseValidator<CodatPushOperation> = ajv.compile<CodatPushOperation>(
  ref("sync-for-expenses", "PushOperation"),
);
export const validPushOperationsPage: ResponseValidator<CodatPushOperationsPage> = ajv.compile<CodatPushOperationsPage>(
  ref("sync-for-expenses", "PushOperations"),
);
export const validConnectionsPage: ResponseValidator<CodatConnectionsPage> = ajv.compile<CodatConnectionsPage>(
  pageWithIds(ref("platform", "Connections")),
);
export const validPushOption: ResponseValidator<CodatPushOption> = ajv.compile<CodatPushOption>(ref("accounting", "PushOption"));
export const validAttachment: ResponseValidator<CodatAttachmentRecord> = ajv.compile<CodatAttachmentRecord>(attachment);
export const validAttachments: ResponseValidator<CodatAttachments> = ajv.compile<CodatAttachments>({
  allOf: [
    ref("accounting", "AttachmentsDataset"),
    // The dataset's schema checks each attachment against Attachment already; this adds the id.
    { type: "object", properties: { attachments: { type: ["array", "null"], items: HAS_ID } } },
  ],
});
export const validCreateCustomerResponse: ResponseValidator<CodatCreateCustomerResponse> = ajv.compile<CodatCreateCustomerResponse>(
  ref("sync-for-expenses", "CreateCustomerResponse"),
);
export const validUpdateCustomerResponse: ResponseValidator<CodatUpdateCustomerResponse> = ajv.compile<CodatUpdateCustomerResponse>(
  ref("sync-for-expenses", "UpdateCustomerResponse"),
);

/** "/results/3/id must be string": the first problem of the last failed check, for the UPSTREAM_ERROR message. */
export function firstProblem(validator: ResponseValidator<unknown>): { field: string; problem: string } {
  const error = validator.errors?.[0];
  if (!error) return { field: "/", problem: "does not match the documented schema" };
  const missing =
    error.keyword === "required" && typeof error.params["missingProperty"] === "string" ? `/${error.params["missingProperty"]}` : "";
  return {
    field: `${error.instancePath}${missing}` || "/",
    problem: error.keyword === "required" ? "is missing" : (error.message ?? "is invalid"),
  };
}

/** `dataStatus`: a map of data type to its status (written here: the vendored Platform subset does not carry it). */
export const validDataStatus: ResponseValidator<CodatDataStatus> = ajv.compile<CodatDataStatus>({
  type: "object",
  additionalProperties: {
    type: "object",
    required: ["dataType"],
    properties: {
      dataType: { type: "string" },
      lastSuccessfulSync: { type: ["string", "null"] },
      currentStatus: { type: ["string", "null"] },
      latestSyncId: { type: ["string", "null"] },
      latestSuccessfulSyncId: { type: ["string", "null"] },
    },
  },
});
