/**
 * The generated documentation is committed as `npm run docs` renders it: docs/configuration.md and `.env.example`
 * from the configuration's models (src/config/), docs/performance.md from the committed bench/results/*.json. And every relative link
 * of the README and docs/ points at a file (and a heading) that exists (docs/deployment.md included).
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { anchor, renderDocs, ROOT } from "../../scripts/docs-render.js";

describe("generated docs", () => {
  it("equal their render (run `npm run docs` after changing src/config/ or bench/results/)", async () => {
    for (const [file, content] of await renderDocs()) {
      expect(readFileSync(path.join(ROOT, file), "utf8"), file).toBe(content);
    }
  });

  it("pass `npm run docs -- --check`", async () => {
    const exitCode = await new Promise<number | null>((resolve) => {
      const child = execFile(process.execPath, ["--import", "tsx", "scripts/render-docs.ts", "--check"], { cwd: ROOT });
      child.on("exit", resolve);
    });
    expect(exitCode).toBe(0);
  });
});

describe("documentation links", () => {
  const files = ["README.md", "CHANGELOG.md", ...readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`)].filter((f) =>
    f.endsWith(".md"),
  );

  /** The anchors of a Markdown file's headings, as GitHub makes them. */
  const anchors = (file: string): Set<string> =>
    new Set(
      [
        ...readFileSync(file, "utf8")
          .replace(/```[\s\S]*?```/g, "")
          .matchAll(/^#+ (.+)$/gm),
      ].map((m) => anchor(m[1]!.replace(/`/g, ""))),
    );

  it.each(files)("%s links only to files and headings that exist", (file) => {
    const text = readFileSync(path.join(ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "");
    const broken = [...text.matchAll(/\]\(([^)#\s]*)(?:#([^)\s]*))?\)/g)]
      .filter((m) => !/^[a-z]+:/.test(m[1]!))
      .filter((m) => {
        const target = m[1] === "" ? path.join(ROOT, file) : path.resolve(ROOT, path.dirname(file), m[1]!);
        if (!existsSync(target)) return true;
        return m[2] !== undefined && target.endsWith(".md") && !anchors(target).has(m[2]);
      })
      .map((m) => m[0]);
    expect(broken).toEqual([]);
  });
});
