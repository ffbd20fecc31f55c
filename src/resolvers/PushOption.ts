import type { PushOptionChoiceResolvers, PushOptionResolvers, PushOptionValidationResolvers } from "../__generated__/resolvers-types.js";
import { toPushOptionType } from "../mappers/enums.js";

export const PushOption: PushOptionResolvers = {
  type: (option) => toPushOptionType(option.type),
  // Codat's `properties` is a map keyed by field name; GraphQL has no maps, so it becomes a named list.
  // For an Array option, Codat describes the items' fields here too.
  properties: (option) => Object.entries(option.properties ?? {}).map(([name, property]) => ({ name, option: property })),
  options: (option) => option.options ?? [],
  validation: (option) => option.validation ?? null,
  description: (option) => option.description ?? null,
};

export const PushOptionChoice: PushOptionChoiceResolvers = {
  type: (choice) => toPushOptionType(choice.type),
};

export const PushOptionValidation: PushOptionValidationResolvers = {
  warnings: (validation) => validation.warnings ?? [],
  information: (validation) => validation.information ?? [],
};
