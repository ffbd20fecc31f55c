import type { ContactResolvers } from "../__generated__/resolvers-types.js";
import { toCustomerStatus } from "../mappers/enums.js";

export const Contact: ContactResolvers = {
  phone: (contact) => contact.phone ?? [],
  status: (contact) => toCustomerStatus(contact.status),
};
