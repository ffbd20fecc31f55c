/**
 * Validates simulator responses against Codat's OpenAPI subsets vendored in openapi/codat/.
 *
 * The specs are OpenAPI 3.1 documents that still use 3.0's `nullable: true` and reference deep into other
 * schemas (`#/components/schemas/Customer/definitions/contact`). So each document is rewritten (nullable →
 * type unions) and added to Ajv whole, under an `$id`; schemas are then addressed by JSON pointer into it.
 */
import { readFileSync } from "node:fs";
import path, { join } from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import formatsModule from "ajv-formats";
import { parse } from "yaml";
import { convertNullable } from "../../scripts/openapi-json-schema.js";

export { convertNullable };

/** The vendored specs (see openapi/codat/README.md for their provenance). */
export const SPEC_DIR = path.resolve(import.meta.dirname, "../../openapi/codat");
export type SpecName =
  "accounting-customers" | "sync-for-expenses-customers" | "lending-customers" | "platform-connections" | "platform-webhooks";
const SPECS: SpecName[] = [
  "accounting-customers",
  "sync-for-expenses-customers",
  "lending-customers",
  "platform-connections",
  "platform-webhooks",
];

export function specId(name: SpecName): string {
  return `https://codat-openapi.local/${name}.json`;
}

let ajvInstance: Ajv | undefined;
export function specAjv(): Ajv {
  if (ajvInstance) return ajvInstance;
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  formatsModule.default(ajv);
  // Formats the specs use that are not JSON Schema formats.
  ajv.addFormat("ISO4217", /^[A-Z]{3}$/);
  ajv.addFormat("url", /^https?:\/\/\S+$/);
  for (const name of SPECS) {
    const doc = parse(readFileSync(join(SPEC_DIR, `${name}.yaml`), "utf8")) as Record<string, unknown>;
    convertNullable(doc);
    doc["$id"] = specId(name);
    ajv.addSchema(doc);
  }
  ajvInstance = ajv;
  return ajv;
}

/** JSON pointer (as a URI fragment) to a component schema. */
export function componentRef(spec: SpecName, schema: string): string {
  return `${specId(spec)}#/components/schemas/${schema}`;
}

/** JSON pointer to the schema of a documented response, e.g. ("/companies/{companyId}/data/customers", "get", "200"). */
export function responseRef(spec: SpecName, path: string, method: string, status: string): string {
  const esc = (s: string) => encodeURIComponent(s.replace(/~/g, "~0").replace(/\//g, "~1"));
  return `${specId(spec)}#/paths/${esc(path)}/${method}/responses/${status}/content/${esc("application/json")}/schema`;
}

/** JSON pointer to the body schema of one of Codat's webhooks, e.g. ("platform-webhooks", "read.completed"). */
export function webhookRef(spec: SpecName, eventType: string): string {
  const esc = (s: string) => encodeURIComponent(s.replace(/~/g, "~0").replace(/\//g, "~1"));
  return `${specId(spec)}#/webhooks/${esc(eventType)}/post/requestBody/content/${esc("application/json")}/schema`;
}

export function validatorFor(ref: string): ValidateFunction {
  const validate = specAjv().getSchema(ref);
  if (!validate) throw new Error(`no schema at ${ref}`);
  return validate;
}

/** Validation errors (empty when valid), formatted for readable test failures. */
export function schemaErrors(ref: string, data: unknown): string[] {
  const validate = validatorFor(ref);
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}
