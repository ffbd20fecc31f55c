import type { QueryResolvers } from "../__generated__/resolvers-types.js";
import { resolveConnection } from "../pagination/connection.js";
import { toCustomer } from "../models/index.js";

export const Query: QueryResolvers = {
  customers: (_parent, { companyId, first, after, last, before, query, orderBy }, { loaders, cursors }) =>
    resolveConnection(
      { first, after, last, before },
      { kind: "customers", companyId, query, orderBy },
      cursors,
      async (page, pageSize) => {
        const result = await loaders.customerPage.load({
          companyId,
          page,
          pageSize,
          query: query ?? undefined,
          orderBy: orderBy ?? undefined,
        });
        return { results: result.results ?? [], totalResults: result.totalResults };
      },
      (dto) => toCustomer(companyId, dto),
    ),

  customer: (_parent, { companyId, id }, { loaders }) => loaders.customer.load({ companyId, id }),

  customerAttachment: (_parent, { companyId, connectionId, customerId, attachmentId }, { loaders }) =>
    loaders.customerAttachment.load({ companyId, connectionId, customerId, attachmentId }),

  pushOperation: (_parent, { companyId, pushOperationKey }, { loaders }) => loaders.pushOperation.load({ companyId, pushOperationKey }),

  pushOperations: (_parent, { companyId, first, after, last, before, query, orderBy }, { loaders, cursors }) =>
    resolveConnection(
      { first, after, last, before },
      { kind: "pushOperations", companyId, query, orderBy },
      cursors,
      async (page, pageSize) => {
        const result = await loaders.pushOperationPage.load({
          companyId,
          page,
          pageSize,
          query: query ?? undefined,
          orderBy: orderBy ?? undefined,
        });
        return { results: result.results ?? [], totalResults: result.totalResults };
      },
      (operation) => operation,
    ),

  customerCreateUpdateModel: (_parent, { companyId, connectionId }, { client }) => client.getCustomerCreateUpdateModel(companyId, connectionId),
};
