/**
 * Finds the Grafbase CLI binary at run time: the one of this folder's optional dependencies (Grafbase's platform
 * packages) that npm installed and whose os/cpu fields admit this machine. Grafbase 0.103 is published for
 * linux-x64 only (@grafbase/cli-x86_64-unknown-linux-musl); elsewhere npm skips it and the router tests skip.
 * Plain JavaScript with no dependencies: scripts/check-platforms.mjs uses it too.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("package.json", import.meta.url), "utf8"));

/** Grafbase's platform packages, as this folder's package.json lists them. */
export const PLATFORM_PACKAGES = Object.keys(manifest.optionalDependencies ?? {});

/** `<os>-<cpu>` as npm's os/cpu fields name them (process.platform, process.arch). */
export const PLATFORM = `${process.platform}-${process.arch}`;

/** The absolute path of the Grafbase CLI for this machine, or undefined when none is installed. */
export function grafbaseBinary() {
  for (const name of PLATFORM_PACKAGES) {
    let manifestPath;
    try {
      manifestPath = require.resolve(`${name}/package.json`);
    } catch {
      continue; // not installed: another platform's package, or optional dependencies omitted
    }
    const pkg = JSON.parse(readFileSync(manifestPath, "utf8"));
    // Grafbase's packages list one os and one cpu each; a copied node_modules can hold another machine's.
    if (!(pkg.os ?? [process.platform]).includes(process.platform) || !(pkg.cpu ?? [process.arch]).includes(process.arch)) continue;
    const binary = path.join(path.dirname(manifestPath), process.platform === "win32" ? "grafbase.exe" : "grafbase");
    if (existsSync(binary)) return binary;
  }
  return undefined;
}

/** One line saying why there is no binary (for test skips and CI failures). */
export const GRAFBASE_MISSING_REASON =
  `no Grafbase CLI installed for ${PLATFORM}: test/tools/grafbase-cli's optional platform packages ` +
  `(${PLATFORM_PACKAGES.join(", ")}) have none for this machine, or npm omitted optional dependencies`;
