/**
 * Layering: the folders docs/architecture.md names import only downwards. The request path runs
 * http → graphql and the context → resolvers → loaders → the Codat client (its transport inside), and everything
 * leans on the infrastructure (observability, config, redis) and the leaves (errors, paths, feature interfaces).
 * A module may import a module of the same or a lower tier, never a higher one, type-only imports included (they
 * are a dependency all the same); the few that remain are listed in EXCEPTIONS, each with its reason. Every
 * module of src/ is in the table: a new folder fails the test until it is given its tier.
 * Import cycles are the other half: `madge --circular` in `npm run lint`.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { code, sourceFiles } from "../helpers/source.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SRC = path.join(ROOT, "src");

/**
 * Module → tier; higher tiers sit above lower ones. A module is a folder of src/, a file of src/ without its
 * extension, or — where one file of a feature folder sits at another height than the rest — that file's path
 * (`downloads/route.ts`: the route is an HTTP module, the folder's links and headers are not). Every module of
 * src/ is in the table (the first test checks it), from the process's entry point down to the leaves.
 */
const LAYERS: Readonly<Record<string, number>> = {
  main: 9,
  app: 8,
  // HTTP: the server, its routes, and the GraphQL endpoint's plumbing.
  http: 6,
  "downloads/route.ts": 6,
  "webhooks/route.ts": 6,
  // A GraphQL request: admission, the per-request context, the executable schema.
  graphql: 5,
  context: 5,
  schema: 5,
  // Field resolution and the write flows they call.
  resolvers: 4,
  writes: 4,
  // Per-request batching and the features beneath the resolvers.
  loaders: 3,
  cache: 3,
  "push-status": 3,
  downloads: 3,
  webhooks: 3,
  security: 3,
  // Codat and the shapes the gateway makes of its answers.
  codat: 2,
  auth: 2,
  mappers: 2,
  models: 2,
  pagination: 2,
  ids: 2,
  // Infrastructure everything leans on.
  observability: 1,
  config: 1,
  redis: 1,
  "embedded-upstream": 1,
  "security/trusted-documents.ts": 1,
  // Leaves: vocabularies and the interfaces that infrastructure implements for a feature.
  errors: 0,
  paths: 0,
  "push-status/bus.ts": 0,
  "webhooks/dedupe.ts": 0,
  "webhooks/outcomes.ts": 0,
  "downloads/outcomes.ts": 0,
  "webhooks/data-changes.ts": 0,
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
  "observability/operation-logging.ts → security/limits.ts":
    "the operation log names the limit an operation broke (`instanceof OperationLimitError`, the limit's own error class)",
  "resolvers/Query.ts → context.ts":
    "type only: a resolver receives the context the layer above builds (the others get its type through codegen)",
  "writes/customers.ts → context.ts": "type only: a write flow runs with the request's context, as the resolver calling it does",
  "observability/cache-metrics.ts → cache/read-cache.ts":
    "type only: the cache's metrics implement the read cache's metrics sink interface",
  "observability/readiness.ts → codat/client.ts": "type only: readiness probes the Codat client it is handed",
  "observability/readiness.ts → http/server.ts": "type only: readiness implements the server's Readiness interface",
  "config/auth.ts → auth/caller.ts": "type only: the JWT settings are declared by the verifier that reads them",
  "config/http.ts → security/limits.ts": "type only: the operation limits' settings are declared by the limits that apply them",
  "redis/push-bus.ts → push-status/watcher.ts": "type only: the Redis poll lease implements the watcher's PollLease interface",
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

/** `src/x/y.ts` → `x/y.ts` when the table names that file, else `x`; `src/x.ts` → `x`. */
const moduleOf = (relative: string): string => (relative in LAYERS ? relative : relative.split("/")[0]!.replace(/\.(ts|js)$/, ""));

function upwardImports(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = path.relative(SRC, file).split(path.sep).join("/");
    const fromTier = LAYERS[moduleOf(from)];
    if (fromTier === undefined) throw new Error(`${from}: its module is not in LAYERS`);
    for (const specifier of relativeImports(file)) {
      const target = path
        .relative(SRC, path.resolve(path.dirname(file), specifier))
        .split(path.sep)
        .join("/")
        .replace(/\.js$/, ".ts");
      if (target.startsWith("..")) continue;
      if (target.startsWith("__generated__/")) continue;
      const toTier = LAYERS[moduleOf(target)];
      if (toTier === undefined) throw new Error(`${target} (imported by ${from}): its module is not in LAYERS`);
      if (toTier > fromTier) found.push(`${from} → ${target}`);
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
