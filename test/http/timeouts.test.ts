/**
 * Bounded time everywhere: a stalled Codat body, a client that stops reading, and requests that arrive too
 * slowly (headers, body) are each cut off, with the download's slot freed, a log line and a metric. Timeouts
 * are a few hundred ms (through the environment) so each test takes about a second; every wait is on a
 * condition, and nothing asserts how long anything took.
 */
import { request, type IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_COMPANY_ID, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID, LARGE_ATTACHMENT_SIZE } from "codat-simulator";
import { createLogger } from "../../src/observability/logger.js";
import { attachmentRecord, downloadUrlOf, downloadWhileCodatGoesAway, partialGet } from "../helpers/downloads.js";
import { configProblems } from "../helpers/config.js";
import { startStack, type Stack } from "../helpers/stack.js";
import { memoryDestination } from "../helpers/logs.js";
import { waitFor, waitForValue } from "../helpers/wait.js";

const IDLE_MS = 300;
const STALL_AFTER = 64 * 1024;

/** The value of one sample of the gateway's /metrics (0 when absent). */
async function sample(stack: Stack, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${stack.origin}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

const failures = (stack: Stack, reason: string) => sample(stack, "codat_gateway_download_failures_total", `reason="${reason}"`);

/** A raw connection to the gateway, so a test controls exactly what is sent and when, and how it is read. */
function rawConnection(stack: Stack): { socket: Socket; text: () => string; bytes: () => number; closed: Promise<void> } {
  const url = new URL(stack.origin);
  const socket = connect(Number(url.port), url.hostname);
  const chunks: Buffer[] = [];
  let length = 0;
  socket.on("data", (chunk: Buffer) => {
    length += chunk.length;
    // Only the start is kept (status line, headers, an error body); a download's bytes are only counted.
    if (chunks.reduce((n, c) => n + c.length, 0) < 64 * 1024) chunks.push(chunk);
  });
  // A server that drops the connection may reset it; the test reads what arrived.
  socket.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { socket, text: () => Buffer.concat(chunks).toString("latin1"), bytes: () => length, closed };
}

/** Writes `piece` every 50 ms until the connection closes or an answer arrives: a client trickling its request. */
function trickle(socket: Socket, piece: string): void {
  const timer = setInterval(() => {
    if (socket.destroyed || socket.bytesRead > 0) clearInterval(timer);
    else socket.write(piece);
  }, 50);
  socket.once("close", () => clearInterval(timer));
}

/** The status code and JSON body of a raw HTTP answer. */
function parseAnswer(text: string): { status: number; body: unknown } {
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]);
  const body = text.slice(text.indexOf("\r\n\r\n") + 4);
  return { status, body: body === "" ? undefined : (JSON.parse(body) as unknown) };
}

