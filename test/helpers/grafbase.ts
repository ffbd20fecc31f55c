/**
 * Grafbase's router (the Rust gateway inside the `grafbase` CLI from npm, run offline) for the federation tests:
 * a project folder (subgraph SDL files and a `grafbase.toml`) written into a temporary directory, `grafbase
 * compose` to get the federated SDL, `grafbase dev` serving the composed graph on a free loopback port in its own
 * process group (stopped as a group), and a recording tap to see what the router sends a subgraph.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse, print, visit } from "graphql";
import { grafbaseBinary, GRAFBASE_MISSING_REASON } from "grafbase-cli-local";
import { waitForValue } from "./wait.js";

/**
 * The CLI binary for this machine, found at run time among Grafbase's platform packages (optional dependencies of
 * test/tools/grafbase-cli, which the root lists as a dev dependency); undefined where none is installed (Grafbase 0.103
 * is published for linux-x64 only), and then the router tests skip with GRAFBASE_MISSING_REASON.
 */
export const GRAFBASE_BIN: string | undefined = grafbaseBinary();
export { grafbaseBinary, GRAFBASE_MISSING_REASON };

function cli(): string {
  if (GRAFBASE_BIN === undefined) throw new Error(GRAFBASE_MISSING_REASON);
  return GRAFBASE_BIN;
}

/** A generous bound for the router to compose and answer on a busy two-core machine. */
export const ROUTER_START_TIMEOUT_MS = 60_000;

export interface GrafbaseSubgraph {
  name: string;
  /** The subgraph's SDL (written to `<name>.graphql`, used through `schema_path`: no introspection). */
  sdl: string;
  /** Where the router sends the subgraph's queries and mutations. */
  url: string;
  /** Where the router opens graphql-transport-ws connections for the subgraph's subscriptions. */
  websocketUrl?: string;
  /** Request headers the router forwards from the client to this subgraph (`rule = "forward"`). */
  forwardHeaders?: string[];
}

/**
 * Grafbase 0.103's SDL parser panics ("capacity overflow" in cynic-parser's block-string trimming) on some
 * one-line block-string descriptions (`"""Codat company id (a UUID)."""` on an input field is one). The same
 * descriptions as ordinary strings are the same schema, so the SDL handed to Grafbase has no block strings.
 */
export function withoutBlockStrings(sdl: string): string {
  return print(visit(parse(sdl), { StringValue: (node) => (node.block ? { ...node, block: false } : undefined) }));
}

const tomlString = (value: string) => JSON.stringify(value);

