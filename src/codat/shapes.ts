/**
 * Light runtime checks of Codat response bodies. They guard what the gateway relies on structurally (a list is
 * an array, a total is a number, a key is a string) so a broken upstream answer becomes UPSTREAM_ERROR at the
 * client instead of a TypeError deep in a resolver. Field-level content is not validated: Codat adds fields
 * and enum values over time, and the mappers already tolerate unknown values.
 */
import type {
  CodatConnectionsPage,
  CodatAttachment,
  CodatAttachments,
  CodatCreateCustomerResponse,
  CodatCustomer,
  CodatCustomersPage,
  CodatPushOperation,
  CodatPushOperationsPage,
  CodatPushOption,
  CodatUpdateCustomerResponse,
} from "./types.js";

export type Guard<T> = (value: unknown) => value is T;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPage(value: unknown): value is Record<string, unknown> & { results: unknown[] } {
  return (
    isRecord(value) &&
    Array.isArray(value["results"]) &&
    value["results"].every(isRecord) &&
    typeof value["totalResults"] === "number" &&
    // Paging fields are documented as required; tolerate their absence but not a wrong type.
    (value["pageNumber"] === undefined || typeof value["pageNumber"] === "number") &&
    (value["pageSize"] === undefined || typeof value["pageSize"] === "number")
  );
}

export const isCustomer: Guard<CodatCustomer> = (value): value is CodatCustomer =>
  isRecord(value) && (value["id"] === undefined || typeof value["id"] === "string");

export const isCustomersPage: Guard<CodatCustomersPage> = (value): value is CodatCustomersPage =>
  isPage(value) && value.results.every(isCustomer);

export const isPushOperation: Guard<CodatPushOperation> = (value): value is CodatPushOperation =>
  isRecord(value) && typeof value["pushOperationKey"] === "string" && typeof value["status"] === "string";

export const isPushOperationsPage: Guard<CodatPushOperationsPage> = (value): value is CodatPushOperationsPage =>
  isPage(value) && value.results.every(isPushOperation);

export const isConnectionsPage: Guard<CodatConnectionsPage> = (value): value is CodatConnectionsPage =>
  isPage(value) && value.results.every((c) => isRecord(c) && typeof c["id"] === "string" && c["id"] !== "");

export const isPushOption: Guard<CodatPushOption> = (value): value is CodatPushOption =>
  isRecord(value) && typeof value["type"] === "string";

export const isAttachment: Guard<CodatAttachment> = (value): value is CodatAttachment =>
  isRecord(value) && (value["id"] === undefined || typeof value["id"] === "string");

export const isAttachments: Guard<CodatAttachments> = (value): value is CodatAttachments =>
  isRecord(value) &&
  (value["attachments"] === undefined ||
    value["attachments"] === null ||
    (Array.isArray(value["attachments"]) && value["attachments"].every(isAttachment)));

/** Create and update answer: a push operation, with the pushed record under `data` when Codat has it. */
function isPushResponse(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const data = value["data"];
  return (data === undefined || isRecord(data)) && isPushOperation(value);
}

export const isCreateCustomerResponse: Guard<CodatCreateCustomerResponse> = (
  value,
): value is CodatCreateCustomerResponse => isPushResponse(value);

export const isUpdateCustomerResponse: Guard<CodatUpdateCustomerResponse> = (
  value,
): value is CodatUpdateCustomerResponse => isPushResponse(value);
