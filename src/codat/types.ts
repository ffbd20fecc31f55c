/**
 * The Codat REST DTOs the gateway uses, picked from the types generated from openapi/codat/
 * (`npm run codegen`). The same paths serve Accounting, Sync for Expenses and Lending; the Accounting spec is
 * the reference for customers, options and attachments, the Sync for Expenses spec (newer) for push
 * operations and error bodies.
 */
import type { components as Accounting } from "./__generated__/accounting.js";
import type { components as Expenses } from "./__generated__/sync-for-expenses.js";
import type { components as Platform } from "./__generated__/platform.js";

type A = Accounting["schemas"];
type E = Expenses["schemas"];
type P = Platform["schemas"];

export type CodatConnection = P["Connection"];
export type CodatConnectionsPage = P["Connections"];
/**
 * `GET /companies/{companyId}/dataStatus` (Platform API, `DataStatus` in `codatio/oas` `yaml/Codat-Platform.yaml`;
 * not in the vendored subset): per data type, the last successful sync. Only the fields the read cache uses.
 */
export interface CodatDataTypeStatus {
  dataType: string;
  lastSuccessfulSync?: string | null;
  currentStatus?: string | null;
  latestSyncId?: string | null;
  latestSuccessfulSyncId?: string | null;
}
export type CodatDataStatus = Record<string, CodatDataTypeStatus>;

export type CodatCustomer = A["Customer"];
/** A customer as the gateway reads it: validated to carry its id (src/codat/validate.ts), which the spec leaves optional. */
export type CodatCustomerRecord = CodatCustomer & { id: string };
export type CodatCustomersPage = Omit<A["Customers"], "results"> & { results: CodatCustomerRecord[] };
export type CodatAddress = A["CompanyDatasetAddresses"];
export type CodatAddressType = A["CompanyDatasetAddressesAddressType"];
export type CodatContact = A["CustomerContact"];
export type CodatPhoneNumber = A["CompanyDatasetPhoneNumbers"];
export type CodatPhoneNumberType = A["CompanyDatasetPhoneNumbersPhoneNumberType"];
export type CodatCustomerStatus = A["CustomerCustomerStatus"];
export type CodatPagingInfo = A["PagingInfo"];

export type CodatPushOption = A["PushOption"];
export type CodatAttachment = A["Attachment"];
/** An attachment as the gateway reads it: validated to carry its id, like CodatCustomerRecord. */
export type CodatAttachmentRecord = CodatAttachment & { id: string };
export type CodatAttachments = Omit<A["AttachmentsDataset"], "attachments"> & { attachments?: CodatAttachmentRecord[] | null };

export type CodatPushOperation = E["PushOperation"];
export type CodatPushOperationsPage = E["PushOperations"];
export type CodatPushOperationStatus = CodatPushOperation["status"];
export type CodatCreateCustomerResponse = E["CreateCustomerResponse"];
export type CodatUpdateCustomerResponse = E["UpdateCustomerResponse"];
export type CodatErrorMessage = E["ErrorMessage"];
export type CodatPushOptionProperty = A["PushOptionPushOptionProperty"];
export type CodatPushOptionChoice = A["PushOptionPushOptionChoice"];
export type CodatPushOptionValidation = A["PushOptionPushValidationInfo"];
export type CodatPushOptionType = A["PushOptionPushOptionType"];
export type CodatPushValidation = E["PushOperationValidation"];
export type CodatPushValidationItem = E["PushOperationValidationItem"];
export type CodatPushChange = E["PushOperationPushOperationChange"];
export type CodatPushChangeType = E["PushOperationPushChangeType"];
