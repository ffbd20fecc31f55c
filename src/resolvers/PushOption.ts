import type { PushOptionChoiceResolvers, PushOptionResolvers, PushOptionValidationResolvers } from "../__generated__/resolvers-types.js";
import type { CodatPushOption, CodatPushOptionChoice } from "../codat/types.js";
import { toPushOptionType } from "../mappers/enums.js";

/** Marks the option of a `status` field, whose choices are Codat's status words (see `statusInputValue`). */
const STATUS_FIELD = Symbol("gateway.statusField");
type Marked = CodatPushOption & { [STATUS_FIELD]?: true };

/**
 * A platform's status choice as the `CustomerStatus` name to send: the models spell the choices their own way
 * (`Active` / `InActive` in Codat's examples) while the input takes the enum's names (`ACTIVE` / `ARCHIVED`).
 */
export function statusInputValue(value: string | null | undefined): string | null {
  switch (value?.toLowerCase()) {
    case "active":
      return "ACTIVE";
    case "inactive":
    case "archived":
      return "ARCHIVED";
    case "unknown":
      return "UNKNOWN";
    default:
      return null;
  }
}

export const PushOption: PushOptionResolvers = {
  type: (option) => toPushOptionType(option.type),
  // Codat's `properties` is a map keyed by field name; GraphQL has no maps, so it becomes a named list.
  // For an Array option, Codat describes the items' fields here too.
  properties: (option) =>
    Object.entries(option.properties ?? {}).map(([name, property]) => ({
      name,
      option: name === "status" ? { ...property, [STATUS_FIELD]: true } : property,
    })),
  options: (option) => {
    const choices = option.options ?? [];
    if ((option as Marked)[STATUS_FIELD] !== true) return choices;
    return choices.map((choice) => ({ ...choice, inputValue: statusInputValue(choice.value) }));
  },
  validation: (option) => option.validation ?? null,
  description: (option) => option.description ?? null,
};

export const PushOptionChoice: PushOptionChoiceResolvers = {
  type: (choice) => toPushOptionType(choice.type),
  inputValue: (choice) => (choice as CodatPushOptionChoice & { inputValue?: string | null }).inputValue ?? null,
};

export const PushOptionValidation: PushOptionValidationResolvers = {
  warnings: (validation) => validation.warnings ?? [],
  information: (validation) => validation.information ?? [],
};
