import type { CustomerConnectionResolvers, CustomerResolvers } from "../__generated__/resolvers-types.js";
import { freshnessOf, pendingSyncOf } from "../cache/freshness.js";
import { toCustomerStatus } from "../mappers/enums.js";
import { fromGlobalIdOf, toGlobalId } from "../ids/global-id.js";

/** The loader key behind a Customer's global id; any other id is BAD_USER_INPUT. */
function customerKey(id: string): { companyId: string; id: string } {
  const ref = fromGlobalIdOf(id, "Customer");
  return { companyId: ref.companyId, id: ref.customerId };
}

export const Customer: CustomerResolvers = {
  // Federation: another subgraph hands us { companyId, customerId } or { id } (global); both go through the same
  // batching loader, and a global id through the same per-company authorization.
  __resolveReference: (reference, { loaders }) => {
    const key = "customerId" in reference ? { companyId: reference.companyId, id: reference.customerId } : customerKey(reference.id);
    return loaders.customer.load(key);
  },
  id: (customer) => toGlobalId({ type: "Customer", companyId: customer.companyId, customerId: customer.id }),
  customerId: (customer) => customer.id,
  status: (customer) => toCustomerStatus(customer.status),
  addresses: (customer) => customer.addresses ?? [],
  contacts: (customer) => customer.contacts ?? [],
  isDeleted: (customer) => customer.metadata?.isDeleted ?? null,
  supplementalData: (customer) => customer.supplementalData ?? null,
  attachments: (customer, { connectionId }, { loaders }) =>
    loaders.customerAttachments.load({ companyId: customer.companyId, connectionId, customerId: customer.id }),
  // Set by the read cache on what it serves (cache/freshness.ts); null without it.
  freshness: (customer) => freshnessOf(customer),
  pendingSync: (customer) => pendingSyncOf(customer),
};

export const CustomerConnection: CustomerConnectionResolvers = {
  freshness: (connection) => freshnessOf(connection),
};