/** The `grafbase.toml` for the subgraphs (exported for the README example and for failure messages). */
export function grafbaseToml(subgraphs: readonly GrafbaseSubgraph[]): string {
  const lines = [
    "# Written by test/helpers/grafbase.ts. Local only: no graph ref, no access token, no telemetry exporters,",
    "# no extensions, so nothing leaves loopback.",
  ];
  for (const subgraph of subgraphs) {
    lines.push(
      "",
      `[subgraphs.${subgraph.name}]`,
      `url = ${tomlString(subgraph.url)}`,
      `schema_path = ${tomlString(`${subgraph.name}.graphql`)}`,
    );
    if (subgraph.websocketUrl !== undefined) {
      // With websocket_url set, Grafbase speaks graphql-transport-ws to the subgraph (its default then).
      lines.push(`websocket_url = ${tomlString(subgraph.websocketUrl)}`);
    }
    for (const header of subgraph.forwardHeaders ?? []) {
      lines.push("", `[[subgraphs.${subgraph.name}.headers]]`, `rule = "forward"`, `name = ${tomlString(header)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export interface GrafbaseProject {
  dir: string;
  configPath: string;
  remove(): void;
}

/** Writes the subgraphs' SDL files and grafbase.toml into a new temporary directory. */
export function writeGrafbaseProject(subgraphs: readonly GrafbaseSubgraph[]): GrafbaseProject {
  const dir = mkdtempSync(path.join(tmpdir(), "grafbase-router-"));
  for (const subgraph of subgraphs) writeFileSync(path.join(dir, `${subgraph.name}.graphql`), withoutBlockStrings(subgraph.sdl));
  const configPath = path.join(dir, "grafbase.toml");
  writeFileSync(configPath, grafbaseToml(subgraphs));
  return { dir, configPath, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The CLI's environment: HOME is the project folder (`grafbase dev` unpacks its local UI under `~/.grafbase`),
 * no colours, and none of the caller's GRAFBASE_* settings (an access token would make it talk to the platform).
 */
function cliEnv(project: GrafbaseProject): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("GRAFBASE")) env[key] = value;
  return { ...env, HOME: project.dir, NO_COLOR: "1" };
}

/** `grafbase compose -c grafbase.toml`: the federated SDL, or an error with the CLI's output. */
export async function grafbaseCompose(project: GrafbaseProject): Promise<string> {
  const child = spawn(cli(), ["compose", "-c", project.configPath], { cwd: project.dir, env: cliEnv(project), stdio: "pipe" });
  const output = collect(child);
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`grafbase compose exited with ${code}:\n${output.stderr()}`);
  return output.stdout();
}

function collect(child: ChildProcess): { stdout(): string; stderr(): string } {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return { stdout: () => stdout, stderr: () => stderr };
}

/** A port free on 127.0.0.1 a moment ago (`grafbase dev --port 0` binds but reports port 0, so we choose). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface GrafbaseRouter {
  /** `http://127.0.0.1:<port>/graphql`: queries, mutations, and subscriptions over SSE. */
  url: string;
  /** `ws://127.0.0.1:<port>/ws`: subscriptions over graphql-transport-ws. */
  wsUrl: string;
  pid: number;
  /** What the CLI printed so far (for failure messages). */
  output(): string;
  /** Stops the whole process group (SIGTERM, then SIGKILL if it lingers) and waits for the exit. */
  stop(): Promise<void>;
}

/** `grafbase dev -c grafbase.toml --port <free>`; resolves once the router answers `{ __typename }`. */
export async function startGrafbaseRouter(project: GrafbaseProject): Promise<GrafbaseRouter> {
  // A port chosen free can be taken before the router binds it: try again with another one, a few times.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(project, await freePort());
    } catch (error) {
      lastError = error;
      if (!(error instanceof PortTaken)) throw error;
    }
  }
  throw lastError;
}

class PortTaken extends Error {}

async function startOnce(project: GrafbaseProject, port: number): Promise<GrafbaseRouter> {
  const child = spawn(cli(), ["dev", "-c", project.configPath, "--port", String(port)], {
    cwd: project.dir,
    env: cliEnv(project),
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so stop() reaches whatever the CLI starts.
    detached: true,
  });
  const output = collect(child);
  const printed = () => `${output.stdout()}\n${output.stderr()}`;
  let exited: number | null | undefined;
  const exit = once(child, "exit").then(([code]) => {
    exited = code as number | null;
  });
  const pid = child.pid!;
  // Should the test process end without stop() (a crashed worker), the router group goes with it.
  const killGroup = () => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.once("exit", killGroup);
  void exit.then(() => process.off("exit", killGroup));

  const stop = async () => {
    if (exited !== undefined) return;
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      return; // already gone
    }
    const killer = setTimeout(killGroup, 10_000);
    await exit;
    clearTimeout(killer);
  };

  const url = `http://127.0.0.1:${port}/graphql`;
  try {
    await waitForValue(
      async () => {
        if (exited !== undefined) {
          const text = printed();
          if (/address (already )?in use/i.test(text)) throw new PortTaken(text);
          throw new Error(`grafbase dev exited with ${exited} before answering:\n${text}`);
        }
        try {
          const response = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ query: "{ __typename }" }),
            signal: AbortSignal.timeout(5_000),
          });
          const body = (await response.json()) as { data?: { __typename?: string } };
          return body.data?.__typename === "Query" ? true : undefined;
        } catch {
          return undefined; // not listening yet
        }
      },
      { timeoutMs: ROUTER_START_TIMEOUT_MS, intervalMs: 100 },
    );
  } catch (error) {
    await stop();
    if (error instanceof PortTaken) throw error;
    throw new Error(`${(error as Error).message}\ngrafbase dev output:\n${printed()}`, { cause: error });
  }
  return { url, wsUrl: `ws://127.0.0.1:${port}/ws`, pid, output: printed, stop };
}

export interface TappedRequest {
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The subgraph's answer status. */
  status: number;
}

export interface SubgraphTap {
  /** Give the router this URL instead of the subgraph's. */
  url: string;
  requests: TappedRequest[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP tap in front of a subgraph: forwards every request as it is (headers included) and records it
 * with the status of the answer, so a test sees the `_entities` operations and headers the router sent.
 */
export async function startSubgraphTap(targetUrl: string): Promise<SubgraphTap> {
  const requests: TappedRequest[] = [];
  const hopByHop = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive", "accept-encoding"]);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined || hopByHop.has(name)) continue;
        headers.set(name, Array.isArray(value) ? value.join(", ") : value);
      }
      const method = req.method ?? "POST";
      const init: RequestInit = { method, headers };
      if (method !== "GET" && method !== "HEAD") init.body = body;
      fetch(targetUrl, init)
        .then(async (response) => {
          const text = await response.text();
          requests.push({ method, headers: req.headers, body, status: response.status });
          const out: Record<string, string> = {};
          response.headers.forEach((value, name) => {
            if (!hopByHop.has(name) && name !== "content-encoding") out[name] = value;
          });
          res.writeHead(response.status, { ...out, "content-length": Buffer.byteLength(text) });
          res.end(text);
        })
        .catch((error: unknown) => {
          requests.push({ method, headers: req.headers, body, status: 502 });
          res.writeHead(502, { "content-type": "text/plain" });
          res.end(String(error));
        });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const target = new URL(targetUrl);
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
