/**
 * The create/update customer model (`GET …/options/customers`), i.e. Codat's `PushOption`, served per
 * connection. The models are data: push-options.json, cut verbatim from the integration-specific examples of
 * that operation in the vendored Accounting spec by scripts/cut-push-options.ts (test/push.test.ts fails when
 * the file and the spec drift apart). They are bundled, so serving them needs neither the spec nor a YAML parser.
 *
 * Which one a connection gets: the example named like the connection's `platformName` (the demo companies use
 * Xero, QuickBooks Online and Sage Business Cloud Accounting); any other platform gets the spec's first example.
 */
import type { CodatPushOption } from "./codat-types.js";
import cut from "./push-options.json" with { type: "json" };
import type { CodatConnection } from "./store.js";

const TYPES: ReadonlySet<unknown> = new Set(["Array", "Object", "String", "Number", "Boolean", "DateTime", "File", "MultiPart"]);

type Json = Readonly<Record<string, unknown>>;
const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);
const optional = (value: unknown, check: (v: unknown) => boolean): boolean => value === undefined || value === null || check(value);
const isString = (value: unknown): boolean => typeof value === "string";
const arrayOf =
  (check: (v: unknown) => boolean) =>
  (value: unknown): boolean =>
    Array.isArray(value) && value.every(check);

const isFieldValidation = (v: unknown): boolean =>
  isObject(v) && isString(v.details) && optional(v.field, isString) && optional(v.ref, isString);
const isValidationInfo = (v: unknown): boolean =>
  isObject(v) && optional(v.warnings, arrayOf(isFieldValidation)) && optional(v.information, arrayOf(isFieldValidation));
const isChoice = (v: unknown): boolean =>
  isObject(v) &&
  optional(v.value, isString) &&
  optional(v.type, (t) => TYPES.has(t)) &&
  optional(v.displayName, isString) &&
  optional(v.description, isString) &&
  optional(v.required, (r) => typeof r === "boolean");

/** Every field of Codat's PushOption / PushOptionProperty, recursively (the file is data, so it is checked once at load). */
function isPushOption(v: unknown): v is CodatPushOption {
  return (
    isObject(v) &&
    TYPES.has(v.type) &&
    isString(v.displayName) &&
    optional(v.description, isString) &&
    typeof v.required === "boolean" &&
    optional(
      v.properties,
      (p) => isObject(p) && Object.values(p).every((property) => isPushOption(property) && isString(property.description)),
    ) &&
    optional(v.options, arrayOf(isChoice)) &&
    optional(v.validation, isValidationInfo)
  );
}

function loadModels(examples: Json): Readonly<Record<string, CodatPushOption>> {
  const models: Record<string, CodatPushOption> = {};
  for (const [name, model] of Object.entries(examples)) {
    if (!isPushOption(model)) throw new Error(`push-options.json: the "${name}" model is not a Codat PushOption`);
    models[name] = model;
  }
  return models;
}

/** The models by spec example name (= Codat platform name). */
export const CUSTOMER_PUSH_OPTIONS = loadModels(cut.examples);

/** The example served when no model matches the connection's platform (the spec's first example). */
export const DEFAULT_PUSH_OPTION_EXAMPLE: string = cut.default;

const DEFAULT_MODEL: CodatPushOption = (() => {
  const model = CUSTOMER_PUSH_OPTIONS[DEFAULT_PUSH_OPTION_EXAMPLE];
  if (!model) throw new Error(`push-options.json: no model for the default "${DEFAULT_PUSH_OPTION_EXAMPLE}"`);
  return model;
})();

/** The create/update customer model for a connection (see the module comment for how it is chosen). */
export function customerPushOption(connection: Pick<CodatConnection, "platformName">): CodatPushOption {
  return CUSTOMER_PUSH_OPTIONS[connection.platformName] ?? DEFAULT_MODEL;
}
