import type { PhoneNumberResolvers } from "../__generated__/resolvers-types.js";
import { toPhoneNumberType } from "../mappers/enums.js";

export const PhoneNumber: PhoneNumberResolvers = {
  type: (phone) => toPhoneNumberType(phone.type),
};
