/**
 * GraphQL write input → the Codat `Customer` request body. Enum values arrive already as Codat's strings (the
 * enum resolvers' internal values), field names match Codat's camelCase. Limits are checked here, before any
 * upstream call, so oversized or malformed input is a BAD_USER_INPUT that changes nothing. Only what protects the
 * gateway is checked (types, sizes, control characters); what a value means (an email's shape, a currency code)
 * is Codat's and the platform's to judge, so no request Codat would accept is refused here.
 */
import type { CodatAddress, CodatContact, CodatCustomer, CodatPhoneNumber } from "../codat/types.js";
import type { AddressInput, ContactInput, CustomerInput, CustomerPatchInput, PhoneNumberInput } from "../__generated__/resolvers-types.js";
import { badUserInput } from "../errors.js";

export const MAX_TEXT = 1000;
export const MAX_EMAIL = 320;
export const MAX_SHORT = 100;
export const MAX_LIST = 50;
/** Largest `supplementalData`, as JSON text. */
export const MAX_SUPPLEMENTAL_BYTES = 64 * 1024;

type Maybe<T> = T | null | undefined;

function text(value: Maybe<string>, path: string, max = MAX_TEXT): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value.length > max) throw badUserInput(`${path} must be at most ${max} characters.`, path);
  // Control characters have no place in these fields and some platforms reject the whole record for them.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(value)) throw badUserInput(`${path} contains control characters.`, path);
  return value;
}

function list<T, R>(values: Maybe<readonly T[]>, path: string, map: (value: T, path: string) => R): R[] | undefined {
  if (values === null || values === undefined) return undefined;
  if (values.length > MAX_LIST) throw badUserInput(`${path} takes at most ${MAX_LIST} items.`, path);
  return values.map((value, i) => map(value, `${path}[${i}]`));
}

function email(value: Maybe<string>, path: string): string | undefined {
  return text(value, path, MAX_EMAIL);
}

/** Codat's `supplementalData`: `{ content: { key: { … } } }`, passed on as given within a size bound. */
function supplementalData(value: unknown, path: string): CodatCustomer["supplementalData"] {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw badUserInput(`${path} must be an object such as { content: { … } }.`, path);
  if (JSON.stringify(value).length > MAX_SUPPLEMENTAL_BYTES)
    throw badUserInput(`${path} must be at most ${MAX_SUPPLEMENTAL_BYTES} bytes of JSON.`, path);
  return value;
}

function address(input: AddressInput, path: string): CodatAddress {
  return compact({
    type: input.type,
    line1: text(input.line1, `${path}.line1`),
    line2: text(input.line2, `${path}.line2`),
    city: text(input.city, `${path}.city`),
    region: text(input.region, `${path}.region`),
    country: text(input.country, `${path}.country`),
    postalCode: text(input.postalCode, `${path}.postalCode`, MAX_SHORT),
    countryCode: text(input.countryCode, `${path}.countryCode`, MAX_SHORT),
  });
}

function phone(input: PhoneNumberInput, path: string): CodatPhoneNumber {
  return { number: text(input.number, `${path}.number`, MAX_SHORT) ?? null, type: input.type };
}

function contact(input: ContactInput, path: string): CodatContact {
  return compact({
    name: text(input.name, `${path}.name`),
    email: email(input.email, `${path}.email`),
    phone: list(input.phone, `${path}.phone`, phone),
    address: input.address ? address(input.address, `${path}.address`) : undefined,
    status: input.status ?? "Active",
    modifiedDate: input.modifiedDate ?? undefined,
  });
}

/**
 * Builds the request body. `id` is the customer's id for updates (Codat's examples carry it) and the caller's
 * `customer.id` for creates (some platforms, Sage 50 UK for one, require the new record's id).
 */
export function toCodatCustomer(input: CustomerInput, path: string, id?: string): CodatCustomer {
  const currency = text(input.defaultCurrency, `${path}.defaultCurrency`, MAX_SHORT);
  return compact({
    id: id !== undefined ? text(id, `${path}.id`, MAX_TEXT) : undefined,
    customerName: text(input.customerName, `${path}.customerName`),
    contactName: text(input.contactName, `${path}.contactName`),
    emailAddress: email(input.emailAddress, `${path}.emailAddress`),
    phone: text(input.phone, `${path}.phone`, MAX_SHORT),
    defaultCurrency: currency,
    registrationNumber: text(input.registrationNumber, `${path}.registrationNumber`),
    taxNumber: text(input.taxNumber, `${path}.taxNumber`),
    status: input.status ?? "Active",
    addresses: list(input.addresses, `${path}.addresses`, address),
    contacts: list(input.contacts, `${path}.contacts`, contact),
    modifiedDate: input.modifiedDate ?? undefined,
    sourceModifiedDate: input.sourceModifiedDate ?? undefined,
    metadata: input.metadata ? compact({ isDeleted: input.metadata.isDeleted ?? undefined }) : undefined,
    supplementalData: supplementalData(input.supplementalData, `${path}.supplementalData`),
  });
}

/**
 * The fields a `patchCustomer` sets, in Codat's shape: only the keys present in the input (an omitted field is
 * kept by the caller of this), `null` where the input clears one. `status` cannot be cleared (Codat requires it),
 * so `null` there keeps it too. The same checks as `toCodatCustomer`.
 */
export function toCodatCustomerPatch(input: CustomerPatchInput, path: string): Partial<CodatCustomer> {
  const mapped: Record<string, unknown> = toCodatCustomer({ ...input, status: input.status ?? undefined }, path);
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || (key === "status" && value === null)) continue;
    patch[key] = value === null ? null : mapped[key];
  }
  return patch;
}

/** Drops undefined members so the body carries only what the caller set. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
