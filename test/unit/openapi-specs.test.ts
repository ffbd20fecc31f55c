/**
 * Every vendored OpenAPI document loads in a real OpenAPI validator (@readme/openapi-parser: the OpenAPI 3.x
 * schema, every `$ref` resolved, plus its own checks such as duplicate operationIds), so Prism and the other
 * OpenAPI tools can load them too. A failure names the file and carries the validator's own message.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { compileErrors, validate } from "@readme/openapi-parser";
import { describe, expect, it } from "vitest";
import { SPEC_DIR } from "../helpers/openapi.js";

const root = path.resolve(import.meta.dirname, "../..");
/** Every OpenAPI document the repository vendors: Codat's subsets, and the simulator's own if it ever has any. */
const SPEC_DIRS = [SPEC_DIR, path.join(root, "simulator/openapi")];
const specs = SPEC_DIRS.flatMap((dir) => {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((name) => /\.ya?ml$/.test(name)).map((name) => path.join(dir, name));
});

describe("vendored OpenAPI specs", () => {
  it("finds the five Codat subsets", () => {
    expect(specs.filter((file) => path.dirname(file) === SPEC_DIR).map((file) => path.basename(file))).toEqual([
      "accounting-customers.yaml",
      "lending-customers.yaml",
      "platform-connections.yaml",
      "platform-webhooks.yaml",
      "sync-for-expenses-customers.yaml",
    ]);
  });

  it.each(specs.map((file) => [path.relative(root, file), file]))("%s is a valid OpenAPI document", async (_name, file) => {
    const result = await validate(file);
    // The validator's own report (which rule, where), so a failure says what to fix.
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
    expect(result.warnings).toEqual([]);
  });
});
