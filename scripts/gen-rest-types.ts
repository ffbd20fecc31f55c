/**
 * Generates the Codat REST DTO types from the vendored OpenAPI subsets in openapi/codat/, after checking each
 * file against openapi/codat/SHA256SUMS (an edited or truncated spec fails the build).
 *
 * Codat's specs point some schemas at a parameter's schema (`#/components/parameters/companyId/schema`),
 * which openapi-typescript's bundler cannot resolve; those few refs are inlined before generation.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import openapiTS, { astToString, type OpenAPI3 } from "openapi-typescript";
import { parse } from "yaml";
import { convertNullable, structureOnly } from "./openapi-json-schema.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const specDir = path.join(root, "openapi/codat");
const outDir = path.join(root, "src/codat/__generated__");

const specs: Record<string, string> = {
  accounting: "accounting-customers.yaml",
  "sync-for-expenses": "sync-for-expenses-customers.yaml",
  lending: "lending-customers.yaml",
  platform: "platform-connections.yaml",
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function pointer(doc: Json, ref: string): Json {
  let node: Json = doc;
  for (const part of ref.slice(2).split("/")) {
    const key = decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || Array.isArray(node) || !(key in node)) {
      throw new Error(`unresolvable $ref ${ref}`);
    }
    node = node[key] as Json;
  }
  return node;
}

/**
 * Codat's specs point `$ref`s deep into other schemas (`#/components/schemas/Customer/definitions/contact`,
 * `.../properties/addresses/items`, a parameter's `schema`), which openapi-typescript cannot type. Each such
 * target is hoisted into a component schema of its own and the ref pointed at it; recursion stays intact.
 */
function hoistDeepRefs(doc: Json): Json {
  const root = doc as { components: { schemas: Record<string, Json> } };
  const schemas = root.components.schemas;
  const hoisted = new Map<string, string>();
  const pascal = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

  const nameFor = (ref: string): string => {
    const words = ref
      .slice(2)
      .split("/")
      .slice(2)
      .map((w) => decodeURIComponent(w).replace(/[^A-Za-z0-9]/g, ""))
      .filter((w) => w && !/^(definitions|properties|allOf|anyOf|oneOf|items|schema|\d+)$/.test(w));
    let name = words.map(pascal).join("");
    while (name in schemas) name += "_";
    return name;
  };

  const visit = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== "object") return node;
    const ref = node["$ref"];
    if (typeof ref === "string" && ref.startsWith("#/") && !/^#\/components\/schemas\/[^/]+$/.test(ref)) {
      const { $ref: _ignored, ...rest } = node;
      let target: Json;
      try {
        target = pointer(doc, ref);
      } catch {
        // The cut-down specs keep a few refs into parts they dropped; type those as unknown.
        return { ...(visit(rest) as Record<string, Json>), description: `unresolved in the cut-down spec: ${ref}` };
      }
      let name = hoisted.get(ref);
      if (!name) {
        name = nameFor(ref);
        hoisted.set(ref, name);
        schemas[name] = {};
        schemas[name] = visit(target);
      }
      const siblings = visit(rest) as Record<string, Json>;
      return Object.keys(siblings).length
        ? { allOf: [{ $ref: `#/components/schemas/${name}` }], ...siblings }
        : { $ref: `#/components/schemas/${name}` };
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, visit(v)]));
  };

  const result = visit(doc) as typeof root;
  result.components.schemas = {
    ...result.components.schemas,
    ...Object.fromEntries(Object.entries(schemas).filter(([k]) => !(k in result.components.schemas))),
  };
  return result;
}

/** The expected sha256 of each vendored spec, from SHA256SUMS (`sha256sum` output). */
async function expectedSums(): Promise<Map<string, string>> {
  const text = await readFile(path.join(specDir, "SHA256SUMS"), "utf8");
  const sums = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([0-9a-f]{64}) [ *]?(\S+)$/.exec(line.trim());
    if (match?.[1] && match[2]) sums.set(match[2], match[1]);
  }
  return sums;
}

const sums = await expectedSums();
await mkdir(outDir, { recursive: true });
/** Per spec, its component schemas as JSON Schema structure (src/codat/validate.ts compiles the response validators). */
const responseSchemas: Record<string, unknown> = {};
for (const [name, file] of Object.entries(specs)) {
  const bytes = await readFile(path.join(specDir, file));
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (sums.get(file) !== actual) {
    console.error(
      `openapi/codat/${file}: checksum ${actual} does not match SHA256SUMS (${sums.get(file) ?? "missing"}); see openapi/codat/README.md`,
    );
    process.exit(1);
  }
  const doc = parse(bytes.toString("utf8")) as Json;
  // The parsed YAML is an OpenAPI document (the checksum pinned it); Json cannot say so.
  const hoisted = hoistDeepRefs(doc) as unknown as OpenAPI3 & { components: { schemas: Record<string, Json> } };
  const ast = await openapiTS(hoisted, { alphabetize: false });
  const header = `/* Generated by scripts/gen-rest-types.ts from openapi/codat/${file}. Do not edit. */\n`;
  await writeFile(path.join(outDir, `${name}.ts`), header + astToString(ast));
  const components = structuredClone(hoisted.components.schemas);
  convertNullable(components);
  responseSchemas[name] = { components: { schemas: structureOnly(components) } };
}
await writeFile(
  path.join(outDir, "response-schemas.ts"),
  `/* Generated by scripts/gen-rest-types.ts from openapi/codat/ (structure only: see scripts/openapi-json-schema.ts). Do not edit. */\n` +
    `export const RESPONSE_SCHEMAS: Readonly<Record<string, unknown>> = ${JSON.stringify(responseSchemas)};\n`,
);
