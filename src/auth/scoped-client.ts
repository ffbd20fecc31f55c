/**
 * Authorization at the one place every entry point passes through: the Codat client. The per-request view
 * below refuses, before any network call, every method whose company the caller was not granted — whether the
 * call comes from a query, a mutation, a batch or a federation `_entities` representation. In a batch only
 * the forbidden company's keys fail, since the loaders call the client once per company.
 */
import type { CodatClient } from "../codat/client.js";
import { ErrorCode, gatewayError } from "../errors.js";
import { mayUseCompany, type Caller } from "./caller.js";

/** The Codat methods resolvers and loaders use; each takes the company id first. */
export type CodatApi = Pick<
  CodatClient,
  | "listCustomers"
  | "getCustomer"
  | "listPushOperations"
  | "getPushOperation"
  | "getCustomerCreateUpdateModel"
  | "listConnections"
  | "createCustomer"
  | "updateCustomer"
  | "listCustomerAttachments"
  | "getCustomerAttachment"
  | "downloadCustomerAttachment"
>;

export function forbidden(companyId: string) {
  return gatewayError(ErrorCode.Forbidden, `You may not use company ${companyId.slice(0, 64)}.`);
}

export function scopeClient(client: CodatClient, caller: Caller): CodatApi {
  // Everyone may use every company: hand out the client itself, at no cost per call.
  if (caller.companies === "*") return client;
  const guard =
    <A extends unknown[], R>(method: (this: CodatClient, companyId: string, ...rest: A) => Promise<R>) =>
    (companyId: string, ...rest: A): Promise<R> =>
      typeof companyId === "string" && mayUseCompany(caller, companyId)
        ? method.call(client, companyId, ...rest)
        : Promise.reject(forbidden(String(companyId)));
  return {
    listCustomers: guard(client.listCustomers),
    getCustomer: guard(client.getCustomer),
    listPushOperations: guard(client.listPushOperations),
    getPushOperation: guard(client.getPushOperation),
    getCustomerCreateUpdateModel: guard(client.getCustomerCreateUpdateModel),
    listConnections: guard(client.listConnections),
    createCustomer: guard(client.createCustomer),
    updateCustomer: guard(client.updateCustomer),
    listCustomerAttachments: guard(client.listCustomerAttachments),
    getCustomerAttachment: guard(client.getCustomerAttachment),
    downloadCustomerAttachment: guard(client.downloadCustomerAttachment),
  };
}
