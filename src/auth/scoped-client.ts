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

export function scopeClient(client: CodatApi, caller: Caller): CodatApi {
  // Everyone may use every company: hand out the client itself, at no cost per call.
  if (caller.companies === "*") return client;
  const guard =
    <A extends unknown[], R>(method: (companyId: string, ...rest: A) => Promise<R>) =>
    (companyId: string, ...rest: A): Promise<R> =>
      // The runtime check stays: a resolver may hand over whatever a client sent.
      typeof companyId === "string" && mayUseCompany(caller, companyId)
        ? method(companyId, ...rest)
        : Promise.reject(forbidden(typeof companyId === "string" ? companyId : "(not an id)"));
  return {
    listCustomers: guard(client.listCustomers.bind(client)),
    getCustomer: guard(client.getCustomer.bind(client)),
    listPushOperations: guard(client.listPushOperations.bind(client)),
    getPushOperation: guard(client.getPushOperation.bind(client)),
    getCustomerCreateUpdateModel: guard(client.getCustomerCreateUpdateModel.bind(client)),
    listConnections: guard(client.listConnections.bind(client)),
    createCustomer: guard(client.createCustomer.bind(client)),
    updateCustomer: guard(client.updateCustomer.bind(client)),
    listCustomerAttachments: guard(client.listCustomerAttachments.bind(client)),
    getCustomerAttachment: guard(client.getCustomerAttachment.bind(client)),
    downloadCustomerAttachment: guard(client.downloadCustomerAttachment.bind(client)),
  };
}
