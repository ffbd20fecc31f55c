import type { DataConnectionResolvers, QueryResolvers } from "../__generated__/resolvers-types.js";
import { toCustomer } from "../models/index.js";
import { listConnection } from "./connections.js";

/** The Platform API's largest page (its PagingInfo caps pageSize at 2000). */
const CONNECTIONS_PAGE_SIZE = 2000;

export const Query: QueryResolvers = {
  customers: (_parent, args, { loaders, cursors }) =>
    listConnection("customers", args, cursors, loaders.customerPage, (dto) => toCustomer(args.companyId, dto)),

  customer: (_parent, { companyId, id }, { loaders }) => loaders.customer.load({ companyId, id }),

  customerAttachment: (_parent, { companyId, connectionId, customerId, attachmentId }, { loaders }) =>
    loaders.customerAttachment.load({ companyId, connectionId, customerId, attachmentId }),

  pushOperation: (_parent, { companyId, pushOperationKey }, { loaders }) => loaders.pushOperation.load({ companyId, pushOperationKey }),

  pushOperations: (_parent, args, { loaders, cursors }) =>
    listConnection("pushOperations", args, cursors, loaders.pushOperationPage, (operation) => operation),

  connections: async (_parent, { companyId }, { client }) => {
    // A company has a handful of connections: one page of the spec's largest size holds them all.
    const page = await client.listConnections(companyId, { page: 1, pageSize: CONNECTIONS_PAGE_SIZE });
    return (page.results ?? []).map((connection) => ({ ...connection, companyId }));
  },

  customerCreateUpdateModel: (_parent, { companyId, connectionId }, { client }) => client.getCustomerCreateUpdateModel(companyId, connectionId),
};

export const DataConnection: DataConnectionResolvers = {
  connectionId: (connection) => connection.id,
};
