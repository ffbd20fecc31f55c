/**
 * Builds the offline GraphiQL explorer (explorer/) into dist/explorer/, a step of `npm run build`:
 *
 *   dist/explorer/index.html                    the page (explorer/index.html with the bundle's names filled in)
 *   dist/explorer/assets/graphiql-<hash>.js     React, GraphiQL 4 and the fetcher, one minified ES module
 *   dist/explorer/assets/graphiql-<hash>.css    GraphiQL's stylesheet and the page's own
 *   dist/explorer/assets/*-<hash>.*             anything the stylesheets refer to (fonts, images), also what
 *                                               GraphiQL's prebuilt stylesheet inlines as data: URLs
 *   …and each of them gzipped (<name>.gz), which the gateway sends to clients that accept gzip.
 *
 * Content hashes in the names let the gateway serve assets as immutable (src/http/explorer.ts). esbuild is a dev
 * dependency: a production install has the built files and nothing that builds them. `--stats` prints the
 * sizes (raw and gzip) and the number of files the page loads.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "dist/explorer");
const assets = path.join(out, "assets");
/** The assets' URL, relative to the page (served at /graphiql, or at /graphql as the landing page). */
const ASSET_URL = "graphiql/assets/";

rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { graphiql: "explorer/main.tsx" },
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022", "chrome110", "firefox110", "safari16"],
  minify: true,
  jsx: "automatic",
  outdir: assets,
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  // Fonts and images the stylesheets name become files of their own (a strict CSP allows no data: fonts).
  loader: { ".woff": "file", ".woff2": "file", ".ttf": "file", ".eot": "file", ".svg": "file", ".png": "file" },
  define: { "process.env.NODE_ENV": '"production"' },
  // Licence comments go to one file per bundle (<name>.LEGAL.txt), not into the code.
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
});

const bundle = (extension) => {
  const found = Object.keys(result.metafile.outputs).find(
    (file) => file.endsWith(extension) && path.basename(file).startsWith("graphiql-"),
  );
  if (!found) throw new Error(`the explorer's build has no ${extension} bundle`);
  return path.basename(found);
};
const shortHash = (bytes) => createHash("sha256").update(bytes).digest("base64url").slice(0, 10);

// @graphiql/react's stylesheet comes built, with its fonts (and two icons) inlined as base64 data: URLs. They become
// files of their own, fetched from the gateway's origin (`font-src 'self'`, no `data:` in the policy) and only
// when used; the stylesheet's name then takes its new content's hash.
const DATA_URL = /url\(\s*["']?data:(font\/woff2?|font\/ttf|image\/png|image\/svg\+xml);base64,([A-Za-z0-9+/=]+)["']?\s*\)/g;
const EXTENSIONS = { "font/woff2": "woff2", "font/woff": "woff", "font/ttf": "ttf", "image/png": "png", "image/svg+xml": "svg" };
const cssName = bundle(".css");
const css = readFileSync(path.join(assets, cssName), "utf8").replace(DATA_URL, (_match, type, base64) => {
  const bytes = Buffer.from(base64, "base64");
  const name = `${type.startsWith("font/") ? "font" : "image"}-${shortHash(bytes)}.${EXTENSIONS[type]}`;
  writeFileSync(path.join(assets, name), bytes);
  return `url(${name})`;
});
const newCssName = `graphiql-${shortHash(css)}.css`;
writeFileSync(path.join(assets, cssName), css);
renameSync(path.join(assets, cssName), path.join(assets, newCssName));

const page = readFileSync(path.join(root, "explorer/index.html"), "utf8")
  .replace("%STYLESHEET%", ASSET_URL + newCssName)
  .replace("%SCRIPT%", ASSET_URL + bundle(".js"));
writeFileSync(path.join(out, "index.html"), page);

// Precompressed copies of the text files, at the highest level (built once, served many times); fonts and images
// are compressed already.
const files = [path.join(out, "index.html"), ...readdirSync(assets).map((name) => path.join(assets, name))];
const TEXT = /\.(html|js|css|svg|txt)$/;
for (const file of files) if (TEXT.test(file)) writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));

if (process.argv.includes("--stats")) {
  // What a browser may load: the page and every file but the licence texts (of the fonts, only those a page uses).
  const loaded = files.filter((file) => !file.endsWith(".LEGAL.txt"));
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
  let raw = 0;
  let gzip = 0;
  for (const file of loaded) {
    const size = statSync(file).size;
    const zipped = TEXT.test(file) ? statSync(`${file}.gz`).size : size;
    raw += size;
    gzip += zipped;
    if (!file.includes("/font-")) console.log(`${path.relative(root, file)}: ${kb(size)} raw, ${kb(zipped)} gzip`);
  }
  const fonts = loaded.filter((file) => file.includes("/font-"));
  const fontBytes = fonts.reduce((sum, file) => sum + statSync(file).size, 0);
  console.log(`fonts: ${fonts.length} files (by Unicode range and weight; a page loads those it uses), ${kb(fontBytes)} in all`);
  console.log(`explorer: ${loaded.length} files, ${kb(raw)} raw, ${kb(gzip)} gzip`);
}
