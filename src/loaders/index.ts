/**
 * The per-request DataLoaders, created together by the context factory for every GraphQL request (never at
 * module scope: a loader's cache must not outlive the request or leak between callers). Being per request,
 * every batch function passes the request's signal to the Codat calls it makes: a request that is cancelled
 * (its client gone, its deadline passed) stops its pending reads, and each key they carried fails with the
 * signal's reason.
 */
import DataLoader from "dataloader";
import { asError } from "./miss.js";
import type { CodatApi } from "../auth/scoped-client.js";
import type { CallOptions } from "../codat/client.js";
import type { CodatCustomersPage, CodatPushOperation, CodatPushOperationsPage } from "../codat/types.js";
import { createAttachmentLoaders } from "./attachments.js";
import { toCustomer } from "../models/index.js";
import { createCustomerLoader, customerKeyIn } from "./customers.js";
import type { Customer } from "../models/index.js";

export interface ListPageKey {
  companyId: string;
  page: number;
  pageSize: number;
  query?: string | undefined;
  orderBy?: string | undefined;
}

export interface PushOperationKey {
  companyId: string;
  pushOperationKey: string;
}

const listPageKeyOf = (key: ListPageKey) =>
  JSON.stringify([key.companyId.toLowerCase(), key.page, key.pageSize, key.query ?? "", key.orderBy ?? ""]);

/** The Codat call options of a request's loaders: one object for all their calls, none without a signal. */
export function callOptionsOf(signal: AbortSignal | undefined): CallOptions | undefined {
  return signal === undefined ? undefined : { signal };
}

export function createLoaders(client: CodatApi, signal?: AbortSignal) {
  const call = callOptionsOf(signal);
  // Customers read in list pages during this request, so `customer(id)` for one of them costs no call.
  const known = new Map<string, Customer>();
  const customer = createCustomerLoader(client, known, call);
  return {
    customer,
    /** Attachment lists per (company, connection, customer) and attachments by id (see attachments.ts). */
    ...createAttachmentLoaders(client, call),
    /**
     * One page of a company's customer list. Not batched (each page is its own Codat call) but deduplicated,
     * so two fields asking for the same page cost one call; every customer on it is known to `customer`.
     */
    customerPage: new DataLoader<ListPageKey, CodatCustomersPage, string>(
      (keys) =>
        Promise.all(
          keys.map((key) =>
            client.listCustomers(key.companyId, key, call).then((page) => {
              const company = key.companyId.toLowerCase();
              for (const dto of page.results) known.set(customerKeyIn(company, dto.id), toCustomer(key.companyId, dto));
              return page;
            }, asError),
          ),
        ),
      { batch: false, cacheKeyFn: listPageKeyOf },
    ),
    /**
     * Push operations by key. Codat has no batch read for them and polling asks for one at a time, so this
     * only deduplicates within the request.
     */
    pushOperation: new DataLoader<PushOperationKey, CodatPushOperation | null, string>(
      (keys) => Promise.all(keys.map((key) => client.getPushOperation(key.companyId, key.pushOperationKey, call).catch(asError))),
      { batch: false, cacheKeyFn: (key) => `${key.companyId.toLowerCase()}\u0000${key.pushOperationKey.toLowerCase()}` },
    ),
    /** One page of a company's push operations (deduplicated like customerPage). */
    pushOperationPage: new DataLoader<ListPageKey, CodatPushOperationsPage, string>(
      (keys) => Promise.all(keys.map((key) => client.listPushOperations(key.companyId, key, call).catch(asError))),
      { batch: false, cacheKeyFn: listPageKeyOf },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
