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

export enum PushOperationStatus {
  PENDING = "Pending",
  FAILED = "Failed",
  SUCCESS = "Success",
  TIMED_OUT = "TimedOut",
}

export enum PushChangeType {
  UNKNOWN = "Unknown",
  CREATED = "Created",
  MODIFIED = "Modified",
  DELETED = "Deleted",
  ATTACHMENT_UPLOADED = "AttachmentUploaded",
}

export enum PushOptionType {
  UNKNOWN = "Unknown",
  ARRAY = "Array",
  OBJECT = "Object",
  STRING = "String",
  NUMBER = "Number",
  BOOLEAN = "Boolean",
  DATE_TIME = "DateTime",
  FILE = "File",
  MULTI_PART = "MultiPart",
}

function enumMapper<E extends string>(values: Record<string, E>, fallback: E): (value: unknown) => E {
  const known = new Set<string>(Object.values(values));
  return (value) => (typeof value === "string" && known.has(value) ? (value as E) : fallback);
}

export const toCustomerStatus = enumMapper(CustomerStatus, CustomerStatus.UNKNOWN);
export const toAddressType = enumMapper(AddressType, AddressType.UNKNOWN);
export const toPhoneNumberType = enumMapper(PhoneNumberType, PhoneNumberType.UNKNOWN);

export const toPushChangeType = enumMapper(PushChangeType, PushChangeType.UNKNOWN);
export const toPushOptionType = enumMapper(PushOptionType, PushOptionType.UNKNOWN);
const knownPushStatus = enumMapper(PushOperationStatus, PushOperationStatus.PENDING);

/**
 * A push status Codat adds later maps to the nearest safe value: still PENDING while the operation has no
 * completion time (the client keeps polling), FAILED once it has one (never a success it cannot prove).
 */
export function toPushOperationStatus(status: unknown, completedOnUtc: unknown): PushOperationStatus {
  const known = Object.values(PushOperationStatus) as string[];
  if (typeof status === "string" && known.includes(status)) return knownPushStatus(status);
  return completedOnUtc ? PushOperationStatus.FAILED : PushOperationStatus.PENDING;
}

/** graphql-js enum resolvers: GraphQL value name → Codat string. */
export const enumResolvers = {
  CustomerStatus: { ...CustomerStatus },
  AddressType: { ...AddressType },
  PhoneNumberType: { ...PhoneNumberType },
  PushOperationStatus: { ...PushOperationStatus },
  PushChangeType: { ...PushChangeType },
  PushOptionType: { ...PushOptionType },
};
