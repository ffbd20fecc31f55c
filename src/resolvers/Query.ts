import type { QueryResolvers } from "../__generated__/resolvers-types.js";
import { toCustomer } from "../models/index.js";
import { listConnection } from "./connections.js";

export const Query: QueryResolvers = {
  customers: (_parent, args, { loaders, cursors }) =>
    listConnection("customers", args, cursors, loaders.customerPage, (dto) => toCustomer(args.companyId, dto)),

  customer: (_parent, { companyId, id }, { loaders }) => loaders.customer.load({ companyId, id }),

  customerAttachment: (_parent, { companyId, connectionId, customerId, attachmentId }, { loaders }) =>
    loaders.customerAttachment.load({ companyId, connectionId, customerId, attachmentId }),

  pushOperation: (_parent, { companyId, pushOperationKey }, { loaders }) => loaders.pushOperation.load({ companyId, pushOperationKey }),

  pushOperations: (_parent, args, { loaders, cursors }) =>
    listConnection("pushOperations", args, cursors, loaders.pushOperationPage, (operation) => operation),

  customerCreateUpdateModel: (_parent, { companyId, connectionId }, { client }) => client.getCustomerCreateUpdateModel(companyId, connectionId),
};
