/**
 * `prestart`: builds dist/ only when it is missing or older than what it is built from, so a second
 * `npm start` with nothing changed starts at once. Plain JavaScript with no dependencies: it must run before
 * anything is generated or compiled.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** What dist/ and simulator/dist/ are built from: sources, schema, the vendored specs and the build's own settings. */
const inputs = [
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
];
const GENERATED = new Set(["__generated__"]);

function newest(file) {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(file)) {
    if (GENERATED.has(entry)) continue;
    latest = Math.max(latest, newest(path.join(file, entry)));
  }
  return latest;
}

/** The gateway's and the simulator's build outputs: the older one counts. */
const outputs = ["dist/main.js", "simulator/dist/index.js"];
const built = Math.min(
  ...outputs.map((output) => {
    try {
      return statSync(path.join(root, output)).mtimeMs;
    } catch {
      return 0;
    }
  }),
);
const source = Math.max(...inputs.map((input) => newest(path.join(root, input))));

if (built > source) process.exit(0);
console.log(built === 0 ? "Building dist/ (first start)…" : "Sources changed since the last build: rebuilding dist/…");
const result = spawnSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });
process.exit(result.status ?? 1);
