/**
 * Layering: the folders docs/architecture.md names import only downwards. The request path runs
 * http → graphql and the context → resolvers → loaders → the Codat client (its transport inside), and everything
 * leans on the infrastructure (observability, config, redis). A module of LAYERS may import a module of the same
 * or a lower tier, never a higher one, type-only imports included (they are a dependency all the same); the few
 * that remain are listed in EXCEPTIONS, each with its reason. Folders not in the table are not checked here.
 * Import cycles are the other half: `madge --circular` in `npm run lint`.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { code, sourceFiles } from "../helpers/source.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SRC = path.join(ROOT, "src");

/** Module (a folder of src/, or a file of src/ without its extension) → tier; higher tiers sit above lower ones. */
const LAYERS: Readonly<Record<string, number>> = {
  http: 6,
  graphql: 5,
  context: 5,
  resolvers: 4,
  loaders: 3,
  codat: 2,
  observability: 1,
  config: 1,
  redis: 1,
};

/** Upward imports that stay, `importer → imported` (paths under src/), each with its reason. */
const EXCEPTIONS: Readonly<Record<string, string>> = {
  "observability/codat-logging.ts → codat/observer.ts":
    "type only: the log line is one of the client's observers and implements the client's observer interface",
  "observability/metrics.ts → codat/observer.ts":
    "type only: the metrics are one of the client's observers and implement the client's observer interface",
  "observability/tracing.ts → codat/observer.ts":
    "type only: the tracing is one of the client's observers and implements the client's observer interface",
  "observability/metrics.ts → context.ts":
    "type only: the per-operation metrics plugin reads the request's context (its caller and operation)",
  "observability/operation-logging.ts → context.ts":
    "type only: the operation log plugin reads the request's context (its logger and caller)",
  "resolvers/Query.ts → context.ts":
    "type only: a resolver receives the context the layer above builds (the others get its type through codegen)",
  "observability/readiness.ts → codat/client.ts": "type only: readiness probes the Codat client it is handed",
  "observability/readiness.ts → http/server.ts": "type only: readiness implements the server's Readiness interface",
};

/** The relative specifiers a file imports: static `import`/`export … from`, side-effect imports, `import("…")`. */
function relativeImports(file: string): string[] {
  const text = code(file);
  const specifiers = [
    ...text.matchAll(/(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/g),
    ...text.matchAll(/(?:^|[\s;])import\s*["']([^"']+)["']/g),
    ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ].map((match) => match[1] as string);
  return specifiers.filter((specifier) => specifier.startsWith("."));
}

/** `src/x/y.ts` → `x`, `src/x.ts` → `x`. */
const moduleOf = (relative: string): string => relative.split("/")[0]!.replace(/\.(ts|js)$/, "");

function upwardImports(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = path.relative(SRC, file).split(path.sep).join("/");
    const fromTier = LAYERS[moduleOf(from)];
    if (fromTier === undefined) continue;
    for (const specifier of relativeImports(file)) {
      const target = path
        .relative(SRC, path.resolve(path.dirname(file), specifier))
        .split(path.sep)
        .join("/")
        .replace(/\.js$/, ".ts");
      if (target.startsWith("..")) continue;
      const toTier = LAYERS[moduleOf(target)];
      if (toTier !== undefined && toTier > fromTier) found.push(`${from} → ${target}`);
    }
  }
  return [...new Set(found)].sort();
}

describe("layering", () => {
  it("reads the imports it checks (the table's modules exist and import each other)", () => {
    for (const module of Object.keys(LAYERS)) {
      const files = sourceFiles(SRC).filter((file) => moduleOf(path.relative(SRC, file)) === module);
      expect(files, module).not.toHaveLength(0);
    }
    expect(relativeImports(path.join(SRC, "resolvers", "Query.ts")).some((s) => s.includes("loaders"))).toBe(true);
  });

  it("has no upward imports among the layers but the listed exceptions", () => {
    const unexpected = upwardImports().filter((edge) => !(edge in EXCEPTIONS));
    expect(unexpected, "upward imports (fix them, or list them in EXCEPTIONS with a reason)").toEqual([]);
  });

  it("the simulator takes the gateway's Codat types from one module, simulator/src/codat-types.ts", () => {
    const simulator = path.join(ROOT, "simulator");
    const files = ["src", "test", "scripts"].flatMap((dir) => sourceFiles(path.join(simulator, dir)));
    const intoGateway = files.flatMap((file) =>
      relativeImports(file)
        .filter((specifier) => path.resolve(path.dirname(file), specifier).startsWith(SRC + path.sep))
        .map((specifier) => `${path.relative(simulator, file).split(path.sep).join("/")} → ${specifier}`),
    );
    expect(intoGateway).toEqual(["src/codat-types.ts → ../../src/codat/types.js"]);
  });

  it("lists no exception that no longer occurs", () => {
    const occurring = new Set(upwardImports());
    expect(Object.keys(EXCEPTIONS).filter((edge) => !occurring.has(edge))).toEqual([]);
  });
});
