/**
 * The resolver map: one file per GraphQL type. Enum entries give graphql-js the Codat string behind each
 * GraphQL enum value (the same table as codegen's enumValues).
 */
import type { Resolvers } from "../__generated__/resolvers-types.js";
import { Address } from "./Address.js";
import { Attachment } from "./Attachment.js";
import { Contact } from "./Contact.js";
import { Customer, CustomerConnection } from "./Customer.js";
import { PhoneNumber } from "./PhoneNumber.js";
import { Mutation } from "./Mutation.js";
import { PushChange, PushOperation, PushValidation } from "./PushOperation.js";
import { PushOption, PushOptionChoice, PushOptionValidation } from "./PushOption.js";
import { DataConnection, Node, Query } from "./Query.js";
import { Subscription } from "./Subscription.js";
import { enumResolvers } from "../mappers/enums.js";
import { DateTime, JSONScalar } from "./scalars.js";

export const resolvers: Resolvers = {
  Query,
  Mutation,
  Subscription,
  PushOperation,
  PushValidation,
  PushChange,
  PushOption,
  PushOptionChoice,
  PushOptionValidation,
  Customer,
  CustomerConnection,
  Contact,
  Address,
  PhoneNumber,
  Attachment,
  DataConnection,
  Node,
  DateTime,
  JSON: JSONScalar,
  ...enumResolvers,
};
