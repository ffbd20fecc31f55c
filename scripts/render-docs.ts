/**
 * `npm run docs`: writes the generated documentation (docs/configuration.md, docs/performance.md; see
 * scripts/docs-render.ts). `npm run docs -- --check` writes nothing and exits 1 when a committed file differs.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { renderDocs, ROOT } from "./docs-render.js";

const check = process.argv.includes("--check");
let stale = 0;
for (const [file, content] of await renderDocs()) {
  const full = path.join(ROOT, file);
  let current: string | undefined;
  try {
    current = readFileSync(full, "utf8");
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  if (check) {
    console.error(`${file} is out of date: run npm run docs`);
    stale += 1;
  } else {
    writeFileSync(full, content);
    console.error(`wrote ${file}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
