/**
 * GraphQL enums and the Codat strings behind them (codegen's enumValues point here, and the resolver map gives
 * them to graphql-js as internal values). A value Codat adds later must read as UNKNOWN (CONTRACT.md), not fail
 * the whole query with a serialization error, so every upstream value passes through a mapper.
 */
export enum CustomerStatus {
  UNKNOWN = "Unknown",
  ACTIVE = "Active",
  ARCHIVED = "Archived",
}

export enum AddressType {
  UNKNOWN = "Unknown",
  BILLING = "Billing",
  DELIVERY = "Delivery",
}

export enum PhoneNumberType {
  UNKNOWN = "Unknown",
  PRIMARY = "Primary",
  LANDLINE = "Landline",
  MOBILE = "Mobile",
  FAX = "Fax",
}

function enumMapper<E extends string>(values: Record<string, E>, fallback: E): (value: unknown) => E {
  const known = new Set<string>(Object.values(values));
  return (value) => (typeof value === "string" && known.has(value) ? (value as E) : fallback);
}

export const toCustomerStatus = enumMapper(CustomerStatus, CustomerStatus.UNKNOWN);
export const toAddressType = enumMapper(AddressType, AddressType.UNKNOWN);
export const toPhoneNumberType = enumMapper(PhoneNumberType, PhoneNumberType.UNKNOWN);

/** graphql-js enum resolvers: GraphQL value name → Codat string. */
export const enumResolvers = {
  CustomerStatus: { ...CustomerStatus },
  AddressType: { ...AddressType },
  PhoneNumberType: { ...PhoneNumberType },
};
