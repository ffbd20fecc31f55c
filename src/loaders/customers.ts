/**
 * Customers by (companyId, id), batched. Codat has no "get many by id" endpoint, but its list endpoint takes a
 * query, so the ids of one company become `id=a||id=b||…` list calls, each query kept under Codat's
 * 2048-character limit (49 UUIDs). Ids that cannot be embedded safely in a query expression (Codat
 * documents no escaping) go to the single-customer endpoint instead.
 *
 * Miss policy: a customer absent from Codat's answer is `null`; a failed call fails only the keys it carried.
 */
import DataLoader from "dataloader";
import { asError } from "./miss.js";
import type { CodatApi } from "../auth/scoped-client.js";
import type { CallOptions } from "../codat/client.js";
import { opaqueSegment, uuidSegment } from "../codat/paths.js";
import type { CodatCustomerRecord } from "../codat/types.js";
import { toCustomer, type Customer } from "../models/index.js";

export interface CustomerKey {
  companyId: string;
  id: string;
}

/** Codat rejects queries of 2048 characters or more. */
export const MAX_QUERY_LENGTH = 2047;
/** Most keys in one DataLoader batch (its query-length chunks are split further by idQueries). */
export const CUSTOMER_BATCH_SIZE = 1000;
/** Characters that cannot take part in a query operator, so an id made of them cannot change the expression. */
const EMBEDDABLE_ID = /^[A-Za-z0-9._:@-]+$/;

/** The cache key of a customer, from its company id already lower-cased (batch code lower-cases once). */
export const customerKeyIn = (lowerCaseCompanyId: string, id: string): string => `${lowerCaseCompanyId}\u0000${id}`;
export const customerKeyOf = (key: CustomerKey): string => customerKeyIn(key.companyId.toLowerCase(), key.id);

export function isEmbeddableId(id: string): boolean {
  return id.length > 0 && id.length < MAX_QUERY_LENGTH - 3 && EMBEDDABLE_ID.test(id);
}

/** Splits ids into `id=…||id=…` queries under the length limit. */
export function idQueries(ids: readonly string[]): { query: string; ids: string[] }[] {
  const chunks: { query: string; ids: string[] }[] = [];
  let current: string[] = [];
  let length = 0;
  for (const id of ids) {
    const term = `id=${id}`;
    const added = current.length === 0 ? term.length : term.length + 2;
    if (current.length > 0 && length + added > MAX_QUERY_LENGTH) {
      chunks.push({ query: current.map((i) => `id=${i}`).join("||"), ids: current });
      current = [];
      length = 0;
    }
    length += current.length === 0 ? term.length : term.length + 2;
    current.push(id);
  }
  if (current.length > 0) chunks.push({ query: current.map((i) => `id=${i}`).join("||"), ids: current });
  return chunks;
}

/**
 * `known`: customers this request has already read in a list page, by `customerKeyOf`; a key found there is
 * answered without a call. (Cheaper than priming the loader, which builds a promise per customer of every page.)
 * `call`: the request's Codat call options (its signal), passed to every call a batch makes.
 */
export function createCustomerLoader(
  client: CodatApi,
  known: ReadonlyMap<string, Customer> = new Map(),
  call?: CallOptions,
): DataLoader<CustomerKey, Customer | null, string> {
  return new DataLoader<CustomerKey, Customer | null, string>(
    async (keys) => {
      // Work per batch, not per key: keys are grouped by company (lower-cased once), each company id is checked
      // once, and results are filed under the DataLoader cache key the key already has.
      const results = new Map<string, Customer | null | Error>();
      const byCompany = new Map<string, { companyId: string; ids: Set<string> }>();
      for (const key of keys) {
        const company = key.companyId.toLowerCase();
        const seen = known.size > 0 ? known.get(customerKeyIn(company, key.id)) : undefined;
        if (seen !== undefined) {
          results.set(customerKeyIn(company, key.id), seen);
          continue;
        }
        let group = byCompany.get(company);
        if (group === undefined) {
          group = { companyId: key.companyId, ids: new Set<string>() };
          byCompany.set(company, group);
        }
        group.ids.add(key.id);
      }

      const settle = (company: string, ids: Iterable<string>, found: (id: string) => Customer | null | Error) => {
        for (const id of ids) results.set(customerKeyIn(company, id), found(id));
      };
      for (const [company, group] of byCompany) {
        // Invalid ids fail alone and before any call: an id must be usable as a path segment even when it
        // travels inside a query, so `..` or `a%2Fb` never reaches Codat by either route.
        try {
          uuidSegment(group.companyId, "companyId");
        } catch (error) {
          settle(company, group.ids, () => asError(error));
          byCompany.delete(company);
          continue;
        }
        for (const id of group.ids) {
          try {
            opaqueSegment(id, "id");
          } catch (error) {
            settle(company, [id], () => asError(error));
            group.ids.delete(id);
          }
        }
      }

      const calls: Promise<void>[] = [];
      for (const [company, { companyId, ids }] of byCompany) {
        const embeddable: string[] = [];
        const single: string[] = [];
        for (const id of ids) (isEmbeddableId(id) ? embeddable : single).push(id);
        for (const chunk of idQueries(embeddable)) {
          calls.push(
            client.listCustomers(companyId, { page: 1, pageSize: chunk.ids.length, query: chunk.query }, call).then(
              (page) => {
                const byId = new Map<string, CodatCustomerRecord>();
                for (const dto of page.results) byId.set(dto.id, dto);
                settle(company, chunk.ids, (id) => {
                  const dto = byId.get(id);
                  return dto ? toCustomer(companyId, dto) : null;
                });
              },
              (error: unknown) => settle(company, chunk.ids, () => asError(error)),
            ),
          );
        }
        for (const id of single) {
          calls.push(
            client.getCustomer(companyId, id, call).then(
              (dto) => settle(company, [id], () => (dto ? toCustomer(companyId, dto) : null)),
              (error: unknown) => settle(company, [id], () => asError(error)),
            ),
          );
        }
      }
      await Promise.all(calls);
      return keys.map((key) => results.get(customerKeyOf(key)) ?? null);
    },
    // The batch function splits by query length itself, so DataLoader need not cap batches by count.
    { cacheKeyFn: customerKeyOf, maxBatchSize: CUSTOMER_BATCH_SIZE },
  );
}
