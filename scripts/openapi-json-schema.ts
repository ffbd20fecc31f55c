/**
 * Turning Codat's OpenAPI schemas into JSON Schema that Ajv runs: shared by the build (the gateway's response
 * validators, scripts/gen-rest-types.ts) and the tests (which check the simulator's answers against the specs).
 */

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
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
    const moved: JsonObject = {};
    for (const key of ["$ref", "allOf", "oneOf", "anyOf"]) {
      if (key in node) {
        moved[key] = node[key];
        Reflect.deleteProperty(node, key);
      }
    }
    if (Object.keys(moved).length > 0) node["anyOf"] = [moved, { type: "null" }];
  }
}

/**
 * What the gateway checks in Codat's answers is their structure — types, required fields, objects and arrays —
 * not the content rules, which are Codat's for writes: Codat adds enum values and fields over time (the mappers
 * map unknown values to UNKNOWN), and its formats and lengths are not promises about every stored record.
 */
const CONTENT_KEYWORDS = new Set([
  "enum",
  "const",
  "format",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
  "uniqueItems",
  "additionalProperties",
  "example",
  "examples",
  "description",
  "title",
  "default",
  "readOnly",
  "writeOnly",
  "deprecated",
  "x-internal",
]);

/** A copy of a schema with the content keywords removed (property names are kept, whatever they are called). */
export function structureOnly(node: unknown, inProperties = false): unknown {
  if (Array.isArray(node)) return node.map((item) => structureOnly(item));
  if (!isObject(node)) return node;
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (!inProperties && (CONTENT_KEYWORDS.has(key) || key.startsWith("x-"))) continue;
    result[key] = structureOnly(value, !inProperties && (key === "properties" || key === "definitions" || key === "$defs"));
  }
  return result;
}
