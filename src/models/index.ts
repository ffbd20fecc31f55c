/**
 * The parent objects resolvers receive (codegen "mappers"): Codat's REST DTOs, plus the little context the DTO
 * lacks (a customer DTO does not say which company it belongs to). One table, so the REST-to-GraphQL gap is
 * visible in one place.
 */
import type {
  CodatAddress,
  CodatAttachmentRecord,
  CodatContact,
  CodatCustomerRecord,
  CodatPhoneNumber,
  CodatPushChange,
  CodatPushOperation,
  CodatConnection,
  CodatPushOption,
  CodatPushOptionChoice,
  CodatPushOptionProperty,
  CodatPushOptionValidation,
  CodatPushValidation,
  CodatPushValidationItem,
} from "../codat/types.js";

export type Customer = CodatCustomerRecord & { companyId: string };
export type PushOperation = CodatPushOperation;
export type PushValidation = CodatPushValidation;
export type PushValidationItem = CodatPushValidationItem;
export type PushChange = CodatPushChange;
/** The model root and its nested properties share one GraphQL type. */
export type PushOption = CodatPushOption | CodatPushOptionProperty;
export interface PushOptionProperty {
  name: string;
  option: PushOption;
}
export type PushOptionChoice = CodatPushOptionChoice;
export type PushOptionValidation = CodatPushOptionValidation;

export interface CustomerPushPayload {
  pushOperation: PushOperation;
  customer: Customer | null;
  idempotencyKey: string | null;
}
export type Contact = CodatContact;
export type DataConnection = CodatConnection & { companyId: string };
/** An attachment DTO plus where it lives, which the DTO does not say and the download link needs. */
export type Attachment = CodatAttachmentRecord & { companyId: string; connectionId: string; customerId: string };
export type Address = CodatAddress;
export type PhoneNumber = CodatPhoneNumber;

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
  /** The page's number in the list counted in pages of `pageSize` (1-based), null when the page is not on a boundary. */
  pageNumber: number | null;
  pageSize: number | null;
  totalPages: number | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Edge<T>[];
  nodes: T[];
  pageInfo: PageInfo;
  totalCount: number;
}

/**
 * Adds the owning company to a customer DTO, which Codat returns without it. In place: the DTO is the gateway's
 * own freshly parsed copy, shared with nobody outside this request, and copying its ~20 fields per customer was
 * a measurable per-item cost on large pages. Idempotent; a DTO that already has its company keeps it (the same
 * company spelled in another case by a second field of the same operation).
 */
export function toCustomer(companyId: string, dto: CodatCustomerRecord): Customer {
  const customer: CodatCustomerRecord & { companyId?: string } = dto;
  customer.companyId ??= companyId;
  return customer as Customer;
}

/** Adds the owning company, connection and customer to an attachment DTO. */
export function toAttachment(
  owner: { companyId: string; connectionId: string; customerId: string },
  dto: CodatAttachmentRecord,
): Attachment {
  return { ...dto, companyId: owner.companyId, connectionId: owner.connectionId, customerId: owner.customerId };
}
