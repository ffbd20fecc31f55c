import type { AddressResolvers } from "../__generated__/resolvers-types.js";
import { toAddressType } from "../mappers/enums.js";

export const Address: AddressResolvers = {
  type: (address) => toAddressType(address.type),
};
