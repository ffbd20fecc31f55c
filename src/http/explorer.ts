/**
 * The bundled GraphiQL explorer (`GET /graphiql`, and the `/graphql` landing page with EXPLORER=graphiql): the
 * page and its assets, built from explorer/ by `npm run build` (scripts/build-explorer.mjs) into dist/explorer/, and
 * served from memory. Nothing is loaded from a CDN: it works on a machine without internet.
 *
 *   GET /graphiql                      index.html, `cache-control: no-cache`, a strict Content-Security-Policy
 *   GET /graphiql/assets/<name>        the bundle's files (content hash in the name), cached for a year, immutable
 *
 * The page itself runs no inline script or style; it derives the endpoint and the WebSocket URL from its own
 * location, so it works behind a path prefix (PUBLIC_URL) as it does on loopback. The build precompresses the text
 * files (`<name>.gz`); a client that accepts gzip gets those bytes.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { RequestCode } from "../errors.js";
import { HttpError, notFound } from "./errors.js";

export const EXPLORER_PATH = "/graphiql";
export const EXPLORER_ASSETS_PATH = `${EXPLORER_PATH}/assets/`;

/** A Host header that is a plain host name or IP address, with an optional port: safe to name in the policy. */
const PLAIN_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/**
 * The page's policy: its own scripts, styles, fonts and images only; requests to its own origin, HTTP and WebSocket
 * (CSP 3's `'self'` covers ws:/wss: on the page's host and port; older browsers need them named, so the request's
 * own host is, when it is a plain host[:port]); never framed, no plugins, no forms, no <base>.
 */
export function explorerCsp(host?: string): string {
  const own = host !== undefined && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    `connect-src 'self'${own}`,
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const IMMUTABLE = "public, max-age=31536000, immutable";

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".png": "image/png",
  ".map": "application/json",
};

interface Asset {
  type: string;
  body: Buffer;
  /** The same bytes gzipped by the build, when it wrote them. */
  gzip: Buffer | undefined;
}

export interface ExplorerFiles {
  page: Asset;
  assets: ReadonlyMap<string, Asset>;
}

/** Where `npm run build` puts the explorer: dist/explorer/, next to dist/http/ (or, running from src/, the repository's). */
export function defaultExplorerDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const built = path.resolve(here, "../explorer");
  return existsSync(path.join(built, "index.html")) ? built : path.resolve(here, "../../dist/explorer");
}

function readAsset(file: string): Asset {
  const gz = `${file}.gz`;
  return {
    type: TYPES[path.extname(file)] ?? "application/octet-stream",
    body: readFileSync(file),
    gzip: existsSync(gz) ? readFileSync(gz) : undefined,
  };
}

/** The built explorer in `dir` (index.html and assets/), read once; undefined when it is not built. */
export function loadExplorer(dir: string): ExplorerFiles | undefined {
  const index = path.join(dir, "index.html");
  if (!existsSync(index)) return undefined;
  const assetsDir = path.join(dir, "assets");
  const assets = new Map<string, Asset>();
  for (const name of existsSync(assetsDir) ? readdirSync(assetsDir) : []) {
    if (!name.endsWith(".gz")) assets.set(name, readAsset(path.join(assetsDir, name)));
  }
  return { page: readAsset(index), assets };
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  void reply.header("content-type", asset.type).header("vary", "Accept-Encoding").header("x-content-type-options", "nosniff");
  const accepts = request.headers["accept-encoding"];
  if (asset.gzip && typeof accepts === "string" && /\bgzip\b/.test(accepts)) {
    return reply.header("content-encoding", "gzip").send(asset.gzip);
  }
  return reply.send(asset.body);
}

const notBuilt = () =>
  new HttpError(RequestCode.ServiceUnavailable, "The GraphiQL explorer is not built: run `npm run build` (or `npm run build:explorer`).");

export interface ExplorerOptions {
  /** The built explorer (defaultExplorerDir()). */
  dir?: string;
}

/** Built explorers read so far, by folder: read on first use, once per process however many gateways serve them. */
const loaded = new Map<string, ExplorerFiles>();

function filesIn(dir: string): ExplorerFiles | undefined {
  let files = loaded.get(dir);
  if (!files) {
    // Not remembered when missing: a build that lands later is served without a restart.
    files = loadExplorer(dir);
    if (files) loaded.set(dir, files);
  }
  return files;
}

/**
 * Serves the explorer on `app`; the returned function answers a request with the page (the `/graphql` landing page
 * with EXPLORER=graphiql uses it). The files are read on the first request, not before: a gateway whose explorer is
 * never opened never reads them.
 */
export function registerExplorer(
  app: FastifyInstance,
  options: ExplorerOptions = {},
): (request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  const dir = options.dir ?? defaultExplorerDir();
  const page = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const files = filesIn(dir);
    if (!files) throw notBuilt();
    void reply
      .header("cache-control", "no-cache")
      .header("content-security-policy", explorerCsp(request.headers.host))
      .header("referrer-policy", "no-referrer")
      .header("x-frame-options", "DENY");
    return send(request, reply, files.page);
  };
  app.get(EXPLORER_PATH, page);
  app.get<{ Params: { name: string } }>(`${EXPLORER_ASSETS_PATH}:name`, (request, reply) => {
    const asset = filesIn(dir)?.assets.get(request.params.name);
    if (!asset) throw notFound();
    void reply.header("cache-control", IMMUTABLE);
    return send(request, reply, asset);
  });
  return page;
}

/** The class of the link to the bundled explorer on Apollo's landing page. */
const LINK_CLASS = "gateway-graphiql-link";

/**
 * Apollo's Sandbox landing page with a visible link to the bundled explorer: a small fixed link in the corner (over
 * Sandbox once it has loaded) and a sentence in its offline message. Apollo's page allows styles by nonce only, so
 * the link's rule goes into its own nonced stylesheet. A page of another shape is returned as it is.
 */
export function withExplorerLink(html: string): string {
  const styleOpen = /<style nonce=("?)[A-Za-z0-9+/=]+\1>/.exec(html);
  if (!styleOpen || !html.includes('<div id="react-root">')) return html;
  const rule = `
        .${LINK_CLASS} { position: fixed; right: 12px; bottom: 12px; z-index: 10; padding: 6px 12px; border-radius: 16px;
          background: #e10098; color: #fff; font: 600 13px/1.4 system-ui, sans-serif; text-decoration: none; }
        .${LINK_CLASS}:hover, .${LINK_CLASS}:focus { background: #b8007c; }`;
  const link = `<a class="${LINK_CLASS}" href="graphiql" title="GraphiQL, bundled with this gateway: works offline">Offline explorer: GraphiQL</a>`;
  return html
    .replace(styleOpen[0], `${styleOpen[0]}${rule}`)
    .replace('<div id="react-root">', `${link}\n    <div id="react-root">`)
    .replace(
      /(it appears that you might be offline\.<\/p>)/,
      `$1\n  <p>Without internet, <a href="graphiql">GraphiQL</a> (bundled with this gateway) works.</p>`,
    );
}
