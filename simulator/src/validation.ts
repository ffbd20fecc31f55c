/**
 * Validation of pushed `Customer` bodies, in two tiers (README "Push validation"):
 *
 * 1. Shape — `parseCustomerBody`: the body must be JSON whose types match the Customer schema (an object;
 *    `addresses`/`contacts`/`contacts[].phone` arrays; nested objects objects; scalar fields strings, or
 *    `metadata.isDeleted` a boolean; `null` is accepted anywhere). A body that fails this could not even be
 *    deserialised, so it is rejected at once: 400 `ErrorMessage` with `validation.errors[]` whose `itemId` is
 *    the JSON path of the offending field. Unknown properties are dropped, as a deserialiser would.
 * 2. Rules — `customerRuleErrors`: required fields, enum values, ISO 4217 currency and the length limits in
 *    `CUSTOMER_LIMITS`. A body that breaks them is accepted (200, Pending) and its push operation then
 *    completes `Failed` (statusCode 400) with `validation.errors[]` whose `itemId` is the customer id and whose
 *    `message` names the field ("CustomerName is required") — how Codat reports integration-side validation.
 *
 * Field names in messages are PascalCase with indexes (`Addresses[1].Type`), the way Codat's messages spell them.
 */
import type { CodatCustomer } from "./codat-types.js";
import { SimHttpError, type ValidationItem } from "./errors.js";

/** `validatorName` of shape errors (immediate 400). */
export const BODY_VALIDATOR = "RequestBody";
/** `validatorName` of rule errors (push completes Failed). */
export const CUSTOMER_VALIDATOR = "Customer";
/** `validatorName` of the forceUpdate conflict (push completes Failed). */
export const SOURCE_MODIFIED_VALIDATOR = "SourceModifiedDate";

/**
 * Maximum lengths (UTF-16 code units) enforced as rule errors. Picked to resemble the integrations' limits in the
 * options examples (Xero: registration number 50, address lines 500, city/region 255, postal code 50); Codat
 * itself documents none for customerName, 100 is this simulator's choice.
 */
export const CUSTOMER_LIMITS = {
  customerName: 100,
  contactName: 255,
  emailAddress: 255,
  phone: 50,
  registrationNumber: 50,
  taxNumber: 50,
  addressLine: 500,
  city: 255,
  region: 255,
  country: 255,
  postalCode: 50,
  contactPersonName: 255,
  contactEmail: 255,
  phoneNumber: 50,
} as const;

export const CUSTOMER_STATUSES = ["Unknown", "Active", "Archived"] as const;
export const ADDRESS_TYPES = ["Unknown", "Billing", "Delivery"] as const;
export const PHONE_TYPES = ["Primary", "Landline", "Mobile", "Fax", "Unknown"] as const;

// ---------------------------------------------------------------------------------------------------- shape

type Shape =
  | "string"
  | "boolean"
  /** Any JSON object, kept as is (supplementalData.content). */
  | "object"
  | { fields: Record<string, Shape> }
  | { items: Shape };

