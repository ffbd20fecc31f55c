/**
 * The per-request DataLoaders, created together by the context factory for every GraphQL request (never at
 * module scope: a loader's cache must not outlive the request or leak between callers).
 */
import DataLoader from "dataloader";
import type { CodatClient } from "../codat/client.js";
import type { CodatCustomersPage } from "../codat/types.js";
import { createCustomerLoader } from "./customers.js";

export interface ListPageKey {
  companyId: string;
  page: number;
  pageSize: number;
  query?: string | undefined;
  orderBy?: string | undefined;
}

const listPageKeyOf = (key: ListPageKey) =>
  JSON.stringify([key.companyId.toLowerCase(), key.page, key.pageSize, key.query ?? "", key.orderBy ?? ""]);

export function createLoaders(client: CodatClient) {
  const customer = createCustomerLoader(client);
  return {
    customer,
    /**
     * One page of a company's customer list. Not batched (each page is its own Codat call) but deduplicated,
     * so two fields asking for the same page cost one call; every customer on it primes `customer`.
     */
    customerPage: new DataLoader<ListPageKey, CodatCustomersPage, string>(
      (keys) =>
        Promise.all(
          keys.map((key) =>
            client.listCustomers(key.companyId, key).then(
              (page) => {
                for (const dto of page.results ?? []) {
                  if (dto.id !== undefined) customer.prime({ companyId: key.companyId, id: dto.id }, { ...dto, companyId: key.companyId });
                }
                return page;
              },
              (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
            ),
          ),
        ),
      { batch: false, cacheKeyFn: listPageKeyOf },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
