import type { CustomerResolvers } from "../__generated__/resolvers-types.js";
import { toCustomerStatus } from "../mappers/enums.js";

export const Customer: CustomerResolvers = {
  // Federation: another subgraph hands us { companyId, id }; resolve it through the same batching loader.
  __resolveReference: (reference, { loaders }) => loaders.customer.load({ companyId: reference.companyId, id: reference.id }),
  id: (customer) => customer.id ?? "",
  status: (customer) => toCustomerStatus(customer.status),
  addresses: (customer) => customer.addresses ?? [],
  contacts: (customer) => customer.contacts ?? [],
  isDeleted: (customer) => customer.metadata?.isDeleted ?? null,
  supplementalData: (customer) => customer.supplementalData ?? null,
  attachments: (customer, { connectionId }, { loaders }) =>
    loaders.customerAttachments.load({ companyId: customer.companyId, connectionId, customerId: customer.id ?? "" }),
};