const ADDRESS: Shape = {
  fields: { type: "string", line1: "string", line2: "string", city: "string", region: "string", country: "string", postalCode: "string" },
};
const PHONE_NUMBER: Shape = { fields: { number: "string", type: "string" } };
const CONTACT: Shape = {
  fields: { name: "string", email: "string", phone: { items: PHONE_NUMBER }, address: ADDRESS, status: "string", modifiedDate: "string" },
};
const CUSTOMER: Shape = {
  fields: {
    id: "string",
    customerName: "string",
    contactName: "string",
    emailAddress: "string",
    defaultCurrency: "string",
    phone: "string",
    addresses: { items: ADDRESS },
    contacts: { items: CONTACT },
    registrationNumber: "string",
    taxNumber: "string",
    status: "string",
    metadata: { fields: { isDeleted: "boolean" } },
    supplementalData: { fields: { content: "object" } },
    modifiedDate: "string",
    sourceModifiedDate: "string",
  },
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function jsonType(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** Checks `value` against `shape`, collecting errors; returns the cleaned copy (unknown properties dropped). */
function conform(value: unknown, shape: Shape, path: string, errors: ValidationItem[]): unknown {
  if (value === null) return null;
  // Records the problem; the field is then dropped (typed unknown, since conform returns whatever it cleaned).
  const fail = (expected: string): unknown => {
    errors.push({
      itemId: path,
      message: `${displayPath(path)} must be ${expected}, not ${jsonType(value)}`,
      validatorName: BODY_VALIDATOR,
    });
    return undefined;
  };
  if (shape === "string") return typeof value === "string" ? value : fail("a string");
  if (shape === "boolean") return typeof value === "boolean" ? value : fail("a boolean");
  if (shape === "object") return isPlainObject(value) ? value : fail("an object");
  if ("items" in shape) {
    if (!Array.isArray(value)) return fail("an array");
    return value.map((item, i) => conform(item, shape.items, `${path}[${i}]`, errors));
  }
  if (!isPlainObject(value)) return fail("an object");
  const out: Record<string, unknown> = {};
  for (const [name, fieldShape] of Object.entries(shape.fields)) {
    if (!(name in value) || value[name] === undefined) continue;
    out[name] = conform(value[name], fieldShape, path ? `${path}.${name}` : name, errors);
  }
  return out;
}

/** `addresses[1].type` → `Addresses[1].Type`. */
function displayPath(path: string): string {
  if (path === "") return "The request body";
  return path
    .split(".")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join(".");
}

/** A push body that passed the shape check: a JSON object with only known Customer properties. */
export type CustomerDraft = Record<string, unknown>;

/**
 * Parses a push body. Throws `SimHttpError` 400 (with `validation.errors`) when it is empty, not JSON, or of
 * the wrong shape; the returned draft may still break the rules.
 */
export function parseCustomerBody(body: Buffer): CustomerDraft {
  const reject = (message: string, items: ValidationItem[]): never => {
    throw new SimHttpError(400, `Error processing request - ${message}`, "PushApi", {}, items);
  };
  const text = body.toString("utf8");
  if (text.trim() === "") {
    reject("a request body is required.", [
      { itemId: null, message: "The request body (a Customer) is required", validatorName: BODY_VALIDATOR },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    reject("the request body is not valid JSON.", [
      { itemId: null, message: `The request body is not valid JSON (${detail})`, validatorName: BODY_VALIDATOR },
    ]);
  }
  const errors: ValidationItem[] = [];
  const draft = isPlainObject(value) ? conform(value, CUSTOMER, "", errors) : undefined;
  if (!isPlainObject(draft)) {
    reject("not valid.", [
      {
        itemId: null,
        message: `The request body must be a JSON object (a Customer), not ${jsonType(value)}`,
        validatorName: BODY_VALIDATOR,
      },
    ]);
  }
  if (errors.length > 0 || !isPlainObject(draft)) reject("not valid.", errors);
  // Phone numbers require the `number` key (nullable); a body omitting it means "no number".
  const contacts = isPlainObject(draft) ? draft["contacts"] : undefined;
  if (Array.isArray(contacts)) {
    for (const contact of contacts) {
      const phones = isPlainObject(contact) ? contact["phone"] : undefined;
      if (!Array.isArray(phones)) continue;
      for (const phone of phones) if (isPlainObject(phone) && !("number" in phone)) phone["number"] = null;
    }
  }
  return isPlainObject(draft) ? draft : {};
}

// ---------------------------------------------------------------------------------------------------- rules

function oneOf(value: unknown, allowed: readonly string[], field: string, itemId: string | null, errors: ValidationItem[]): void {
  if (value === undefined || value === null || value === "") {
    errors.push({ itemId, message: `${field} is required`, validatorName: CUSTOMER_VALIDATOR });
  } else if (typeof value !== "string" || !allowed.includes(value)) {
    errors.push({
      itemId,
      message: `${field} must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})`,
      validatorName: CUSTOMER_VALIDATOR,
    });
  }
}

function maxLength(value: unknown, limit: number, field: string, itemId: string | null, errors: ValidationItem[]): void {
  if (typeof value === "string" && value.length > limit) {
    errors.push({
      itemId,
      message: `${field} must be at most ${limit} characters (got ${value.length})`,
      validatorName: CUSTOMER_VALIDATOR,
    });
  }
}

function addressErrors(address: unknown, field: string, itemId: string | null, errors: ValidationItem[]): void {
  if (!isPlainObject(address)) return;
  oneOf(address["type"], ADDRESS_TYPES, `${field}.Type`, itemId, errors);
  maxLength(address["line1"], CUSTOMER_LIMITS.addressLine, `${field}.Line1`, itemId, errors);
  maxLength(address["line2"], CUSTOMER_LIMITS.addressLine, `${field}.Line2`, itemId, errors);
  maxLength(address["city"], CUSTOMER_LIMITS.city, `${field}.City`, itemId, errors);
  maxLength(address["region"], CUSTOMER_LIMITS.region, `${field}.Region`, itemId, errors);
  maxLength(address["country"], CUSTOMER_LIMITS.country, `${field}.Country`, itemId, errors);
  maxLength(address["postalCode"], CUSTOMER_LIMITS.postalCode, `${field}.PostalCode`, itemId, errors);
}

/** Rule violations of a shape-checked draft (empty when the customer may be written). */
export function customerRuleErrors(draft: CustomerDraft, itemId: string | null): ValidationItem[] {
  const errors: ValidationItem[] = [];
  const name = draft["customerName"];
  if (typeof name !== "string" || name.trim() === "") {
    errors.push({ itemId, message: "CustomerName is required", validatorName: CUSTOMER_VALIDATOR });
  } else {
    maxLength(name, CUSTOMER_LIMITS.customerName, "CustomerName", itemId, errors);
  }
  oneOf(draft["status"], CUSTOMER_STATUSES, "Status", itemId, errors);
  const currency = draft["defaultCurrency"];
  if (currency !== undefined && currency !== null && (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency))) {
    errors.push({
      itemId,
      message: `DefaultCurrency must be an ISO 4217 currency code such as GBP (got ${JSON.stringify(currency)})`,
      validatorName: CUSTOMER_VALIDATOR,
    });
  }
  maxLength(draft["contactName"], CUSTOMER_LIMITS.contactName, "ContactName", itemId, errors);
  maxLength(draft["emailAddress"], CUSTOMER_LIMITS.emailAddress, "EmailAddress", itemId, errors);
  maxLength(draft["phone"], CUSTOMER_LIMITS.phone, "Phone", itemId, errors);
  maxLength(draft["registrationNumber"], CUSTOMER_LIMITS.registrationNumber, "RegistrationNumber", itemId, errors);
  maxLength(draft["taxNumber"], CUSTOMER_LIMITS.taxNumber, "TaxNumber", itemId, errors);

  const addresses = draft["addresses"];
  if (Array.isArray(addresses)) {
    addresses.forEach((address, i) => {
      if (address === null) errors.push({ itemId, message: `Addresses[${i}] must not be null`, validatorName: CUSTOMER_VALIDATOR });
      else addressErrors(address, `Addresses[${i}]`, itemId, errors);
    });
  }
  const contacts = draft["contacts"];
  if (Array.isArray(contacts)) {
    contacts.forEach((contact, i) => {
      const field = `Contacts[${i}]`;
      if (!isPlainObject(contact)) {
        errors.push({ itemId, message: `${field} must not be null`, validatorName: CUSTOMER_VALIDATOR });
        return;
      }
      oneOf(contact["status"], CUSTOMER_STATUSES, `${field}.Status`, itemId, errors);
      maxLength(contact["name"], CUSTOMER_LIMITS.contactPersonName, `${field}.Name`, itemId, errors);
      maxLength(contact["email"], CUSTOMER_LIMITS.contactEmail, `${field}.Email`, itemId, errors);
      addressErrors(contact["address"], `${field}.Address`, itemId, errors);
      const phones = contact["phone"];
      if (Array.isArray(phones)) {
        phones.forEach((phone, j) => {
          if (!isPlainObject(phone)) {
            errors.push({ itemId, message: `${field}.Phone[${j}] must not be null`, validatorName: CUSTOMER_VALIDATOR });
            return;
          }
          oneOf(phone["type"], PHONE_TYPES, `${field}.Phone[${j}].Type`, itemId, errors);
          maxLength(phone["number"], CUSTOMER_LIMITS.phoneNumber, `${field}.Phone[${j}].Number`, itemId, errors);
        });
      }
    });
  }
  return errors;
}

/**
 * True when `record` is a complete, valid customer (shape and rules, with an id): what the push engine checks
 * right before writing a record to the store.
 */
export function isWritableCustomer(record: CustomerDraft): record is CodatCustomer & { id: string } & CustomerDraft {
  if (typeof record["id"] !== "string" || record["id"] === "") return false;
  const errors: ValidationItem[] = [];
  conform(record, CUSTOMER, "", errors);
  return errors.length === 0 && customerRuleErrors(record, null).length === 0;
}
