/**
 * The generated documentation is committed as `npm run docs` renders it: docs/configuration.md from
 * src/config-reference.ts, docs/performance.md from the committed bench/results/*.json. And every relative link
 * of the README and docs/ points at a file that exists (docs/deployment.md included).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { renderDocs, ROOT } from "../../scripts/docs-render.js";

describe("generated docs", () => {
  it("equal their render (run `npm run docs` after changing src/config-reference.ts or bench/results/)", async () => {
    for (const [file, content] of await renderDocs()) {
      expect(readFileSync(path.join(ROOT, file), "utf8"), file).toBe(content);
    }
  });
});

describe("documentation links", () => {
  const files = ["README.md", "CHANGELOG.md", ...readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`)].filter((f) =>
    f.endsWith(".md"),
  );

  it.each(files)("%s links only to files that exist", (file) => {
    const text = readFileSync(path.join(ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "");
    const missing = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((m) => m[1]!)
      .filter((target) => !/^[a-z]+:/.test(target))
      .filter((target) => !existsSync(path.resolve(ROOT, path.dirname(file), target)));
    expect(missing).toEqual([]);
  });
});
