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

/** The vendored specs (see openapi/codat/README.md for their provenance). */
export const SPEC_DIR = path.resolve(import.meta.dirname, "../../openapi/codat");
export type SpecName = "accounting-customers" | "sync-for-expenses-customers" | "lending-customers" | "platform-connections";
const SPECS: SpecName[] = ["accounting-customers", "sync-for-expenses-customers", "lending-customers", "platform-connections"];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Rewrites OpenAPI 3.0 `nullable` into JSON Schema, in place, keeping every node at its JSON pointer. */
export function convertNullable(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) convertNullable(item);
    return;
  }
  if (!isObject(node)) return;
  for (const value of Object.values(node)) convertNullable(value);
  if (!("nullable" in node)) return;
  const nullable = node["nullable"] === true;
  delete node["nullable"];
  if (!nullable) return;
  const type = node["type"];
  if (typeof type === "string") {
    node["type"] = [type, "null"];
    if (Array.isArray(node["enum"])) node["enum"] = [...(node["enum"] as unknown[]), null];
  } else if (Array.isArray(type)) {
    if (!type.includes("null")) node["type"] = [...(type as unknown[]), "null"];
  } else {
    // `$ref`/`allOf` + nullable: move only the combinator into an anyOf, so pointers to siblings stay valid.
    const moved: Record<string, unknown> = {};
    for (const key of ["$ref", "allOf", "oneOf", "anyOf"]) {
      if (key in node) {
        moved[key] = node[key];
        delete node[key];
      }
    }
    if (Object.keys(moved).length > 0) node["anyOf"] = [moved, { type: "null" }];
  }
}

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
