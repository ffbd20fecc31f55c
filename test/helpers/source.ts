/** Reading the project's own TypeScript sources in tests that check what the code reads or imports. */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

/** Every `.ts` file under `dir`, generated code left out. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "__generated__" ? [] : sourceFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

/** A file's text without comments (a name or an import mentioned in a comment is neither read nor imported). */
export const code = (file: string): string =>
  readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