describe("bounded time (small timeouts)", () => {
  const destination = memoryDestination();
  let stack: Stack;
  const large = () => attachmentRecord(stack, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID);

  beforeAll(async () => {
    stack = await startStack({
      env: {
        CODAT_STREAM_IDLE_TIMEOUT_MS: String(IDLE_MS),
        DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS: String(IDLE_MS),
        HTTP_HEADERS_TIMEOUT_MS: "300",
        HTTP_REQUEST_TIMEOUT_MS: "600",
      },
      logger: createLogger({ level: "debug", pretty: false, secrets: [], destination }),
    });
  });
  afterAll(async () => {
    await stack.close();
  });

  it("fails a download whose Codat body stalls: the client sees a broken transfer, the slot is freed, one warn line, counted", async () => {
    const url = await downloadUrlOf(stack, large());
    const before = await failures(stack, "upstream_idle");
    const linesBefore = destination.lines().length;
    stack.simulator.injectFault({ kind: "stall", afterBytes: STALL_AFTER, path: /\/download$/ });

    const outcome = await new Promise<{ status: number | undefined; length: string | undefined; received: number; end: string }>(
      (resolve) => {
        let received = 0;
        const req = request(url, (response) => {
          const done = (end: string) => resolve({ status: response.statusCode, length: response.headers["content-length"], received, end });
          response.on("data", (chunk: Buffer) => (received += chunk.length));
          response.on("end", () => done(response.complete ? "complete" : "incomplete"));
          response.on("aborted", () => done("aborted"));
          response.on("error", () => done("error"));
        });
        req.on("error", () => resolve({ status: undefined, length: undefined, received: 0, end: "request error" }));
        req.end();
      },
    );
    // The headers promised the whole file; the connection broke after what Codat sent, so no browser saves it.
    expect(outcome.status).toBe(200);
    expect(outcome.length).toBe(String(LARGE_ATTACHMENT_SIZE));
    expect(outcome.received).toBe(STALL_AFTER);
    expect(["aborted", "error", "incomplete"]).toContain(outcome.end);

    await waitFor(() => stack.gateway.client.inFlight(DEMO_COMPANY_ID) === 0);
    await waitFor(() => stack.simulator.downloads.at(-1)?.aborted === true);
    expect(await failures(stack, "upstream_idle")).toBe(before + 1);
    const lines = await waitForValue(() => {
      const found = destination.lines().slice(linesBefore);
      return found.some((l) => l.msg === "request" && l["route"] === "/downloads/:token") ? found : undefined;
    });
    const stalled = lines.filter((l) => l.msg.startsWith("download"));
    expect(stalled).toEqual([
      expect.objectContaining({
        level: "warn",
        msg: "download failed: Codat's body stalled",
        download: { reason: "upstream_idle", bytesSent: STALL_AFTER, idleTimeoutMs: IDLE_MS },
      }),
    ]);
    // The access line says the response is incomplete, and why.
    expect(lines.filter((l) => l.msg === "request" && l["route"] === "/downloads/:token")).toEqual([
      expect.objectContaining({ status: 200, incomplete: "upstream_idle" }),
    ]);
    // Bounded fields only: never the link (its token is a credential).
    expect(JSON.stringify(lines)).not.toContain(new URL(url).pathname);
  });

  it("drops a client that stops reading, aborts Codat's request and frees the slot; one info line, counted", async () => {
    const url = new URL(await downloadUrlOf(stack, large()));
    const before = await failures(stack, "client_idle");
    const linesBefore = destination.lines().length;
    const client = rawConnection(stack);
    client.socket.write(`GET ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\n\r\n`);
    // Reads nothing: the kernel's buffers fill, then the gateway's writes wait for good.
    client.socket.pause();

    await waitFor(async () => (await failures(stack, "client_idle")) === before + 1);
    await waitFor(() => stack.gateway.client.inFlight(DEMO_COMPANY_ID) === 0);
    await waitFor(() => stack.simulator.downloads.at(-1)?.aborted === true);
    expect(stack.simulator.downloads.at(-1)?.bytesSent).toBeLessThan(LARGE_ATTACHMENT_SIZE);

    // What the client can still read is a 200 for the whole file and the start of it, then the end of the
    // connection: a broken transfer, not a complete file.
    client.socket.resume();
    await client.closed;
    const head = client.text();
    expect(head).toMatch(new RegExp(`^HTTP/1\\.1 200 OK\\r\\n[\\s\\S]*content-length: ${LARGE_ATTACHMENT_SIZE}\\r\\n`, "i"));
    expect(client.bytes()).toBeLessThan(LARGE_ATTACHMENT_SIZE);

    const lines = await waitForValue(() => {
      const found = destination.lines().slice(linesBefore);
      return found.some((l) => l.msg === "request" && l["route"] === "/downloads/:token") ? found : undefined;
    });
    const dropped = lines.filter((l) => l.msg.startsWith("download"));
    expect(dropped).toEqual([
      expect.objectContaining({
        level: "info",
        msg: "download dropped: the client stopped reading",
        download: expect.objectContaining({ reason: "client_idle", idleTimeoutMs: IDLE_MS }) as unknown,
      }),
    ]);
    expect(lines.filter((l) => l.msg === "request" && l["route"] === "/downloads/:token")).toEqual([
      expect.objectContaining({ status: 200, incomplete: "client_idle" }),
    ]);
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
  });

  it("counts a client that goes away mid-download as client_gone, logged at debug only", async () => {
    const url = await downloadUrlOf(stack, large());
    const before = await failures(stack, "client_gone");
    const linesBefore = destination.lines().length;
    await partialGet(url, 1024 * 1024);
    await waitFor(async () => (await failures(stack, "client_gone")) === before + 1);
    await waitFor(() => stack.gateway.client.inFlight(DEMO_COMPANY_ID) === 0);
    const lines = destination.lines().slice(linesBefore);
    expect(lines.filter((l) => l.msg.startsWith("download"))).toEqual([]);
    expect(lines.filter((l) => l.level === "warn" || l.level === "error")).toEqual([]);
  });

  it("answers 408 to a client trickling its headers past HTTP_HEADERS_TIMEOUT_MS", async () => {
    const client = rawConnection(stack);
    client.socket.write("GET /healthz HTTP/1.1\r\nhost: gateway\r\n");
    trickle(client.socket, "x-slow: 1\r\n");
    await client.closed;
    expect(parseAnswer(client.text())).toEqual({
      status: 408,
      body: { error: { code: "REQUEST_TIMEOUT", message: "Request Timeout." } },
    });
  });

  it("answers 408 to a connection that sends nothing at all", async () => {
    const client = rawConnection(stack);
    await client.closed;
    expect(parseAnswer(client.text()).status).toBe(408);
  });

  it("answers 408 to a client trickling its body past HTTP_REQUEST_TIMEOUT_MS (headers in time)", async () => {
    const client = rawConnection(stack);
    client.socket.write(
      "POST /graphql HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n" + '{"query":"',
    );
    trickle(client.socket, " ");
    await client.closed;
    expect(parseAnswer(client.text())).toEqual({
      status: 408,
      body: { error: { code: "REQUEST_TIMEOUT", message: "Request Timeout." } },
    });
    // The gateway keeps serving.
    expect((await fetch(`${stack.origin}/healthz`)).status).toBe(200);
  });

  it("answers 431 to headers over Node's limit (the one error shape) and 413 to a body over MAX_REQUEST_BYTES", async () => {
    const client = rawConnection(stack);
    client.socket.write(`GET /healthz HTTP/1.1\r\nhost: gateway\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`);
    await client.closed;
    expect(parseAnswer(client.text())).toEqual({
      status: 431,
      body: { error: { code: "REQUEST_HEADER_FIELDS_TOO_LARGE", message: "Request Header Fields Too Large." } },
    });

    const big = await fetch(stack.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ __typename }`, pad: "x".repeat(1_100_000) }),
    });
    expect(big.status).toBe(413);
    // On /graphql, a GraphQL response.
    expect(await big.json()).toMatchObject({ errors: [{ message: "Request body larger than 1048576 bytes." }] });
  });
});

describe("a Codat body that breaks (not stalls)", () => {
  it("is counted as upstream_error and logged as an error", async () => {
    const destination = memoryDestination();
    const own = await startStack({ logger: createLogger({ level: "info", pretty: false, secrets: [], destination }) });
    try {
      const url = await downloadUrlOf(own, attachmentRecord(own, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID));
      const before = await failures(own, "upstream_error");
      const end = await downloadWhileCodatGoesAway(url, own);
      expect(end).not.toBe("complete");
      await waitFor(async () => (await failures(own, "upstream_error")) === before + 1);
      expect(await failures(own, "upstream_idle")).toBe(0);
      await waitFor(() => own.gateway.client.inFlight(DEMO_COMPANY_ID) === 0);
      expect(destination.lines().filter((l) => l.msg === "download failed")).toEqual([expect.objectContaining({ level: "error" })]);
    } finally {
      await own.gateway.stop();
    }
  });
});

describe("HTTP_REQUEST_TIMEOUT_MS bounds the request only", () => {
  it("does not cut a download response that lasts longer than the request timeout", async () => {
    // The client idle timeout stays at its default (30 s): the download below pauses longer than the request timeout.
    const stack = await startStack({ env: { HTTP_HEADERS_TIMEOUT_MS: "200", HTTP_REQUEST_TIMEOUT_MS: "300" } });
    try {
      const url = await downloadUrlOf(stack, attachmentRecord(stack, LARGE_ATTACHMENT_CUSTOMER_ID, LARGE_ATTACHMENT_ID));
      let received = 0;
      let ended = false;
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(url, resolve);
        req.on("error", reject);
        req.end();
      });
      response.on("data", (chunk: Buffer) => (received += chunk.length));
      response.on("close", () => (ended = true));
      response.pause();

      // A request that started after the download's and waited out the request timeout (complete headers, no
      // body) is answered 408: Node's check has run past the download's own request deadline too.
      const late = rawConnection(stack);
      late.socket.write("POST /graphql HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n");
      await late.closed;
      expect(parseAnswer(late.text()).status).toBe(408);

      // The download is still streaming: far more than any socket buffer holds keeps coming.
      response.resume();
      const target = 64 * 1024 * 1024;
      await waitFor(() => received >= target || ended);
      expect(ended).toBe(false);
      expect(stack.simulator.downloads.at(-1)).toMatchObject({ completed: false, aborted: false });
      expect(stack.gateway.client.inFlight(DEMO_COMPANY_ID)).toBe(1);
      response.destroy();
      await waitFor(() => stack.gateway.client.inFlight(DEMO_COMPANY_ID) === 0);
    } finally {
      await stack.close();
    }
  });
});

describe("settings", () => {
  it("has the documented defaults", async () => {
    const { parseConfig } = await import("../../src/config.js");
    expect(parseConfig({})).toMatchObject({
      codatStreamIdleTimeoutMs: 30_000,
      downloadClientIdleTimeoutMs: 30_000,
      httpHeadersTimeoutMs: 10_000,
      httpRequestTimeoutMs: 30_000,
    });
  });

  it("refuses values out of range, and a headers timeout longer than the request timeout", () => {
    expect(configProblems({ CODAT_STREAM_IDLE_TIMEOUT_MS: "0" })).toEqual([
      'CODAT_STREAM_IDLE_TIMEOUT_MS must be a whole number from 100 to 600000 (got "0")',
    ]);
    expect(configProblems({ DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS: "soon" })).toEqual([
      'DOWNLOAD_CLIENT_IDLE_TIMEOUT_MS must be a whole number from 100 to 600000 (got "soon")',
    ]);
    expect(configProblems({ HTTP_REQUEST_TIMEOUT_MS: "5000", HTTP_HEADERS_TIMEOUT_MS: "10000" })).toEqual([
      "HTTP_HEADERS_TIMEOUT_MS (10000) must not exceed HTTP_REQUEST_TIMEOUT_MS (5000)",
    ]);
  });
});
