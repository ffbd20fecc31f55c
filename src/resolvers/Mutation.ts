import type { MutationResolvers } from "../__generated__/resolvers-types.js";
import { createCustomer, patchCustomer, updateCustomer } from "../writes/customers.js";

export const Mutation: MutationResolvers = {
  createCustomer: (_parent, { input }, ctx) => createCustomer(ctx, input),
  updateCustomer: (_parent, { input }, ctx) => updateCustomer(ctx, input),
  patchCustomer: (_parent, { input }, ctx) => patchCustomer(ctx, input),
};
