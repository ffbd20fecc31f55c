import type {
  DataConnectionResolvers,
  NodeResolvers,
  QueryResolvers,
  ResolversInterfaceTypes,
  ResolversParentTypes,
} from "../__generated__/resolvers-types.js";

/** What `node`/`nodes` resolve to: one of the models behind the types implementing `Node`. */
type NodeParent = ResolversInterfaceTypes<ResolversParentTypes>["Node"];
import { toCustomer, type DataConnection as DataConnectionModel } from "../models/index.js";
import type { GatewayContext } from "../context.js";
import { badUserInput } from "../errors.js";
import { fromGlobalId, rejectGlobalIds, toGlobalId, type NodeRef, type NodeType } from "../ids/global-id.js";
import { listConnection } from "./connections.js";
import { callOptionsOf } from "../loaders/index.js";

/** Most ids one `nodes` call takes (each may cost a Codat call). */
const MAX_NODES = 100;

/**
 * Which `Node` type an object `node`/`nodes` resolved is (read by `Node.__resolveType`), as a property only this
 * module knows: a module-level WeakMap would keep every resolved object alive through young-generation GCs
 * until the next full one (see transport.ts).
 */
const NODE_TYPE = Symbol("gateway.nodeType");
type Typed = { [NODE_TYPE]?: NodeType };

export const Node: NodeResolvers = {
  __resolveType: (parent) => (parent as Typed)[NODE_TYPE] ?? null,
};

/**
 * The object behind a decoded global id, through the same loaders (and so the same batching and per-company
 * authorization) as the root fields.
 */
async function resolveNode(ctx: GatewayContext, ref: NodeRef): Promise<NodeParent | null> {
  const typed = (value: NodeParent | null): NodeParent | null => {
    if (value) Object.defineProperty(value, NODE_TYPE, { value: ref.type, configurable: true });
    return value;
  };
  switch (ref.type) {
    case "Customer":
      return typed(await ctx.loaders.customer.load({ companyId: ref.companyId, id: ref.customerId }));
    case "Attachment":
      return typed(await ctx.loaders.customerAttachment.load(ref));
    case "PushOperation":
      return typed(await ctx.loaders.pushOperation.load(ref));
    case "DataConnection":
      return typed((await companyConnections(ctx, ref.companyId)).find((connection) => connection.id === ref.connectionId) ?? null);
  }
}

/** The Platform API's largest page (its PagingInfo caps pageSize at 2000). */
const CONNECTIONS_PAGE_SIZE = 2000;

/** A company's connections: a handful, so one page of the spec's largest size holds them all. */
async function companyConnections({ client, signal }: GatewayContext, companyId: string): Promise<DataConnectionModel[]> {
  const page = await client.listConnections(companyId, { page: 1, pageSize: CONNECTIONS_PAGE_SIZE }, callOptionsOf(signal));
  return (page.results ?? []).map((connection) => ({ ...connection, companyId }));
}

export const Query: QueryResolvers = {
  customers: (_parent, args, { loaders, cursors }) => {
    rejectGlobalIds(args, ["companyId"]);
    return listConnection("customers", args, cursors, loaders.customerPage, (dto) => toCustomer(args.companyId, dto));
  },

  customer: (_parent, { companyId, customerId }, { loaders }) => {
    rejectGlobalIds({ companyId, customerId }, ["companyId", "customerId"]);
    return loaders.customer.load({ companyId, id: customerId });
  },

  node: (_parent, { id }, ctx) => resolveNode(ctx, fromGlobalId(id)),

  nodes: (_parent, { ids }, ctx) => {
    if (ids.length > MAX_NODES) throw badUserInput(`ids takes at most ${MAX_NODES} ids.`, "ids");
    // Each id fails alone (a GraphQL error at its index), like the root fields; valid ones batch in the loaders.
    // graphql-js takes a promise of null for a nullable item; the generated item type does not express that.
    return ids.map((id, i) => {
      try {
        return resolveNode(ctx, fromGlobalId(id, `ids[${i}]`)) as Promise<NodeParent>;
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  },

  customerAttachment: (_parent, { companyId, connectionId, customerId, attachmentId }, { loaders }) => {
    const ids = { companyId, connectionId, customerId, attachmentId };
    rejectGlobalIds(ids, ["companyId", "connectionId", "customerId", "attachmentId"]);
    return loaders.customerAttachment.load(ids);
  },

  pushOperation: (_parent, { companyId, pushOperationKey }, { loaders }) => {
    rejectGlobalIds({ companyId, pushOperationKey }, ["companyId", "pushOperationKey"]);
    return loaders.pushOperation.load({ companyId, pushOperationKey });
  },

  pushOperations: (_parent, args, { loaders, cursors }) => {
    rejectGlobalIds(args, ["companyId"]);
    return listConnection("pushOperations", args, cursors, loaders.pushOperationPage, (operation) => operation);
  },

  connections: (_parent, { companyId }, ctx) => companyConnections(ctx, companyId),

  customerCreateUpdateModel: (_parent, { companyId, connectionId }, { client, signal }) =>
    client.getCustomerCreateUpdateModel(companyId, connectionId, callOptionsOf(signal)),
};

export const DataConnection: DataConnectionResolvers = {
  id: (connection) => toGlobalId({ type: "DataConnection", companyId: connection.companyId, connectionId: connection.id }),
  connectionId: (connection) => connection.id,
};
