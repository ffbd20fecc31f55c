/**
 * `prestart`: builds dist/ only when it is missing or was built from other sources, so a second `npm start` with
 * nothing changed starts at once. Plain JavaScript with no dependencies: it must run before anything is generated
 * or compiled, and it runs on every start (about 10 ms).
 *
 * Staleness is judged by content, never by modification times (`npm prune` rewrites package-lock.json with the
 * same bytes, a checkout touches every file): the build records a sha256 of its inputs in dist/ (`--begin` before
 * it starts, `--end` once everything is built, so a failed or interrupted build leaves no record), and prestart
 * compares it with the inputs' hash now. Without the build tools (a pruned production install) it never builds:
 * it starts dist/ as it is, or says to run `npm run build` when there is no dist/.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * What dist/ and simulator/dist/ are built from: sources (the gateway's, the simulator's and the browser explorer's),
 * schema, the vendored specs and the build's own settings.
 */
export const INPUTS = [
  "src",
  "simulator/src",
  "simulator/package.json",
  "schema",
  "openapi",
  "codegen.ts",
  "tsconfig.json",
  "tsconfig.build.json",
  "package.json",
  "package-lock.json",
  "scripts/gen-rest-types.ts",
  "explorer",
  "scripts/build-explorer.mjs",
];
/** Written by the build, not its input. */
const GENERATED = new Set(["__generated__"]);
/** The gateway's and the simulator's build outputs; without any of them a build is due. */
export const OUTPUTS = ["dist/main.js", "simulator/dist/index.js", "dist/explorer/index.html"];
/** Where the build records its inputs' hash (dist/ is rebuilt and shipped as a whole, so the record goes with it). */
export const RECORD = "dist/.build-inputs.sha256";
const PENDING = `${RECORD}.pending`;
/** The commands `npm run build` runs; a pruned install has none of them. */
export const BUILD_TOOLS = [
  "node_modules/.bin/graphql-codegen",
  "node_modules/.bin/tsc",
  "node_modules/.bin/tsx",
  "node_modules/.bin/esbuild",
];

/** sha256 over every input file's path and bytes, in a fixed order; a missing input counts as absent. */
export function inputsHash(root) {
  const hash = createHash("sha256");
  const add = (relative) => {
    const file = path.join(root, relative);
    let stat;
    try {
      stat = statSync(file);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      for (const entry of readdirSync(file).sort()) if (!GENERATED.has(entry)) add(path.posix.join(relative, entry));
      return;
    }
    const bytes = readFileSync(file);
    hash.update(`${relative}\0${bytes.length}\0`);
    hash.update(bytes);
  };
  for (const input of INPUTS) add(input);
  return hash.digest("hex");
}

function readRecord(root) {
  try {
    return readFileSync(path.join(root, RECORD), "utf8").trim();
  } catch {
    return undefined;
  }
}

/**
 * What prestart does in `root`: `{ action: "start" }` (dist/ is current, or there is nothing to build it with),
 * `{ action: "build" }`, or `{ action: "fail" }`; `message` is the one line to print, when there is one.
 */
export function decide(root) {
  const built = OUTPUTS.every((output) => existsSync(path.join(root, output)));
  const tools = BUILD_TOOLS.every((tool) => existsSync(path.join(root, tool)));
  if (!tools) {
    if (!existsSync(path.join(root, "dist/main.js"))) {
      return {
        action: "fail",
        message: "dist/ is missing and the build tools are not installed: run `npm ci && npm run build` first.",
      };
    }
    // Only where the sources are there to compare (a runtime image has dist/ alone): say so, start as built.
    const recorded = readRecord(root);
    if (recorded !== undefined && existsSync(path.join(root, "src")) && recorded !== inputsHash(root)) {
      return {
        action: "start",
        message:
          "dist/ was built from other sources than these; starting it as built (no build tools here: `npm ci && npm run build` rebuilds).",
      };
    }
    return { action: "start" };
  }
  if (!built) return { action: "build", message: "Building dist/ (first start)…" };
  const recorded = readRecord(root);
  if (recorded === inputsHash(root)) return { action: "start" };
  return {
    action: "build",
    message:
      recorded === undefined
        ? "No record of what dist/ was built from: rebuilding dist/…"
        : "Sources changed since the last build: rebuilding dist/…",
  };
}

/** `--begin`: the first step of `npm run build`. Forgets the last record and notes the inputs the build starts from. */
export function beginBuild(root) {
  rmSync(path.join(root, RECORD), { force: true });
  mkdirSync(path.join(root, "dist"), { recursive: true });
  writeFileSync(path.join(root, PENDING), `${inputsHash(root)}\n`);
}

/** `--end`: the last step of `npm run build`, reached only when every step before it succeeded. */
export function endBuild(root) {
  renameSync(path.join(root, PENDING), path.join(root, RECORD));
}

function main() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const [flag] = process.argv.slice(2);
  if (flag === "--begin") return beginBuild(root);
  if (flag === "--end") return endBuild(root);
  const { action, message } = decide(root);
  if (action === "fail") {
    console.error(message);
    process.exit(1);
  }
  if (message) console.log(message);
  if (action === "start") return;
  const result = spawnSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });
  process.exit(result.status ?? 1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
